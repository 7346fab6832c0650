/**
 * Splitting the mail on standard input into its header block, held in memory because `-t`,
 * `--read-envelope-from` and the header rewriting need it, and the body, which stays a stream
 * and is never held whole.
 *
 * @module
 */

import { type ByteInput, openReader, PendingBytes, prefixedStream } from "./byte_stream.ts";

/**
 * The bound on the header block. Lines past it (a runaway producer, or 70 MB of log lines
 * without an empty line) are sent as body, so memory stays bounded whatever the input's size
 * or shape. Far above any real header block (100 000 recipients in a To header fit).
 */
export const DEFAULT_MAX_HEADER_BYTES: number = 2 * 1024 * 1024;

/** The mail split at the empty line that ends its headers. */
export interface HeaderBlock<Body extends ByteInput = ReadableStream<Uint8Array>> {
  /**
   * The raw header block: every byte before the empty line (the last header line keeps its
   * line ending), or up to the last whole line within the bound. All of the input when it
   * has no empty line and fits the bound; empty when it starts with an empty line.
   */
  header: Uint8Array;
  /** The empty line was found (the body, possibly empty, follows it). */
  hasSeparator: boolean;
  /**
   * The raw bytes after the header block, untouched, as the input came (a stream, or
   * pending bytes): after the empty line when there is one, else from where the bound cut
   * the block (no empty line is added). A stream is a byte stream: when the input is one
   * (standard input is), a reader that brings its own buffer has the input read straight
   * into that buffer.
   */
  body: Body;
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
 * Reads the header block of a mail and returns it with the rest as the input came: a
 * stream, or pending bytes (sendmail mode's standard input, read without any web stream).
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
 *
 * @example Pending bytes
 * ```ts
 * import { readHeaderBlock } from "./read.ts";
 * import { PendingBytes } from "./byte_stream.ts";
 * const source = { read: () => Promise.resolve(null) };
 * const mail = new PendingBytes(source, new TextEncoder().encode("Subject: hi\n\nbody\n"));
 * const { header, body } = await readHeaderBlock(mail);
 * const rest = new Uint8Array(16);
 * console.log(new TextDecoder().decode(header), await body.read(rest)); // "Subject: hi\n" 5
 * ```
 */
export function readHeaderBlock(
  stream: ReadableStream<Uint8Array>,
  options?: ReadHeaderOptions,
): Promise<HeaderBlock>;
/** Reads the header block of pending bytes; the body is the pending bytes after it. */
export function readHeaderBlock(
  input: PendingBytes,
  options?: ReadHeaderOptions,
): Promise<HeaderBlock<PendingBytes>>;
/** Reads the header block of a stream or of pending bytes; the body comes as the input. */
export function readHeaderBlock(
  input: ByteInput,
  options?: ReadHeaderOptions,
): Promise<HeaderBlock<ByteInput>>;
export async function readHeaderBlock(
  input: ByteInput,
  options: ReadHeaderOptions = {},
): Promise<HeaderBlock<ByteInput>> {
  const max = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (input instanceof PendingBytes) {
    const scratch = new Uint8Array(HEADER_READ_SIZE);
    return await splitHeader<PendingBytes>(max, {
      next: async () => {
        const n = await input.read(scratch);
        return n === null ? null : scratch.subarray(0, n);
      },
      rest: (bytes) => input.after(bytes),
      end: () => new PendingBytes(NO_BYTES),
    });
  }
  const reader = openReader(input);
  // a byte stream (standard input) is read into one scratch buffer, Deno's chunk size
  const byob = reader instanceof ReadableStreamBYOBReader;
  let scratch: ArrayBuffer | null = byob ? new ArrayBuffer(HEADER_READ_SIZE) : null;
  return await splitHeader<ReadableStream<Uint8Array>>(max, {
    next: async () => {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        if (byob) {
          result = await reader.read(new Uint8Array(scratch!));
          if (result.value) scratch = result.value.buffer as ArrayBuffer;
        } else {
          result = await reader.read();
        }
        if (result.done) {
          reader.releaseLock();
          return null;
        }
        if (result.value.length > 0) return result.value;
      }
    },
    rest: (bytes) => prefixedStream(bytes, reader),
    end: () => bytesStream(new Uint8Array(0)),
  });
}

/** A source at its end. */
const NO_BYTES = { read: () => Promise.resolve(null) };

/** How {@linkcode splitHeader} reads its input and makes the body. */
interface HeaderInput<Body> {
  /** The next bytes (valid until the next call), or null at the end. */
  next(): Promise<Uint8Array | null>;
  /** The body: `bytes` (read past the header, the caller's own), then the unread input. */
  rest(bytes: Uint8Array): Body;
  /** The body of an input that ended within its header. */
  end(): Body;
}

async function splitHeader<Body extends ByteInput>(
  max: number,
  input: HeaderInput<Body>,
): Promise<HeaderBlock<Body>> {
  const buf = new GrowableBytes();
  let lineStart = 0;
  while (true) {
    const bytes = buf.view();
    let lf = bytes.indexOf(LF, lineStart);
    while (lf >= 0) {
      if (onlyCRs(bytes, lineStart, lf)) {
        const header = bytes.slice(0, lineStart);
        return { header, hasSeparator: true, body: input.rest(bytes.slice(lf + 1)) };
      }
      lineStart = lf + 1;
      lf = bytes.indexOf(LF, lineStart);
    }
    if (bytes.length > max) {
      return {
        header: bytes.slice(0, lineStart),
        hasSeparator: false,
        body: input.rest(bytes.slice(lineStart)),
      };
    }
    const chunk = await input.next();
    if (chunk === null) return { header: bytes.slice(), hasSeparator: false, body: input.end() };
    buf.append(chunk);
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
