import assert from "node:assert/strict";
import {
  AddressError,
  assertEnvelopeAddress,
  parseRecipientArgument,
  parseRecipientArguments,
  scanHeaders,
} from "../../../lib/message/addresses.ts";

const enc = new TextEncoder();
const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../testdata/message/address_madness.json", import.meta.url)),
) as { cases: { input: string; recipients: string[] }[] };

const rcpts = (text: string): string[] =>
  scanHeaders(enc.encode(text), { recipients: true, fromAndFlags: true, terminated: true })
    .recipients;

Deno.test("-t finds the same recipients as msmtp 1.8.23 in every address-madness header", () => {
  for (const { input, recipients } of fixture.cases) {
    assert.deepEqual(rcpts(input), recipients, JSON.stringify(input));
  }
});

Deno.test("with a Resent- header only Resent-To/Cc/Bcc of the first Resent- block count", () => {
  const mail = "Resent-From: fwd@example.com\nResent-To: r1@example.org\n" +
    "Resent-Cc: r2@example.org\nResent-Date: Mon, 1 Jan 2024 00:00:00 +0000\n" +
    "From: orig@example.com\nTo: orig-to@example.org\nSubject: resent\n";
  assert.deepEqual(rcpts(mail), ["r1@example.org", "r2@example.org"]);
});

Deno.test("the first Resent- block ends at the first header that is not a Resent- one", () => {
  const mail = "To: plain@x.org\nResent-To: r1@x.org\nX-Other: y\nResent-To: r2@x.org\n" +
    "Resent-Bcc: r3@x.org\n";
  assert.deepEqual(rcpts(mail), ["r1@x.org"]);
});

Deno.test("a plain To: inside a Resent- block ends the block and is ignored", () => {
  assert.deepEqual(rcpts("Resent-To: r1@x.org\nTo: t@x.org\nResent-Cc: r2@x.org\n"), [
    "r1@x.org",
  ]);
});

Deno.test("the first From address is found, later From headers are ignored", () => {
  const scan = scanHeaders(enc.encode('From: "A" <a@x.org>, b@x.org\nFrom: c@x.org\n'), {
    recipients: false,
    fromAndFlags: true,
    terminated: true,
  });
  assert.equal(scan.from, "a@x.org");
});

Deno.test("a From header without an address is skipped in favour of the next one", () => {
  for (const first of ["From:\n", "From: (just comment)\n", "From: <>\n"]) {
    const scan = scanHeaders(enc.encode(first + "From: c@x.org\n"), {
      recipients: false,
      fromAndFlags: true,
      terminated: true,
    });
    assert.equal(scan.from, "c@x.org", first);
  }
});

Deno.test("Resent-From is not a From header (msmtp 1.8.23)", () => {
  const scan = scanHeaders(enc.encode("Resent-From: fwd@x.org\nFrom: orig@x.org\n"), {
    recipients: true,
    fromAndFlags: true,
    terminated: true,
  });
  assert.equal(scan.from, "orig@x.org");
});

Deno.test("an empty From header at the very end of the mail means the null sender", () => {
  const opts = { recipients: false, fromAndFlags: true };
  assert.equal(scanHeaders(enc.encode("From: "), { ...opts, terminated: false }).from, "");
  assert.equal(scanHeaders(enc.encode("From: \n"), { ...opts, terminated: true }).from, null);
  assert.equal(scanHeaders(enc.encode("Subject: x\n"), { ...opts, terminated: true }).from, null);
});

Deno.test("Date and Message-ID are detected case-insensitively only with the colon right after", () => {
  const scan = (t: string) =>
    scanHeaders(enc.encode(t), { recipients: false, fromAndFlags: true, terminated: true });
  assert.equal(scan("date: x\nmessage-id: y\n").hasDate, true);
  assert.equal(scan("date: x\nmessage-id: y\n").hasMsgid, true);
  assert.equal(scan("Date : x\nMessage-ID : y\n").hasDate, false);
  assert.equal(scan("Resent-Date: x\nResent-Message-ID: y\n").hasMsgid, false);
  assert.equal(scan("Subject: x\n Date: folded\n").hasDate, false);
});

Deno.test("an argument is parsed as an address list", () => {
  assert.deepEqual(parseRecipientArgument('"Joe X" <joe@example.org>, ann@example.org'), [
    "joe@example.org",
    "ann@example.org",
  ]);
  assert.deepEqual(parseRecipientArguments(["root", "a@x.org, b@x.org"]), [
    "root",
    "a@x.org",
    "b@x.org",
  ]);
});

Deno.test("an argument with CR or LF is refused with a usage error", () => {
  for (const word of ["a@x.org\r\nRCPT TO:<evil@x.org>", "a@x.org\nBcc: e@x.org", "a\0@x"]) {
    assert.throws(() => parseRecipientArgument(word), (e: unknown) => {
      assert.ok(e instanceof AddressError);
      assert.equal(e.exitCode, 64);
      assert.match(e.message, /control character/);
      return true;
    });
  }
});

Deno.test("a header address with a control character is refused with a data error", () => {
  assert.throws(
    () => rcpts("To: a\x01b@x.org\n"),
    (e: unknown) => e instanceof AddressError && e.exitCode === 65,
  );
});

Deno.test("NUL bytes and invalid UTF-8 in headers do not crash the scanner", () => {
  const bytes = new Uint8Array([
    ...enc.encode("X: \0\xff\nTo: "),
    0xff,
    0x41,
    ...enc.encode("@x\n"),
  ]);
  const scan = scanHeaders(bytes, { recipients: true, fromAndFlags: true, terminated: true });
  assert.equal(scan.recipients.length, 1);
  assert.ok(scan.recipients[0].endsWith("A@x"));
});

Deno.test("an -f address with a newline is refused", () => {
  assert.throws(() => assertEnvelopeAddress("a@x\r\nRSET", "envelope-from address"), AddressError);
  assertEnvelopeAddress("a@x.org", "envelope-from address");
});
