/**
 * Splitting the mail on standard input into its header block, held in memory because `-t`,
 * `--read-envelope-from` and the header rewriting need it, and the body, which stays a stream
 * and is never held whole.
 *
 * @module
 */

import { openReader, prefixedStream } from "./byte_stream.ts";

/**
 * The bound on the header block. Lines past it (a runaway producer, or 70 MB of log lines
 * without an empty line) are sent as body, so memory stays bounded whatever the input's size
 * or shape. Far above any real header block (100 000 recipients in a To header fit).
 */
export const DEFAULT_MAX_HEADER_BYTES: number = 2 * 1024 * 1024;

/** The mail split at the empty line that ends its headers. */
export interface HeaderBlock {
  /**
   * The raw header block: every byte before the empty line (the last header line keeps its
   * line ending), or up to the last whole line within the bound. All of the input when it
   * has no empty line and fits the bound; empty when it starts with an empty line.
   */
  header: Uint8Array;
  /** The empty line was found (the body, possibly empty, follows it). */
  hasSeparator: boolean;
  /**
   * The raw bytes after the header block, untouched, as a stream: after the empty line when
   * there is one, else from where the bound cut the block (no empty line is added). A byte
   * stream: when the input is one (standard input is), a reader that brings its own buffer
   * has the input read straight into that buffer.
   */
  body: ReadableStream<Uint8Array>;
}

/** Options of {@linkcode readHeaderBlock}. */
export interface ReadHeaderOptions {
  /** Header lines past this many bytes go to the body (default 2 MiB). */
  maxHeaderBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
/** The reads of a byte stream while looking for the end of the header block. */
const HEADER_READ_SIZE = 64 * 1024;

/** A byte buffer that grows by doubling, so a long header costs amortised linear time. */
class GrowableBytes {
  #buf = new Uint8Array(16 * 1024);
  length = 0;

  append(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.length + chunk.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.length));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.length);
    this.length += chunk.length;
  }

  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

/**
 * msmtp ends the headers at the first line that is empty once CRs are ignored, so `\n`,
 * `\r\n` and even `\r\r\n` all count.
 */
function onlyCRs(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== CR) return false;
  return true;
}

/**
 * Reads the header block of a mail and returns it with the rest as a stream.
 *
 * The block ends at the first empty line (LF, CRLF and mixed line endings are accepted, as
 * msmtp does; like msmtp, lines that do not look like headers do not end it). A mail without
 * an empty line is all header, up to {@linkcode DEFAULT_MAX_HEADER_BYTES} (`some-cron-job |
 * sendmail root` with megabytes of log lines): from the last whole line before that bound,
 * the rest is streamed as body, unchanged, so memory never depends on the input. The bytes
 * sent are the same as msmtp's; only `-t` and header rewriting do not see past the bound.
 *
 * @example Usage
 * ```ts
 * import { readHeaderBlock } from "./read.ts";
 * const mail = ReadableStream.from([new TextEncoder().encode("Subject: hi\n\nbody\n")]);
 * const { header, hasSeparator, body } = await readHeaderBlock(mail);
 * console.log(new TextDecoder().decode(header), hasSeparator); // "Subject: hi\n" true
 * await body.cancel();
 * ```
 */
export async function readHeaderBlock(
  stream: ReadableStream<Uint8Array>,
  options: ReadHeaderOptions = {},
): Promise<HeaderBlock> {
  const max = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const reader = openReader(stream);
  // a byte stream (standard input) is read into one scratch buffer, Deno's chunk size
  let scratch: ArrayBuffer | null = reader instanceof ReadableStreamBYOBReader
    ? new ArrayBuffer(HEADER_READ_SIZE)
    : null;
  const buf = new GrowableBytes();
  let lineStart = 0;
  const bodyFrom = (bytes: Uint8Array, at: number): HeaderBlock => ({
    header: bytes.slice(0, at),
    hasSeparator: false,
    body: prefixedStream(bytes.slice(at), reader),
  });

  while (true) {
    const bytes = buf.view();
    let lf = bytes.indexOf(LF, lineStart);
    while (lf >= 0) {
      if (onlyCRs(bytes, lineStart, lf)) {
        const header = bytes.slice(0, lineStart);
        const rest = bytes.slice(lf + 1);
        return { header, hasSeparator: true, body: prefixedStream(rest, reader) };
      }
      lineStart = lf + 1;
      lf = bytes.indexOf(LF, lineStart);
    }
    if (bytes.length > max) return bodyFrom(bytes, lineStart);
    let result: ReadableStreamReadResult<Uint8Array>;
    if (reader instanceof ReadableStreamBYOBReader) {
      result = await reader.read(new Uint8Array(scratch!));
      if (result.value) scratch = result.value.buffer as ArrayBuffer;
    } else {
      result = await reader.read();
    }
    if (result.done) {
      reader.releaseLock();
      return { header: bytes.slice(), hasSeparator: false, body: bytesStream(new Uint8Array(0)) };
    }
    if (result.value.length > 0) buf.append(result.value);
  }
}

function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller): void {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
