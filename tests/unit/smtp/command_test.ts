import assert from "node:assert/strict";
import {
  checkCommandLength,
  encodeXtext,
  envelopeCommands,
  formatMailFrom,
  formatRcptTo,
  hasDsn,
  needsSmtputf8,
  SMTP_MAXCMDLEN,
} from "../../../lib/smtp/command.ts";
import { SmtpCommandError } from "../../../lib/smtp/errors.ts";

Deno.test("MAIL FROM uses msmtp's syntax with RET when DSN return is set", () => {
  assert.equal(formatMailFrom("a@example.org"), "MAIL FROM:<a@example.org>");
  assert.equal(
    formatMailFrom("a@example.org", { ret: "FULL" }),
    "MAIL FROM:<a@example.org> RET=FULL",
  );
});

Deno.test("the null sender goes out as <> for '<>', '' and MAILER-DAEMON in any case", () => {
  for (const from of ["<>", "", "MAILER-DAEMON", "mailer-daemon"]) {
    assert.equal(formatMailFrom(from), "MAIL FROM:<>");
  }
});

Deno.test("RCPT TO carries NOTIFY when DSN notify is set", () => {
  assert.equal(formatRcptTo("b@example.org"), "RCPT TO:<b@example.org>");
  assert.equal(
    formatRcptTo("b@example.org", { notify: "FAILURE,DELAY" }),
    "RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY",
  );
});

Deno.test("xtext (RFC 3461 §4): '!' to '~' as they are but '+' and '=', every other octet +XX", () => {
  assert.equal(encodeXtext("abc-XYZ_09.@;"), "abc-XYZ_09.@;");
  assert.equal(encodeXtext("a+b=c d"), "a+2Bb+3Dc+20d");
  assert.equal(encodeXtext("\r\n\x00\x7f"), "+0D+0A+00+7F");
  // the octets of the UTF-8 form
  assert.equal(encodeXtext("é"), "+C3+A9");
});

Deno.test("ENVID and ORCPT go out xtext-encoded; NOTIFY and ORCPT per recipient", () => {
  assert.equal(
    formatMailFrom("a@example.org", { ret: "HDRS", envid: "QQ+1=x y" }),
    "MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ+2B1+3Dx+20y",
  );
  assert.equal(
    formatRcptTo("b@example.org", { notify: "NEVER", orcpt: "rfc822;b+old@example.org" }),
    "RCPT TO:<b@example.org> NOTIFY=NEVER ORCPT=rfc822;b+2Bold@example.org",
  );
  // an ORCPT without an address type is an rfc822 address
  assert.equal(
    formatRcptTo("b@example.org", { orcpt: "b=1@example.org" }),
    "RCPT TO:<b@example.org> ORCPT=rfc822;b+3D1@example.org",
  );
  const dsn = {
    notify: "FAILURE",
    ret: "FULL" as const,
    envid: "id1",
    recipients: {
      "b@x.example": { notify: "SUCCESS,DELAY", orcpt: "rfc822;B@x.example" },
      "c@x.example": { orcpt: "utf-8;c\\x{E9}@x.example" },
    },
  };
  assert.deepEqual(
    envelopeCommands("a@x.example", ["b@x.example", "c@x.example", "d@x.example"], dsn, false),
    [
      "MAIL FROM:<a@x.example> RET=FULL ENVID=id1",
      "RCPT TO:<b@x.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;B@x.example",
      "RCPT TO:<c@x.example> NOTIFY=FAILURE ORCPT=utf-8;c\\x{E9}@x.example",
      "RCPT TO:<d@x.example> NOTIFY=FAILURE",
      "DATA",
    ],
  );
  // a recipient named like an Object property has no parameters of its own
  assert.deepEqual(envelopeCommands("a@x.example", ["constructor"], { recipients: {} }, false), [
    "MAIL FROM:<a@x.example>",
    "RCPT TO:<constructor>",
    "DATA",
  ]);
  assert.equal(hasDsn(undefined), false);
  assert.equal(hasDsn({ notify: null, ret: null, recipients: { "b@x": {} } }), false);
  assert.equal(hasDsn({ recipients: { "b@x": { orcpt: "rfc822;b@x" } } }), true);
});

Deno.test("an address with CR, LF or another control character is refused", () => {
  for (const bad of ["a@x\r\nRCPT TO:<evil@x>", "a@x\n", "a\x00@x", "a\t@x", "a\x7f@x"]) {
    assert.throws(() => formatMailFrom(bad), (e: unknown) => {
      assert.ok(e instanceof SmtpCommandError);
      assert.equal(e.exitCode, 65);
      assert.doesNotMatch(e.message, /[\r\n]/);
      return true;
    });
    assert.throws(() => formatRcptTo(bad), /invalid recipient address .*control character/);
  }
});

Deno.test("SMTPUTF8 is added only for a non-ASCII address on a server that offers it", () => {
  assert.equal(needsSmtputf8("jörg@example.de", [], true), true);
  assert.equal(needsSmtputf8("a@example.org", ["用户@例子.广告"], true), true);
  assert.equal(needsSmtputf8("a@example.org", ["b@example.org"], true), false);
  assert.equal(needsSmtputf8("jörg@example.de", [], false), false);
  assert.deepEqual(envelopeCommands("jörg@example.de", ["b@x.example"], { ret: "HDRS" }, true), [
    "MAIL FROM:<jörg@example.de> RET=HDRS SMTPUTF8",
    "RCPT TO:<b@x.example>",
    "DATA",
  ]);
  assert.equal(
    envelopeCommands("jörg@example.de", [], {}, false)[0],
    "MAIL FROM:<jörg@example.de>",
  );
});

Deno.test("a command longer than 4094 bytes fails with msmtp's message and EX_DATAERR", () => {
  const ok = "X".repeat(SMTP_MAXCMDLEN);
  assert.equal(checkCommandLength(ok, "mail"), ok);
  assert.throws(() => formatRcptTo("a".repeat(5000) + "@x.example"), (e: unknown) => {
    assert.ok(e instanceof SmtpCommandError);
    assert.equal(
      e.message,
      "Cannot send command because it is longer than 4094 characters. Increase SMTP_MAXCMDLEN.",
    );
    assert.equal(e.exitCode, 65);
    assert.equal(e.stage, "rcpt");
    return true;
  });
  // The limit counts bytes, as msmtp's C strings do.
  assert.throws(() => checkCommandLength("ü".repeat(2048), "mail"), SmtpCommandError);
});
