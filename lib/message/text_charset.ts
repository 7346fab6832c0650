/**
 * The character set a composed text part is labelled with, found from its bytes: US-ASCII,
 * UTF-8, or `unknown-8bit` (RFC 1428, in IANA's character-set registry) for 8-bit text that
 * is not UTF-8, whose character set nothing tells (Latin-1 from a legacy script, say). A label
 * goes in the part's header, before its body: a text given as a stream is therefore read to
 * its end first ({@linkcode spoolText}), kept in memory up to a bound and in a temporary file
 * past it, so memory never grows with the text's size.
 *
 * @module
 */

import { describeOsError } from "../os_error.ts";
import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { ChunkReader } from "./byte_stream.ts";

/**
 * What a text's bytes are: all ASCII, UTF-8 with at least one non-ASCII character, or 8-bit
 * bytes that are not UTF-8 (`unknown-8bit`, RFC 1428: no reliable information about the
 * character set is available).
 *
 * @example Usage
 * ```ts
 * import { charsetOfBytes, type TextCharset } from "./text_charset.ts";
 * const charset: TextCharset = charsetOfBytes(new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
 * console.log(charset); // "unknown-8bit"
 * ```
 */
export type TextCharset = "us-ascii" | "utf-8" | "unknown-8bit";

/**
 * Finds a text's {@linkcode TextCharset} chunk by chunk, holding nothing but the few bytes of
 * a character split between two chunks: a fatal streaming UTF-8 decoder sees every byte once,
 * and the text is ASCII when it decodes to as many UTF-16 code units as it has bytes (every
 * other UTF-8 character takes more bytes than code units).
 *
 * @example Usage
 * ```ts
 * import { CharsetDetector } from "./text_charset.ts";
 * const detector = new CharsetDetector();
 * detector.update(new Uint8Array([0x63, 0x61, 0x66, 0xc3])); // "caf" and half of "é"
 * detector.update(new Uint8Array([0xa9, 0x0a]));
 * console.log(detector.finish()); // "utf-8"
 * ```
 */
export class CharsetDetector {
  #decoder: TextDecoder | null = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  #bytes = 0;
  #units = 0;
  #result: TextCharset | null = null;

  /** Whether the text is known not to be UTF-8 already: later bytes change nothing. */
  get notUtf8(): boolean {
    return this.#decoder === null;
  }

