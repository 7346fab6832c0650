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
 * moves line segments with `copyWithin`. {@linkcode DotStuffer.stuffInto} writes into the
 * caller's buffer, so a big mail is sent from reused buffers instead of a new one per chunk.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** Where {@linkcode lfLines} stopped: the start of the line after the last it did. */
let lfLinesNext = 0;

/**
 * Stuffs the lines of `input` (a view of `buf` from `from`) that start from `i` and before
 * `stop` (each ends with an LF; the input has no CR) into `buf` from `o`; a dot at `i` is
 * already doubled, a dot at the start of the line after is not. Returns the index after the
 * output and leaves the next line's start in {@linkcode lfLinesNext}. Kept apart and small:
 * every path of it runs within a few lines, so the optimizing compiler that takes it over in
 * the middle of the first chunk has seen them all and does not have to start again.
 */
function lfLines(
  input: Uint8Array,
  buf: Uint8Array,
  from: number,
  i: number,
  stop: number,
  o: number,
): number {
  while (true) {
    const lf = input.indexOf(LF, i);
    buf.copyWithin(o, from + i, from + lf);
    o += lf - i;
    buf[o++] = CR;
    buf[o++] = LF;
    i = lf + 1;
    if (i >= stop) {
      lfLinesNext = i;
      return o;
    }
    if (input[i] === DOT) buf[o++] = DOT;
  }
}

/**
 * How far behind the output's start, at least, input in the output's room is stuffed in
 * place: closer, it is moved out of the way first.
 */
const MIN_GAP = 8;

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
   * from `at`. Nothing is allocated but views, so a sender can reuse one buffer for a whole
   * mail, and the chunk is not kept.
   *
   * The chunk may lie in `out` itself: at or after the end of the output (`at` plus twice
   * its length), or before `at`, is where it is read in place. Anywhere else it is first
   * copied to the second half of the room, which the output then overwrites from the front
   * without ever reaching a byte not yet read. So a reader can read straight into the room
   * (`out.subarray(at + n, at + 2 * n)` for up to `n` bytes) and spare that copy.
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
    const n = chunk.length;
    if (!(at >= 0 && out.length - at >= maxStuffedLength(n))) {
      throw new RangeError(`no room for ${maxStuffedLength(n)} bytes at ${at} of ${out.length}`);
    }
    if (chunk.buffer === out.buffer) {
      // where the chunk starts, counted in out's indices
      const from = chunk.byteOffset - out.byteOffset;
      if (from >= 0 && from + n <= out.length) {
        // after the output's room, or far enough behind its start: nothing to watch
        if (at >= from + n || from - at >= n) return this.#stuff(out, from, n, at, true);
        if (from - at >= MIN_GAP) return this.#stuff(out, from, n, at, false);
      }
    }
    // `set` copies through a temporary when the two overlap in one buffer
    out.set(chunk, at + n);
    return this.#stuff(out, at + n, n, at, true);
  }

  /**
   * Stuffs `buf[from, from + n)` into `buf` from `at`, the input after the output's room
   * or in it: at `at + n` or later, the output, at most twice the input taken (no byte
   * gives more than two), never reaches a byte not yet read (`safe`); closer, it could, and
   * the distance is watched (see {@linkcode lfLines}) until it runs short, when the input
   * left is moved to `at + n`. Segments move with `copyWithin` (a `memmove`, right when the
   * two overlap): no view per line, no garbage.
   */
  #stuff(buf: Uint8Array, from: number, n: number, at: number, safe: boolean): number {
    // the input, for searching and reading; writes go to buf
    let input = buf.subarray(from, from + n);
    let nextCR = input.indexOf(CR);
    if (!safe && nextCR >= 0) {
      // the general loop below is only written for the safe placement
      buf.copyWithin(at + n, from, from + n);
      from = at + n;
      input = buf.subarray(from, from + n);
      safe = true;
    }
    let o = at;
    let i = 0;
    if (this.#pendingCR && n > 0) {
      this.#pendingCR = false;
      if (input[0] === LF) i = 1;
    }
    let atLineStart = this.#atLineStart;
    // Input bytes taken, less the LF of each CRLF: each line ending counts one.
    let size = n - i;
    if (nextCR < 0) {
      // LF line ends only: the common case. The whole lines go through lfLines, the one
      // hot loop of a big mail; what follows the last LF is copied here.
      if (i < n) {
        if (atLineStart && input[i] === DOT) buf[o++] = DOT;
        const last = input.lastIndexOf(LF);
        while (i <= last) {
          // The distance from the output to the next byte to read shrinks by one a line and
          // one more for a dot, so at most twice the lines: lines that start within half of
          // it (less a margin) are safe.
          const gap = from + i - o;
          let stop = last + 1;
          if (!safe) {
            if (gap < MIN_GAP) {
              buf.copyWithin(at + n + i, from + i, from + n);
              from = at + n;
              input = buf.subarray(from, from + n);
              safe = true;
              continue;
            }
            stop = Math.min(stop, i + ((gap - 2) >> 1));
          }
          o = lfLines(input, buf, from, i, stop, o);
          i = lfLinesNext;
          if (i < n && input[i] === DOT) buf[o++] = DOT;
        }
        atLineStart = last >= 0 && i === last + 1 ? true : atLineStart;
        if (i < n) {
          buf.copyWithin(o, from + i, from + n);
          o += n - i;
          atLineStart = false;
        }
      }
    } else {
      let nextLF = -2;
      while (i < n) {
        if (atLineStart && input[i] === DOT) buf[o++] = DOT;
        if (nextLF !== -1 && nextLF < i) nextLF = input.indexOf(LF, i);
        if (nextCR !== -1 && nextCR < i) nextCR = input.indexOf(CR, i);
        const end = nextLF < 0 ? nextCR : nextCR < 0 ? nextLF : Math.min(nextLF, nextCR);
        if (end < 0) {
          buf.copyWithin(o, from + i, from + n);
          o += n - i;
          atLineStart = false;
          break;
        }
        // read before the line end is written over them
        const cr = input[end] === CR;
        const crlf = cr && end + 1 < n && input[end + 1] === LF;
        buf.copyWithin(o, from + i, from + end);
        o += end - i;
        buf[o++] = CR;
        buf[o++] = LF;
        atLineStart = true;
        if (crlf) {
          size--;
          i = end + 2;
        } else {
          if (cr && end + 1 === n) this.#pendingCR = true;
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
