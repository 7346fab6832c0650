import assert from "node:assert/strict";
import { readHeaderBlock } from "../../../lib/message/read.ts";
import { type ByteSource, PendingBytes } from "../../../lib/byte_source.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => enc.encode(p)));
}

/** A source giving each part in one read (or several, when the reader's buffer is smaller). */
function sourceOf(...parts: string[]): ByteSource {
  const left = parts.map((p) => enc.encode(p));
  return {
    read(into: Uint8Array): Promise<number | null> {
      const part = left.shift();
      if (part === undefined) return Promise.resolve(null);
      const n = Math.min(into.length, part.length);
      into.set(part.subarray(0, n));
      if (n < part.length) left.unshift(part.subarray(n));
      return Promise.resolve(n);
    },
  };
}

/** Everything pending bytes still give, read 7 bytes at a time. */
async function textOf(bytes: PendingBytes): Promise<string> {
  const into = new Uint8Array(7);
  let text = "";
  for (let n = await bytes.read(into); n !== null; n = await bytes.read(into)) {
    text += dec.decode(into.subarray(0, n), { stream: true });
  }
  return text + dec.decode();
}

/**
 * The header, the separator and the body of a mail given in `parts`: read from a stream, and
 * read from pending bytes (sendmail mode's standard input), which must split it the same way.
 */
async function split(...parts: string[]): Promise<[string, boolean, string]> {
  const b = await readHeaderBlock(streamOf(...parts));
  const fromStream: [string, boolean, string] = [
    dec.decode(b.header),
    b.hasSeparator,
    await new Response(b.body).text(),
  ];
  const p = await readHeaderBlock(new PendingBytes(sourceOf(...parts)));
  const fromPending = [dec.decode(p.header), p.hasSeparator, await textOf(p.body)];
  assert.deepEqual(fromPending, fromStream, "pending bytes split as the stream");
  return fromStream;
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

Deno.test("a 512 KiB header line is read", async () => {
  const line = "X: " + "a".repeat(512 * 1024) + "\n";
  const [header, sep, body] = await split(line.slice(0, 300000), line.slice(300000), "\nb");
  assert.equal(header.length, line.length);
  assert.equal(sep, true);
  assert.equal(body, "b");
});

Deno.test("lines that do not look like headers do not end the block, as in msmtp", async () => {
  assert.deepEqual(await split("Subject: x\n2026-12-02 07:00 job started\nTo: y\n\nbody"), [
    "Subject: x\n2026-12-02 07:00 job started\nTo: y\n",
    true,
    "body",
  ]);
});

Deno.test("70 MB of log lines without an empty line: the block stops at the bound, the rest is body", async () => {
  const line = "2026-12-02 07:00:00 backup[4242]: copied /var/lib/thing, 97% done\n";
  const count = Math.ceil(70e6 / line.length);
  const block = await readHeaderBlock(repeated(line, count), { maxHeaderBytes: 64 * 1024 });
  assert.equal(block.hasSeparator, false);
  assert.ok(block.header.length <= 2 * 64 * 1024 + line.length, `${block.header.length}`);
  assert.equal(block.header.length % line.length, 0);
  assert.equal(block.header.length + await byteCount(block.body), count * line.length);
});

/** An endless-looking stream of `count` copies of `line`, in chunks of 64 KiB. */
function repeated(line: string, count: number): ReadableStream<Uint8Array> {
  const perChunk = Math.max(1, Math.floor(65536 / line.length));
  const chunk = enc.encode(line.repeat(perChunk));
  let left = count;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, perChunk);
      c.enqueue(n === perChunk ? chunk : enc.encode(line.repeat(n)));
      left -= n;
    },
  });
}

async function byteCount(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += chunk.length;
  return n;
}

Deno.test("70 MB of header-like lines without an empty line: the block stops at the bound, the rest is body", async () => {
  const line = "ERROR: disk almost full on /var, 97% used, please look\n";
  const count = Math.ceil(70e6 / line.length);
  const block = await readHeaderBlock(repeated(line, count), { maxHeaderBytes: 64 * 1024 });
  assert.equal(block.hasSeparator, false);
  // the block holds whole lines, at most the bound plus one read
  assert.ok(block.header.length <= 2 * 64 * 1024 + line.length, `${block.header.length}`);
  assert.equal(block.header.length % line.length, 0);
  assert.equal(block.header.length + await byteCount(block.body), count * line.length);
});

Deno.test("one endless header line is cut at the bound and sent as body", async () => {
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(enc.encode("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    },
  });
  const block = await readHeaderBlock(endless, { maxHeaderBytes: 4096 });
  assert.equal(block.header.length, 0);
  assert.equal(block.hasSeparator, false);
  const reader = block.body.getReader();
  assert.equal(dec.decode((await reader.read()).value).slice(0, 3), "aaa");
  await reader.cancel();
});

Deno.test("pending bytes with a prefix: the prefix, then the source, split at the empty line", async () => {
  for (let cut = 0; cut <= 30; cut++) {
    const mail = "From: a@example.org\nSubject: x\n\nbody line\n";
    const pending = new PendingBytes(sourceOf(mail.slice(cut)), enc.encode(mail.slice(0, cut)));
    const block = await readHeaderBlock(pending);
    assert.equal(dec.decode(block.header), "From: a@example.org\nSubject: x\n", `cut at ${cut}`);
    assert.equal(await textOf(block.body), "body line\n", `cut at ${cut}`);
  }
});

Deno.test("pending bytes: 5 MB without an empty line stop at the bound, the rest is the body", async () => {
  const line = "2026-12-02 07:00:00 backup[4242]: copied /var/lib/thing, 97% done\n";
  const count = Math.ceil(5e6 / line.length);
  const parts = Array.from(
    { length: Math.ceil(count / 500) },
    (_, i) => line.repeat(Math.min(500, count - i * 500)),
  );
  const block = await readHeaderBlock(new PendingBytes(sourceOf(...parts)), {
    maxHeaderBytes: 64 * 1024,
  });
  assert.equal(block.hasSeparator, false);
  assert.ok(block.header.length <= 2 * 64 * 1024 + line.length, `${block.header.length}`);
  assert.equal(block.header.length % line.length, 0);
  const into = new Uint8Array(65536);
  let rest = 0;
  for (let n = await block.body.read(into); n !== null; n = await block.body.read(into)) rest += n;
  assert.equal(block.header.length + rest, count * line.length);
});
