/**
 * Moving a mail's bytes without a new buffer per chunk. Deno's standard input and files are
 * byte streams: a reader that brings its own buffer (a BYOB reader) gets the bytes read
 * straight into it, as big as it likes. {@linkcode prefixedStream} keeps that possible
 * through the layers that put bytes in front of the rest of a mail (the header block, the
 * bytes read past it), and {@linkcode ChunkReader} is the end of the line: one buffer,
 * reused for every read of a whole mail.
 *
 * Any other stream still works, chunk by chunk, as it comes. A buffer that is not ours is
 * never transferred (detached): bytes from such a stream are copied.
 *
 * @module
 */

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
    return stream.getReader({ mode: "byob" });
  } catch (error) {
    // not a byte stream; a locked stream fails again below, with its own error
    if (!(error instanceof TypeError)) throw error;
    return stream.getReader();
  }
}

function isByob(reader: AnyReader): reader is ReadableStreamBYOBReader {
  return reader instanceof ReadableStreamBYOBReader;
}

/**
 * Reads a stream into one reused buffer: a byte stream by reads of up to `size` bytes into
 * that buffer, any other stream chunk by chunk as it comes (those chunks are the stream's,
 * not copied).
 *
 * @example Usage
 * ```ts
 * import { ChunkReader } from "./byte_stream.ts";
 * const file = new Blob(["hello"]).stream();
 * const reader = new ChunkReader(file, 1024);
 * let total = 0;
 * for (let chunk = await reader.read(); chunk; chunk = await reader.read()) total += chunk.length;
 * console.log(total); // 5
 * ```
 */
export class ChunkReader {
  readonly #reader: AnyReader;
  #buffer: ArrayBuffer | null;
  #done = false;

  /** Takes `stream`'s lock; `size` is the buffer of a byte stream's reads. */
  constructor(stream: ReadableStream<Uint8Array>, size: number) {
    this.#reader = openReader(stream);
    this.#buffer = isByob(this.#reader) ? new ArrayBuffer(size) : null;
  }

  /**
   * The next bytes, or null at the end (the lock is released then). The view is valid until
   * the next call: its memory is read into again.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#done) return null;
    const reader = this.#reader;
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      if (isByob(reader)) {
        // the buffer is transferred to the stream and comes back as the result's
        result = await reader.read(new Uint8Array(this.#buffer!));
        if (result.value) this.#buffer = result.value.buffer as ArrayBuffer;
      } else {
        result = await reader.read();
      }
      if (result.done) {
        this.#done = true;
        reader.releaseLock();
        return null;
      }
      if (result.value.length > 0) return result.value;
    }
  }

  /** Stops reading: cancels the stream with `reason`. */
  async cancel(reason?: unknown): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#reader.cancel(reason);
  }
}

/**
 * A byte stream of `prefix`, then everything `reader` still reads. A reader of the result
 * that brings its own buffer has the rest read straight into it when `reader` reads a byte
 * stream (no copy, no buffer of our own); bytes from any other stream are copied, as is the
 * prefix. Cancelling the result cancels `reader`'s stream; at its end the lock on it is
 * released.
 *
 * @example Usage
 * ```ts
 * import { openReader, prefixedStream } from "./byte_stream.ts";
 * const rest = openReader(ReadableStream.from([new TextEncoder().encode("world")]));
 * const stream = prefixedStream(new TextEncoder().encode("hello "), rest);
 * console.log(await new Response(stream).text()); // "hello world"
 * ```
 */
export function prefixedStream(prefix: Uint8Array, reader: AnyReader): ReadableStream<Uint8Array> {
  // bytes to give before reading more: the prefix, then what a non-byte stream's chunk left
  let pending: Uint8Array | null = prefix.length > 0 ? prefix : null;
  let ended = false;
  const fill = (request: ReadableStreamBYOBRequest, bytes: Uint8Array): void => {
    const view = request.view as Uint8Array;
    const n = Math.min(view.length, bytes.length);
    view.set(bytes.subarray(0, n));
    pending = n < bytes.length ? bytes.subarray(n) : null;
    request.respond(n);
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller: ReadableByteStreamController): Promise<void> {
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
}
