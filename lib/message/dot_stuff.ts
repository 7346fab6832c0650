/**
 * Mail bytes to SMTP DATA bytes (RFC 5321 §4.5.2): every line ending becomes CRLF, a line
 * starting with `.` gets another `.`, a missing final line ending is added. The final
 * `.\r\n` is not written here; the session does that.
 *
 * Bare CR and bare LF both end a line (a deliberate difference from msmtp, which passes a
 * bare CR through): no `\r.\r`, `\n.\n` or `\r.\r\n` can reach the server, which closes the
 * door on SMTP smuggling.
 *
 * This is the per-byte path of a send, so it works on whole chunks with `indexOf` scans and
 * copies line segments with `set`; it allocates one output buffer per chunk.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/**
 * The dot-stuffing transformer with msmtp's `mailsize` count: the bytes of the mail with
 * each line ending counted as one byte and the stuffing dots not counted.
 *
 * @example Usage
 * ```ts
 * import { DotStuffer } from "./dot_stuff.ts";
 * const stuffer = new DotStuffer();
 * const out = new TextDecoder().decode(stuffer.push(new TextEncoder().encode(".a\nb")));
 * console.log(out + new TextDecoder().decode(stuffer.end())); // "..a\r\nb\r\n"
 * console.log(stuffer.mailsize); // 5
 * ```
 */
export class DotStuffer implements Transformer<Uint8Array, Uint8Array> {
  /** Bytes of mail so far, each line ending counting 1, stuffing dots excluded. */
  mailsize = 0;
  #atLineStart = true;
  // The previous chunk ended with a CR, already written as CRLF; an LF right after it
  // belongs to the same line ending.
  #pendingCR = false;

  /**
   * Converts one chunk; returns the DATA bytes for it (possibly empty).
   *
   * @example Usage
   * ```ts
   * import { DotStuffer } from "./dot_stuff.ts";
   * console.log(new DotStuffer().push(new TextEncoder().encode("x\r\n")).length); // 3
   * ```
   */
  push(chunk: Uint8Array): Uint8Array {
    const len = chunk.length;
    // Worst case: every byte a bare CR (2 bytes out) or a dot line ".\r" (4 out of 2).
    const out = new Uint8Array(len * 2 + 2);
    let o = 0;
    let i = 0;
    if (this.#pendingCR && len > 0) {
      this.#pendingCR = false;
      if (chunk[0] === LF) i = 1;
    }
    let nextLF = -2;
    let nextCR = -2;
    while (i < len) {
      if (this.#atLineStart && chunk[i] === DOT) out[o++] = DOT;
      // Cached positions keep the scan linear when one of the two bytes is rare.
      if (nextLF !== -1 && nextLF < i) nextLF = chunk.indexOf(LF, i);
      if (nextCR !== -1 && nextCR < i) nextCR = chunk.indexOf(CR, i);
      const end = nextLF < 0 ? nextCR : nextCR < 0 ? nextLF : Math.min(nextLF, nextCR);
      if (end < 0) {
        out.set(chunk.subarray(i, len), o);
        o += len - i;
        this.mailsize += len - i;
        this.#atLineStart = false;
        break;
      }
      out.set(chunk.subarray(i, end), o);
      o += end - i;
      out[o++] = CR;
      out[o++] = LF;
      this.mailsize += end - i + 1;
      this.#atLineStart = true;
      if (chunk[end] === CR) {
        if (end + 1 === len) this.#pendingCR = true;
        i = end + 1 < len && chunk[end + 1] === LF ? end + 2 : end + 1;
      } else {
        i = end + 1;
      }
    }
    return out.subarray(0, o);
  }

  /**
   * Finishes the data: the line ending a mail without a final newline needs.
   *
   * @example Usage
   * ```ts
   * import { DotStuffer } from "./dot_stuff.ts";
   * const s = new DotStuffer();
   * s.push(new TextEncoder().encode("no newline"));
   * console.log(s.end()); // Uint8Array [13, 10]
   * ```
   */
  end(): Uint8Array {
    if (this.#atLineStart) return new Uint8Array(0);
    this.#atLineStart = true;
    this.mailsize += 1;
    return Uint8Array.of(CR, LF);
  }

  /** `Transformer.transform`: see {@linkcode DotStuffer.push}. */
  transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>): void {
    const out = this.push(chunk);
    if (out.length > 0) controller.enqueue(out);
  }

  /** `Transformer.flush`: see {@linkcode DotStuffer.end}. */
  flush(controller: TransformStreamDefaultController<Uint8Array>): void {
    const out = this.end();
    if (out.length > 0) controller.enqueue(out);
  }
}

/**
 * A dot-stuffing stream and its transformer (read `stuffer.mailsize` once the stream is done).
 *
 * @example Usage
 * ```ts
 * import { dotStuffStream } from "./dot_stuff.ts";
 * const { stream, stuffer } = dotStuffStream();
 * const data = ReadableStream.from([new TextEncoder().encode(".\n")]).pipeThrough(stream);
 * console.log(await new Response(data).text(), stuffer.mailsize); // "..\r\n" 2
 * ```
 */
export function dotStuffStream(): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  stuffer: DotStuffer;
} {
  const stuffer = new DotStuffer();
  return { stream: new TransformStream(stuffer), stuffer };
}
