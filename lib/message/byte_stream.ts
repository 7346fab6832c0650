/**
 * Moving a mail's bytes without a new buffer per chunk. Deno's standard input and files are
 * byte streams: a reader that brings its own buffer (a BYOB reader) gets the bytes read
 * straight into it, as big as it likes. {@linkcode prefixedStream} keeps that possible
 * through the layers that put bytes in front of the rest of a mail (the header block, the
 * bytes read past it), and {@linkcode ChunkReader} is the end of the line: the sender's own
 * buffers, reused for every read of a whole mail.
 *
 * Any other stream still works, chunk by chunk, as it comes. A buffer that is not ours is
 * never transferred (detached): bytes from such a stream are copied.
 *
 * @module
 */

import {
  type ByteInput,
  type ByteSource,
  PendingBytes,
  type SourceEntry,
  sourceEntry,
} from "../byte_source.ts";

export {
  type ByteInput,
  type ByteSource,
  byteStream,
  PendingBytes,
  sourceStream,
} from "../byte_source.ts";

/** The chunk size of a byte stream read by a reader that brings no buffer (Deno's own). */
const AUTO_CHUNK = 64 * 1024;

type AnyReader = ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;

/**
 * A reader for `stream`: one that reads into the caller's buffers when the stream is a byte
 * stream, else the default one.
 *
 * @example Usage
 * ```ts
 * import { openReader } from "./byte_stream.ts";
 * const reader = openReader(ReadableStream.from([new Uint8Array([1])]));
 * console.log(reader instanceof ReadableStreamDefaultReader); // true
 * ```
 */
export function openReader(stream: ReadableStream<Uint8Array>): AnyReader {
  try {
    const reader = stream.getReader({ mode: "byob" });
    const source = sourceEntry(stream);
    if (source) readerSources.set(reader, source);
    return reader;
  } catch (error) {
    // not a byte stream; a locked stream fails again below, with its own error
    if (!(error instanceof TypeError)) throw error;
    return stream.getReader();
  }
}

function isByob(reader: AnyReader): reader is ReadableStreamBYOBReader {
  return reader instanceof ReadableStreamBYOBReader;
}

/** The BYOB readers of source streams ({@linkcode openReader} notes them). */
const readerSources = new WeakMap<AnyReader, SourceEntry>();

/** The source a reader's stream reads, when nothing is read through the stream now. */
function sourceOf(reader: AnyReader): ByteSource | null {
  const entry = readerSources.get(reader);
  return entry && !entry.reading() ? entry.source : null;
}

/** What one {@linkcode ChunkReader.read} gave. */
export interface ChunkRead {
  /** The bytes read; null at the end of the stream. */
  bytes: Uint8Array | null;
  /**
   * The memory of the buffer read into, handed back: a byte stream takes the buffer for the
   * read (its `ArrayBuffer` is detached) and gives the same memory back as a new
   * `ArrayBuffer`, which replaces the old one for every view of it (the same `ArrayBuffer`
   * when a `sourceStream`'s source was read straight). Null when the buffer was
   * not used: another stream's `bytes` are its own chunk.
   */
  buffer: ArrayBuffer | null;
}

/**
 * Reads a stream into the caller's buffers: a byte stream by reads straight into them, any
 * other stream chunk by chunk as it comes (those chunks are the stream's, not copied).
 *
 * @example Usage
 * ```ts
 * import { ChunkReader } from "./byte_stream.ts";
 * const reader = new ChunkReader(new Blob(["hello"]).stream());
 * let buffer = new ArrayBuffer(1024);
 * let total = 0;
 * while (true) {
 *   const { bytes, buffer: back } = await reader.read(new Uint8Array(buffer));
 *   if (back) buffer = back;
 *   if (bytes === null) break;
 *   total += bytes.length;
 * }
 * console.log(total); // 5
 * ```
 */
export class ChunkReader {
  /** The stream's reader; none for pending bytes. */
  readonly #reader: AnyReader | null;
  /** The source under the reader's stream, read straight (see `sourceStream`). */
  readonly #source: ByteSource | null;
  /** A prefix still to give, of a {@linkcode prefixedStream} read from under it. */
  #prefix: Uint8Array | null = null;
  #done = false;

  /**
   * Takes `stream`'s lock (released at its end). A {@linkcode prefixedStream} nobody has
   * read yet is not read through: its prefix is given, then its reader is read straight
   * (the stream stays locked), so a read costs one stream's work, not one per layer.
   */
  constructor(stream: ByteInput) {
    if (stream instanceof PendingBytes) {
      // no stream at all: its prefix is copied into the first buffers, then the source read
      this.#reader = null;
      this.#source = stream;
      return;
    }
    const taken = takeOver(stream);
    if (taken) {
      this.#prefix = taken.prefix;
      this.#reader = taken.reader;
    } else {
      this.#reader = openReader(stream);
    }
    this.#source = sourceOf(this.#reader);
  }

  /** Whether reads go into the caller's buffer (the stream is a byte stream). */
  get intoBuffer(): boolean {
    return this.#reader === null || isByob(this.#reader);
  }

