import assert from "node:assert/strict";
import {
  formatDateHeader,
  formatMessageId,
  newMsgidHex,
  rewriteHeaders,
  type RewriteOptions,
} from "../../../lib/message/rewrite.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HEX = "bc033fb91f55aa2e4ee61c40f19768c7";

function rewrite(header: string, opts: Partial<RewriteOptions> = {}): string {
  return dec.decode(rewriteHeaders(enc.encode(header), {
    envelopeFrom: "sender@example.com",
    setFromHeader: "auto",
    setDateHeader: "off",
    setMsgidHeader: "off",
    removeBcc: true,
    undisclosedRecipients: false,
    hasFrom: false,
    hasDate: false,
    hasMsgid: false,
    hostname: "host.example",
    ...opts,
  }));
}

Deno.test("From, Date and Message-ID are prepended in msmtp's order when missing", () => {
  const now = new Date(2026, 10, 23, 12, 20, 18);
  const out = rewrite("Subject: test 1\nTo: rcpt@example.org\n", {
    setDateHeader: "auto",
    setMsgidHeader: "auto",
    now,
    msgidHex: HEX,
  });
  assert.equal(
    out,
    "From: sender@example.com\r\n" +
      `Date: ${formatDateHeader(now)}\r\n` +
      `Message-ID: <${HEX}.sender@example.com>\r\n` +
      "Subject: test 1\r\nTo: rcpt@example.org\r\n",
  );
});

Deno.test("headers the mail already has are not added", () => {
  const out = rewrite("From: a@x\nDate: d\nMessage-ID: <m>\n", {
    hasFrom: true,
    hasDate: true,
    hasMsgid: true,
    setDateHeader: "auto",
    setMsgidHeader: "auto",
  });
  assert.equal(out, "From: a@x\r\nDate: d\r\nMessage-ID: <m>\r\n");
});

Deno.test("set_from_header on replaces every From header, folded lines included", () => {
  const out = rewrite('From: "Jane" <jane@x>,\n\tother@x\nFromage: 1\nfrom: x\nSubject: s\n', {
    setFromHeader: "on",
    hasFrom: true,
    fullName: "Full Name",
  });
  assert.equal(out, "From: Full Name <sender@example.com>\r\nFromage: 1\r\nSubject: s\r\n");
});

Deno.test("a prepended From in auto mode removes an address-less From header", () => {
  assert.equal(rewrite("from:\nSubject: s\n"), "From: sender@example.com\r\nSubject: s\r\n");
});

Deno.test("set_from_header off never adds a From", () => {
  assert.equal(rewrite("Subject: s\n", { setFromHeader: "off" }), "Subject: s\r\n");
});

Deno.test("the null sender gives an empty From header and MAILER-DAEMON a named one", () => {
  assert.equal(rewrite("", { envelopeFrom: "" }), "From: \r\n");
  assert.equal(rewrite("", { envelopeFrom: "MAILER-DAEMON" }), "From: MAILER-DAEMON\r\n");
});

Deno.test("Bcc is removed with its continuation lines; Bccx:, Bcc : and Resent-Bcc: stay", () => {
  const out = rewrite(
    "To: a@x\nBccx: q\nbcc: b@x,\n c@x\nResent-Bcc: r@x\nBcc : z\nBCC:w\n\tmore\n\tmore2\nX: y\n",
    { setFromHeader: "off" },
  );
  assert.equal(out, "To: a@x\r\nBccx: q\r\nResent-Bcc: r@x\r\nBcc : z\r\nX: y\r\n");
});

Deno.test("remove_bcc_headers off keeps Bcc", () => {
  assert.equal(
    rewrite("To: a\nBcc: b\n", { setFromHeader: "off", removeBcc: false }),
    "To: a\r\nBcc: b\r\n",
  );
});

Deno.test("undisclosed recipients drops To, Cc and Bcc and adds the group header", () => {
  const out = rewrite(
    'From: "Jane" <j@x>\nTo: "Bob, Jr." <b@x>,\n c@x\nCc: d@x\nBcc: e@x\nSubject: s\n',
    { setFromHeader: "on", fullName: "Full Name", undisclosedRecipients: true, removeBcc: false },
  );
  assert.equal(
    out,
    "From: Full Name <sender@example.com>\r\nTo: undisclosed-recipients:;\r\nSubject: s\r\n",
  );
});

Deno.test("Message-ID uses the host name when the envelope-from has no @", () => {
  assert.equal(formatMessageId(HEX, "a@b.example", "vm"), `<${HEX}.a@b.example>`);
  assert.equal(formatMessageId(HEX, "MAILER-DAEMON", "vm"), `<${HEX}.MAILER-DAEMON@vm>`);
  assert.equal(formatMessageId(HEX, "", "vm"), `<${HEX}.@vm>`);
});

Deno.test("Message-ID hex is 32 lowercase hex digits and unique", () => {
  const a = newMsgidHex("h");
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newMsgidHex("h"));
});

Deno.test("Date is local time with English names and a numeric offset", async () => {
  const code = `import { formatDateHeader } from ${
    JSON.stringify(new URL("../../../lib/message/rewrite.ts", import.meta.url).href)
  };
    console.log(formatDateHeader(new Date(Date.UTC(2026, 0, 5, 3, 4, 5))));`;
  const expected: Record<string, string> = {
    "UTC": "Mon, 05 Jan 2026 03:04:05 +0000",
    "Asia/Kolkata": "Mon, 05 Jan 2026 08:34:05 +0530",
    "America/St_Johns": "Sun, 04 Jan 2026 23:34:05 -0330",
  };
  for (const [tz, want] of Object.entries(expected)) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { TZ: tz, LANG: "de_DE.UTF-8" },
    }).output();
    assert.equal(dec.decode(out.stdout).trim(), want, tz);
  }
});
