import assert from "node:assert/strict";
import { dataPayload } from "../../../lib/message/data.ts";
import { buildEnvelope } from "../../../lib/message/envelope.ts";
import { readHeaderBlock } from "../../../lib/message/read.ts";
import { rewriteHeaders } from "../../../lib/message/rewrite.ts";

const enc = new TextEncoder();

async function send(mail: string): Promise<[string, number]> {
  const block = await readHeaderBlock(ReadableStream.from([enc.encode(mail)]));
  const env = buildEnvelope({
    headerBlock: block.header,
    hasSeparator: block.hasSeparator,
    cliRecipients: ["rcpt@example.org"],
    readRecipients: false,
  });
  const head = rewriteHeaders(block.header, {
    envelopeFrom: "sender@example.com",
    setFromHeader: "auto",
    setDateHeader: "auto",
    setMsgidHeader: "auto",
    removeBcc: true,
    undisclosedRecipients: false,
    hasFrom: env.hasFrom,
    hasDate: env.hasDate,
    hasMsgid: env.hasMsgid,
    hostname: "host",
    now: new Date(2026, 10, 23, 12, 20, 18),
    msgidHex: "bc033fb91f55aa2e4ee61c40f19768c7",
  });
  const { stream, stuffer } = dataPayload(head, block.hasSeparator, block.body);
  const text = await new Response(stream).text();
  return [text, stuffer.mailsize];
}

Deno.test("the first reference mail is sent as msmtp sends it, mailsize 196", async () => {
  const [text, size] = await send(
    "Subject: test 1\nTo: rcpt@example.org\n\nHello body\n.leading dot line\n",
  );
  assert.match(
    text,
    /^From: sender@example\.com\r\nDate: [A-Z][a-z]{2}, 23 Nov 2026 12:20:18 [+-]\d{4}\r\nMessage-ID: <bc033fb91f55aa2e4ee61c40f19768c7\.sender@example\.com>\r\nSubject: test 1\r\nTo: rcpt@example\.org\r\n\r\nHello body\r\n\.\.leading dot line\r\n$/,
  );
  assert.equal(size, 196);
});

Deno.test("a mail without an empty line gets no empty line added", async () => {
  const [text] = await send("Date: d\nMessage-ID: m\nFrom: a@b");
  assert.equal(text, "Date: d\r\nMessage-ID: m\r\nFrom: a@b\r\n");
});

Deno.test("a mail that starts with an empty line has only the generated headers", async () => {
  const [text] = await send("\nbody");
  assert.match(text, /^From: [^\r]+\r\nDate: [^\r]+\r\nMessage-ID: [^\r]+\r\n\r\nbody\r\n$/);
});
