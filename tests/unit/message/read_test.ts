import assert from "node:assert/strict";
import { readHeaderBlock } from "../../../lib/message/read.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => enc.encode(p)));
}

async function split(...parts: string[]): Promise<[string, boolean, string]> {
  const b = await readHeaderBlock(streamOf(...parts));
  return [dec.decode(b.header), b.hasSeparator, await new Response(b.body).text()];
}

Deno.test("the header ends at the first empty line, the body is the rest untouched", async () => {
  assert.deepEqual(await split("A: 1\nB: 2\n\nbody\r\n\n.x\n"), [
    "A: 1\nB: 2\n",
    true,
    "body\r\n\n.x\n",
  ]);
});

Deno.test("CRLF and mixed line endings end the header too", async () => {
  assert.deepEqual(await split("A: 1\r\nB: 2\n\r\nbody"), ["A: 1\r\nB: 2\n", true, "body"]);
});

Deno.test("the empty line is found across chunk boundaries", async () => {
  const mail = "A: 1\r\nB: 2\r\n\r\nbody\n";
  for (let i = 1; i < mail.length; i++) {
    assert.deepEqual(await split(mail.slice(0, i), mail.slice(i)), [
      "A: 1\r\nB: 2\r\n",
      true,
      "body\n",
    ], `split at ${i}`);
  }
});

Deno.test("a mail without an empty line is all header", async () => {
  assert.deepEqual(await split("A: 1\nB: 2"), ["A: 1\nB: 2", false, ""]);
});

Deno.test("an empty mail has an empty header and no body", async () => {
  assert.deepEqual(await split(), ["", false, ""]);
});

Deno.test("a mail that starts with an empty line has an empty header", async () => {
  assert.deepEqual(await split("\nbody\n"), ["", true, "body\n"]);
});

Deno.test("a 1 MB header line is read", async () => {
  const line = "X: " + "a".repeat(1024 * 1024) + "\n";
  const [header, sep, body] = await split(line.slice(0, 300000), line.slice(300000), "\nb");
  assert.equal(header.length, line.length);
  assert.equal(sep, true);
  assert.equal(body, "b");
});

Deno.test("a header longer than the limit fails with a clear error", async () => {
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(enc.encode("X: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"));
    },
  });
  await assert.rejects(readHeaderBlock(endless, { maxHeaderBytes: 4096 }), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /header is larger than 4096 bytes/);
    return true;
  });
});
