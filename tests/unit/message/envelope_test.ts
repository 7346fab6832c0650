import assert from "node:assert/strict";
import { buildEnvelope } from "../../../lib/message/envelope.ts";

const enc = new TextEncoder();
const MAIL_T = 'From: "Jane Doe" <jane@wild.example>\n' +
  'To: "Bob, Jr." <bob@example.org>, carol@example.org (Carol)\n' +
  "Cc: dave@example.org,\n\teve@example.org\nBcc: secret@example.org\nSubject: -t test\n";

Deno.test("-t adds header recipients after the command-line ones", () => {
  const env = buildEnvelope({
    headerBlock: enc.encode(MAIL_T),
    hasSeparator: true,
    cliRecipients: ["extra@example.org"],
    readRecipients: true,
  });
  assert.deepEqual(env.recipients, [
    "extra@example.org",
    "bob@example.org",
    "carol@example.org",
    "dave@example.org",
    "eve@example.org",
    "secret@example.org",
  ]);
  assert.equal(env.fromHeaderAddress, "jane@wild.example");
  assert.deepEqual([env.hasFrom, env.hasDate, env.hasMsgid], [true, false, false]);
});

Deno.test("without -t only the command line gives recipients", () => {
  const env = buildEnvelope({
    headerBlock: enc.encode(MAIL_T),
    hasSeparator: true,
    cliRecipients: ['"Joe X" <joe@example.org>, ann@example.org'],
    readRecipients: false,
  });
  assert.deepEqual(env.recipients, ["joe@example.org", "ann@example.org"]);
});

Deno.test("a mail without From has no From address", () => {
  const env = buildEnvelope({
    headerBlock: enc.encode("Subject: x\n"),
    hasSeparator: true,
    cliRecipients: [],
    readRecipients: true,
  });
  assert.equal(env.fromHeaderAddress, null);
  assert.equal(env.hasFrom, false);
  assert.deepEqual(env.recipients, []);
});
