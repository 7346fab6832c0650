/**
 * Splitting the mail on standard input into its header block, held in memory because `-t`,
 * `--read-envelope-from` and the header rewriting need it, and the body, which stays a stream
 * and is never held whole.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";

/** The default bound on the header block: far above any real header, far below a runaway. */
export const DEFAULT_MAX_HEADER_BYTES: number = 64 * 1024 * 1024;

/** The mail split at the empty line that ends its headers. */
export interface HeaderBlock {
  /**
   * The raw header block: every byte before the empty line (the last header line keeps its
   * line ending). All of the input when it has no empty line; empty when it starts with one.
   */
  header: Uint8Array;
  /** The empty line was found (the body, possibly empty, follows it). */
  hasSeparator: boolean;
  /** The raw bytes after the empty line, untouched, as a stream. */
  body: ReadableStream<Uint8Array>;
}

/** Options of {@linkcode readHeaderBlock}. */
export interface ReadHeaderOptions {
  /** Fail when the header block grows past this many bytes (default 64 MiB). */
  maxHeaderBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;

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
 * LF, CRLF and mixed line endings are accepted; a mail without an empty line is all header.
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
  const reader = stream.getReader();
  const buf = new GrowableBytes();
  let lineStart = 0;
  let scanFrom = 0;

  while (true) {
    const bytes = buf.view();
    let lf = bytes.indexOf(LF, scanFrom);
    while (lf >= 0) {
      if (onlyCRs(bytes, lineStart, lf)) {
        const header = bytes.slice(0, lineStart);
        const rest = bytes.slice(lf + 1);
        return { header, hasSeparator: true, body: continueWith(rest, reader) };
      }
      lineStart = lf + 1;
      lf = bytes.indexOf(LF, lineStart);
    }
    scanFrom = bytes.length;
    if (bytes.length > max) {
      await reader.cancel().catch(() => {});
      throw new PostieError(
        `the mail header is larger than ${max} bytes without an empty line ending it; ` +
          `a mail must separate its header from its body with an empty line`,
        ExitCode.DATAERR,
      );
    }
    const { value, done } = await reader.read();
    if (done) {
      reader.releaseLock();
      return { header: bytes.slice(), hasSeparator: false, body: emptyStream() };
    }
    if (value.length > 0) buf.append(value);
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller): void {
      controller.close();
    },
  });
}

/** The bytes already read past the empty line, then whatever the reader still has. */
function continueWith(
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let pending: Uint8Array | null = first.length > 0 ? first : null;
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      if (pending) {
        controller.enqueue(pending);
        pending = null;
        return;
      }
      const { value, done } = await reader.read();
      if (done) {
        reader.releaseLock();
        controller.close();
      } else if (value.length > 0) {
        controller.enqueue(value);
      }
    },
    cancel(reason): Promise<void> {
      pending = null;
      return reader.cancel(reason);
    },
  });
}
