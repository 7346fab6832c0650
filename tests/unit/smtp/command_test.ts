import assert from "node:assert/strict";
import {
  checkCommandLength,
  envelopeCommands,
  formatMailFrom,
  formatRcptTo,
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