  /** Takes the next bytes of the text. */
  update(chunk: Uint8Array): void {
    if (this.#decoder === null || chunk.length === 0) return;
    this.#bytes += chunk.length;
    try {
      this.#units += this.#decoder.decode(chunk, { stream: true }).length;
    } catch {
      // not UTF-8: nothing later can change that
      this.#decoder = null;
    }
  }

  /** The text's character set, once all of it was given (a character cut off is not UTF-8). */
  finish(): TextCharset {
    if (this.#result !== null) return this.#result;
    if (this.#decoder !== null) {
      try {
        this.#units += this.#decoder.decode().length;
      } catch {
        this.#decoder = null;
      }
    }
    this.#result = this.#decoder === null
      ? "unknown-8bit"
      : this.#units === this.#bytes
      ? "us-ascii"
      : "utf-8";
    return this.#result;
  }
}

/**
 * The {@linkcode TextCharset} of bytes at hand.
 *
 * @example Usage
 * ```ts
 * import { charsetOfBytes } from "./text_charset.ts";
 * console.log(charsetOfBytes(new TextEncoder().encode("plain\n"))); // "us-ascii"
 * console.log(charsetOfBytes(new TextEncoder().encode("café\n"))); // "utf-8"
 * ```
 */
export function charsetOfBytes(bytes: Uint8Array): TextCharset {
  const detector = new CharsetDetector();
  detector.update(bytes);
  return detector.finish();
}

/**
 * The {@linkcode TextCharset} of a string's UTF-8 encoding (a string is always sent as UTF-8).
 *
 * @example Usage
 * ```ts
 * import { charsetOfString } from "./text_charset.ts";
 * console.log(charsetOfString("Grüße")); // "utf-8"
 * ```
 */
export function charsetOfString(text: string): TextCharset {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? "us-ascii" : "utf-8";
}

/**
 * A text read to its end by {@linkcode spoolText}: its character set, and its bytes again.
 *
 * @example Usage
 * ```ts
 * import { spoolText, type SpooledText } from "./text_charset.ts";
 * const text: SpooledText = await spoolText(ReadableStream.from([new Uint8Array([0xe9])]));
 * console.log(text.charset, text.size); // "unknown-8bit" 1
 * await text.content.cancel();
 * ```
 */
export interface SpooledText {
  /** The text's character set. */
  charset: TextCharset;
  /** Its size in bytes. */
  size: number;
  /**
   * Its bytes, to be read once. The temporary file behind a text past the memory bound was
   * removed as soon as it was opened; it is closed when this stream ends or is cancelled.
   */
  content: ReadableStream<Uint8Array>;
}

/** The size of the reads of a text being spooled. */
const CHUNK = 64 * 1024;

/** How much of a spooled text is kept in memory before a temporary file takes it all. */
export const SPOOL_MEMORY_LIMIT = 1024 * 1024;

/**
 * Reads a text to its end, finding its character set on the way, and gives back its bytes:
 * from memory when it has at most `memoryLimit` bytes (1 MiB by default), else from a
 * temporary file (in `$TMPDIR`, else /tmp; removed at once, only its open handle keeps it). So
 * memory holds at most `memoryLimit` bytes and one chunk whatever the text's size.
 *
 * @example Usage
 * ```ts
 * import { spoolText } from "./text_charset.ts";
 * const ascii = new TextEncoder().encode("x".repeat(200_000));
 * const text = await spoolText(ReadableStream.from([ascii, new Uint8Array([0xe9])]), {
 *   memoryLimit: 64 * 1024,
 * });
 * console.log(text.charset, text.size); // "unknown-8bit" 200001
 * console.log((await new Response(text.content).arrayBuffer()).byteLength); // 200001
 * ```
 *
 * @throws {PostieError} EX_IOERR (74) when the temporary file cannot be made or written.
 */
export async function spoolText(
  stream: ReadableStream<Uint8Array>,
  options: { memoryLimit?: number } = {},
): Promise<SpooledText> {
  const limit = options.memoryLimit ?? SPOOL_MEMORY_LIMIT;
  const detector = new CharsetDetector();
  const reader = new ChunkReader(stream);
  let buffer = new ArrayBuffer(CHUNK);
  const held: Uint8Array[] = [];
  let size = 0;
  let file: Deno.FsFile | null = null;
  try {
    while (true) {
      const { bytes, buffer: back } = await reader.read(new Uint8Array(buffer));
      if (back) buffer = back;
      if (bytes === null) break;
      detector.update(bytes);
      size += bytes.length;
      if (file === null && size <= limit) {
        // the reader's buffer is read into again: keep a copy
        held.push(bytes.slice());
        continue;
      }
      if (file === null) {
        file = await openSpool();
        for (const chunk of held) await writeAll(file, chunk);
        held.length = 0;
      }
      await writeAll(file, bytes);
    }
    if (file !== null) await seekStart(file);
  } catch (error) {
    file?.close();
    await reader.cancel(error).catch(() => {});
    throw error;
  }
  const content = file === null ? ReadableStream.from(held) : file.readable;
  return { charset: detector.finish(), size, content };
}

async function openSpool(): Promise<Deno.FsFile> {
  let path: string | undefined;
  try {
    path = await Deno.makeTempFile({ prefix: "postie-text-" });
    const file = await Deno.open(path, { read: true, write: true });
    await Deno.remove(path);
    return file;
  } catch (error) {
    if (path !== undefined) await Deno.remove(path).catch(() => {});
    throw spoolError(error);
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  try {
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
  } catch (error) {
    throw spoolError(error);
  }
}

async function seekStart(file: Deno.FsFile): Promise<void> {
  try {
    await file.seek(0, Deno.SeekMode.Start);
  } catch (error) {
    throw spoolError(error);
  }
}

function spoolError(error: unknown): PostieError {
  return new PostieError(
    `cannot keep the text in a temporary file: ${describeOsError(error)}`,
    ExitCode.IOERR,
    { cause: error },
  );
}

/**
 * The {@linkcode TextCharset} of a regular file, read chunk by chunk (never held whole).
 *
 * @example Usage
 * ```ts
 * import { charsetOfFile } from "./text_charset.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
 * console.log(await charsetOfFile(path)); // "unknown-8bit"
 * await Deno.remove(path);
 * ```
 */
export async function charsetOfFile(path: string): Promise<TextCharset> {
  const detector = new CharsetDetector();
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(CHUNK);
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    detector.update(buffer.subarray(0, n));
    if (detector.notUtf8) break;
  }
  return detector.finish();
}
