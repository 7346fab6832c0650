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
 * copies line segments with `set`. {@linkcode DotStuffer.stuffInto} writes into the caller's
 * buffer, so a big mail is sent from one reused buffer instead of a new one per chunk.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/**
 * The most DATA bytes {@linkcode DotStuffer.stuffInto} writes for `length` input bytes:
 * every byte a bare CR (written as CRLF), or every line a dot and a line end (`.\r` becomes
 * `..\r\n`), is twice the input.
 *
 * @example Usage
 * ```ts
 * import { maxStuffedLength } from "./dot_stuff.ts";
 * console.log(maxStuffedLength(3)); // 6
 * ```
 */
export function maxStuffedLength(length: number): number {
  return length * 2;
}

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
   * Converts one chunk; returns the DATA bytes for it (possibly empty) in a new buffer.
   *
   * @example Usage
   * ```ts
   * import { DotStuffer } from "./dot_stuff.ts";
   * console.log(new DotStuffer().push(new TextEncoder().encode("x\r\n")).length); // 3
   * ```
   */
  push(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(maxStuffedLength(chunk.length));
    return out.subarray(0, this.stuffInto(chunk, out, 0));
  }

  /**
   * Converts one chunk into `out` from index `at` and returns the index after the last byte
   * written. `out` must have room for {@linkcode maxStuffedLength} of the chunk's length
   * from `at`; nothing is allocated but views, so a sender can reuse one buffer for a whole
   * mail. The chunk is not kept: its buffer may be reused as soon as this returns.
   *
   * @example Usage
   * ```ts
   * import { DotStuffer, maxStuffedLength } from "./dot_stuff.ts";
   * const stuffer = new DotStuffer();
   * const chunk = new TextEncoder().encode(".a\nb\n");
   * const out = new Uint8Array(maxStuffedLength(chunk.length));
   * const end = stuffer.stuffInto(chunk, out, 0);
   * console.log(new TextDecoder().decode(out.subarray(0, end))); // "..a\r\nb\r\n"
   * ```
   */
  stuffInto(chunk: Uint8Array, out: Uint8Array, at: number): number {
    const len = chunk.length;
    if (out.length - at < maxStuffedLength(len)) {
      throw new RangeError(`no room for ${maxStuffedLength(len)} bytes at ${at} of ${out.length}`);
    }
    let o = at;
    let i = 0;
    if (this.#pendingCR && len > 0) {
      this.#pendingCR = false;
      if (chunk[0] === LF) i = 1;
    }
    let atLineStart = this.#atLineStart;
    // Input bytes taken, less the LF of each CRLF: each line ending counts one.
    let size = len - i;
    // Cached positions keep the scan linear when one of the two bytes is rare or absent
    // (mail from a Unix program has no CR at all: one failed search per chunk).
    let nextCR = chunk.indexOf(CR, i);
    let nextLF = nextCR < 0 ? -1 : -2;
    if (nextCR < 0) {
      // LF line ends only: the common case, and the hot loop of a big mail
      while (i < len) {
        if (atLineStart && chunk[i] === DOT) out[o++] = DOT;
        const end = chunk.indexOf(LF, i);
        if (end < 0) {
          out.set(chunk.subarray(i, len), o);
          o += len - i;
          atLineStart = false;
          break;
        }
        out.set(chunk.subarray(i, end), o);
        o += end - i;
        out[o++] = CR;
        out[o++] = LF;
        atLineStart = true;
        i = end + 1;
      }
    } else {
      while (i < len) {
        if (atLineStart && chunk[i] === DOT) out[o++] = DOT;
        if (nextLF !== -1 && nextLF < i) nextLF = chunk.indexOf(LF, i);
        if (nextCR !== -1 && nextCR < i) nextCR = chunk.indexOf(CR, i);
        const end = nextLF < 0 ? nextCR : nextCR < 0 ? nextLF : Math.min(nextLF, nextCR);
        if (end < 0) {
          out.set(chunk.subarray(i, len), o);
          o += len - i;
          atLineStart = false;
          break;
        }
        out.set(chunk.subarray(i, end), o);
        o += end - i;
        out[o++] = CR;
        out[o++] = LF;
        atLineStart = true;
        if (chunk[end] === CR) {
          if (end + 1 === len) this.#pendingCR = true;
          if (end + 1 < len && chunk[end + 1] === LF) {
            size--;
            i = end + 2;
          } else {
            i = end + 1;
          }
        } else {
          i = end + 1;
        }
      }
    }
    this.#atLineStart = atLineStart;
    this.mailsize += size;
    return o;
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