  /**
   * Reads up to `into.length` bytes into `into` (a byte stream), or the next chunk (any
   * other stream; empty chunks are skipped). See {@linkcode ChunkRead} for the buffer.
   */
  async read(into: Uint8Array): Promise<ChunkRead> {
    if (this.#done) return { bytes: null, buffer: null };
    if (this.#prefix) {
      const bytes = this.#prefix;
      this.#prefix = null;
      return { bytes, buffer: null };
    }
    const reader = this.#reader;
    const source = this.#source;
    while (source) {
      const n = await source.read(into);
      if (n === null) {
        this.#done = true;
        reader?.releaseLock();
        return { bytes: null, buffer: null };
      }
      if (n > 0) return { bytes: into.subarray(0, n), buffer: into.buffer as ArrayBuffer };
    }
    // a reader without a source to read straight: a stream's
    while (reader) {
      let result: ReadableStreamReadResult<Uint8Array>;
      let buffer: ArrayBuffer | null = null;
      if (isByob(reader)) {
        result = await reader.read(into);
        // undefined only for a cancelled stream: the buffer is gone with it
        if (result.value) buffer = result.value.buffer as ArrayBuffer;
      } else {
        result = await reader.read();
      }
      if (result.done) {
        this.#done = true;
        reader.releaseLock();
        return { bytes: null, buffer };
      }
      if (result.value.length > 0) return { bytes: result.value, buffer };
      if (buffer) into = new Uint8Array(buffer, into.byteOffset, into.length);
    }
    throw new Error("unreachable: pending bytes are read from their source");
  }

  /** Stops reading: cancels the stream with `reason`. */
  async cancel(reason?: unknown): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#prefix = null;
    // pending bytes leave their source open, as a source stream's cancel does
    await this.#reader?.cancel(reason);
  }
}

/** What a {@linkcode prefixedStream} nobody has read yet hands over. */
interface Unread {
  /** The bytes to give first, or null. */
  prefix: Uint8Array | null;
  /** Where the rest comes from. */
  reader: AnyReader;
}

/** Every prefixed stream, with the function that takes it over while it is unread. */
const unread = new WeakMap<ReadableStream<Uint8Array>, () => Unread | null>();

/**
 * Takes over a {@linkcode prefixedStream} nobody has read or locked yet: it is locked for
 * good and its prefix and reader are returned, for a reader that reads them itself. Null
 * for any other stream.
 */
function takeOver(stream: ReadableStream<Uint8Array>): Unread | null {
  return unread.get(stream)?.() ?? null;
}

/**
 * A byte stream of `prefix`, then everything `rest` still reads (a reader of it, or a
 * stream). A reader of the result that brings its own buffer has the rest read straight
 * into it when `rest` reads a byte stream (no copy, no buffer of our own); bytes from any
 * other stream are copied, as is the prefix. Cancelling the result cancels `rest`; at its
 * end the lock on it is released.
 *
 * Layers do not pile up: given another prefixed stream that nobody has read yet, the result
 * takes its prefix after `prefix` and its reader, and locks it for good. A
 * {@linkcode ChunkReader} does the same, so a mail's header, the bytes read past it and the
 * rest of standard input cost one stream's work per read, not three.
 *
 * @example Usage
 * ```ts
 * import { openReader, prefixedStream } from "./byte_stream.ts";
 * const rest = openReader(ReadableStream.from([new TextEncoder().encode("world")]));
 * const stream = prefixedStream(new TextEncoder().encode("hello "), rest);
 * console.log(await new Response(stream).text()); // "hello world"
 * ```
 */
export function prefixedStream(
  prefix: Uint8Array,
  rest: AnyReader | ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  let reader: AnyReader;
  if (rest instanceof ReadableStream) {
    const taken = takeOver(rest);
    if (taken) {
      reader = taken.reader;
      if (taken.prefix) prefix = joinBytes(prefix, taken.prefix);
    } else {
      reader = openReader(rest);
    }
  } else {
    reader = rest;
  }
  // bytes to give before reading more: the prefix, then what a non-byte stream's chunk left
  let pending: Uint8Array | null = prefix.length > 0 ? prefix : null;
  let started = false;
  let ended = false;
  const fill = (request: ReadableStreamBYOBRequest, bytes: Uint8Array): void => {
    const view = request.view as Uint8Array;
    const n = Math.min(view.length, bytes.length);
    view.set(bytes.subarray(0, n));
    pending = n < bytes.length ? bytes.subarray(n) : null;
    request.respond(n);
  };
  const stream = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller: ReadableByteStreamController): Promise<void> {
      started = true;
      // with autoAllocateChunkSize, every pull has a request to fill
      const request = controller.byobRequest!;
      if (pending) return fill(request, pending);
      if (isByob(reader)) {
        // the request's buffer goes down to the inner stream and comes back filled
        const { value, done } = await reader.read(request.view as Uint8Array);
        if (done) {
          ended = true;
          reader.releaseLock();
          controller.close();
          if (value) request.respondWithNewView(value);
          else request.respond(0);
          return;
        }
        request.respondWithNewView(value);
        return;
      }
      while (true) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          reader.releaseLock();
          controller.close();
          request.respond(0);
          return;
        }
        if (value.length > 0) return fill(request, value);
      }
    },
    cancel(reason: unknown): Promise<void> {
      pending = null;
      return ended ? Promise.resolve() : reader.cancel(reason);
    },
  });
  unread.set(stream, () => {
    if (started || stream.locked) return null;
    started = true;
    // locked for good: its bytes are read from under it now
    stream.getReader();
    const taken = { prefix: pending, reader };
    pending = null;
    return taken;
  });
  return stream;
}

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}
