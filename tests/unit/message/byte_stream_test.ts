import assert from "node:assert/strict";
import {
  ChunkReader,
  openReader,
  prefixedStream,
  sourceStream,
} from "../../../lib/message/byte_stream.ts";
import { joinMail } from "../../../lib/message/data.ts";
import { readHeaderBlock } from "../../../lib/message/read.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A source like Deno.stdin over fixed bytes, giving at most `step` bytes a read; counts reads. */
function fakeSource(bytes: Uint8Array, step = Infinity) {
  let at = 0;
  const source = {
    reads: 0,
    read(into: Uint8Array): Promise<number | null> {
      source.reads++;
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - at, step);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
  return source;
}

/** Reads a ChunkReader to its end into `size`-byte buffers, reusing the memory handed back. */
async function readAll(
  reader: ChunkReader,
  size: number,
): Promise<{ text: string; reads: number }> {
  let memory = new ArrayBuffer(size);
  let text = "";
  let reads = 0;
  while (true) {
    const { bytes, buffer } = await reader.read(new Uint8Array(memory));
    if (buffer) memory = buffer;
    if (bytes === null) break;
    reads++;
    text += dec.decode(bytes);
  }
  return { text, reads };
}

Deno.test("a prefixed stream gives its prefix, then the rest, to every kind of reader", async () => {
  const rest = () => ReadableStream.from([enc.encode("wor"), enc.encode(""), enc.encode("ld")]);
  assert.equal(
    await new Response(prefixedStream(enc.encode("hello "), openReader(rest()))).text(),
    "hello world",
  );
  // a BYOB reader with a buffer smaller than the prefix and the chunks
  const reader = prefixedStream(enc.encode("hello "), rest()).getReader({ mode: "byob" });
  let text = "";
  let memory = new ArrayBuffer(2);
  while (true) {
    const { value, done } = await reader.read(new Uint8Array(memory));
    if (value) memory = value.buffer as ArrayBuffer;
    if (done) break;
    text += dec.decode(value);
  }
  assert.equal(text, "hello world");
});

Deno.test("a chunk of another stream is copied, never taken from its owner", async () => {
  const chunk = enc.encode("body\n");
  const stream = prefixedStream(enc.encode("head\n"), ReadableStream.from([chunk]));
  assert.equal(await new Response(stream).text(), "head\nbody\n");
  // still the caller's: not detached by a transfer
  assert.equal(dec.decode(chunk), "body\n");
});

Deno.test("prefixed streams do not pile up: the layers fold into one", async () => {
  const source = fakeSource(enc.encode("c".repeat(10_000)));
  const inner = prefixedStream(enc.encode("b"), openReader(sourceStream(source)));
  const outer = prefixedStream(enc.encode("a"), inner);
  // the inner stream was taken over: it is locked for good
  assert.equal(inner.locked, true);
  const { text, reads } = await readAll(new ChunkReader(outer), 4096);
  assert.equal(text, "ab" + "c".repeat(10_000));
  // one prefix, then the source read straight in buffer-sized reads
  assert.equal(reads, 1 + Math.ceil(10_000 / 4096));
});

Deno.test("a stream somebody started reading is read through, not taken over", async () => {
  const inner = prefixedStream(enc.encode("ab"), ReadableStream.from([enc.encode("cd")]));
  const first = inner.getReader();
  const { value } = await first.read();
  assert.equal(dec.decode(value), "ab");
  first.releaseLock();
  const outer = prefixedStream(enc.encode(">"), inner);
  assert.equal(await new Response(outer).text(), ">cd");
});

Deno.test("ChunkReader reads a source stream straight into the caller's buffer", async () => {
  const source = fakeSource(enc.encode("x".repeat(5000)), 1000);
  const reader = new ChunkReader(sourceStream(source));
  assert.equal(reader.intoBuffer, true);
  const memory = new ArrayBuffer(4096);
  const { bytes, buffer } = await reader.read(new Uint8Array(memory, 100, 2000));
  // the same memory, not detached, the bytes where the caller asked
  assert.equal(buffer, memory);
  assert.equal(bytes!.byteOffset, 100);
  assert.equal(bytes!.length, 1000);
  assert.equal(memory.byteLength, 4096);
  const { text } = await readAll(reader, 4096);
  assert.equal(text.length, 4000);
});

Deno.test("ChunkReader on a byte stream gets the memory back from each read", async () => {
  const reader = new ChunkReader(new Blob(["hello ", "world"]).stream());
  assert.equal(reader.intoBuffer, true);
  const memory = new ArrayBuffer(64);
  const { bytes, buffer } = await reader.read(new Uint8Array(memory));
  assert.ok(buffer !== null && buffer !== memory && buffer.byteLength === 64);
  assert.equal(memory.byteLength, 0, "transferred");
  assert.equal(bytes!.buffer, buffer);
  assert.equal((await readAll(reader, 64)).text + dec.decode(bytes!), "world" + "hello ");
});

Deno.test("ChunkReader gives another stream's chunks as they come, empty ones skipped", async () => {
  const stream = ReadableStream.from([enc.encode("a"), enc.encode(""), enc.encode("bc")]);
  const reader = new ChunkReader(stream);
  assert.equal(reader.intoBuffer, false);
  const first = await reader.read(new Uint8Array(0));
  assert.equal(first.buffer, null);
  assert.equal(dec.decode(first.bytes!), "a");
  assert.equal(dec.decode((await reader.read(new Uint8Array(0))).bytes!), "bc");
  assert.equal((await reader.read(new Uint8Array(0))).bytes, null);
  assert.equal(stream.locked, false, "released at the end");
});

Deno.test("standard input's path: header block, joined mail, body read straight", async () => {
  const body = "line\n".repeat(30_000);
  const source = fakeSource(enc.encode("Subject: x\nTo: y\n\n" + body), 65536);
  const block = await readHeaderBlock(sourceStream(source));
  assert.equal(dec.decode(block.header), "Subject: x\nTo: y\n");
  const mail = joinMail(enc.encode("Subject: x\r\n"), block.hasSeparator, block.body);
  const readsBefore = source.reads;
  const { text, reads } = await readAll(new ChunkReader(mail), 1 << 20);
  assert.equal(text, "Subject: x\r\n\r\n" + body);
  // the header, the separator and what the header's read took past it come as one prefix;
  // then reads of the source itself, as big as it gives (64 KiB here), and its end
  assert.equal(reads, 1 + (source.reads - readsBefore - 1));
});

Deno.test("cancelling a ChunkReader cancels the stream under all its layers", async () => {
  let cancelled: unknown = null;
  const inner = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(enc.encode("data"));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const reader = new ChunkReader(
    prefixedStream(enc.encode("p"), prefixedStream(enc.encode("q"), inner)),
  );
  assert.equal(dec.decode((await reader.read(new Uint8Array(8))).bytes!), "pq");
  await reader.cancel("stop");
  assert.equal(cancelled, "stop");
  assert.equal((await reader.read(new Uint8Array(8))).bytes, null);
});

Deno.test("a source stream read by a reader that brings no buffer still works", async () => {
  const source = fakeSource(enc.encode("abc".repeat(50_000)), 7000);
  assert.equal(await new Response(sourceStream(source)).text(), "abc".repeat(50_000));
});
