/**
 * Turns the SMTP DATA payload (CRLF lines, dot-stuffed, as `lib/message/data.ts` makes it)
 * back into a mail as it is stored on this host: LF line ends, the stuffing dots removed,
 * and for mbox files `>From ` quoting in the mboxrd way (every line matching `^>*From `
 * gets one more `>`, so a reader can undo it exactly).
 *
 * Works on chunks with a few bytes of state, so memory does not grow with a line's length.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const GT = 0x3e;
const FROM = new TextEncoder().encode("From ");

/**
 * The transformer. With `mboxrd`, lines matching `^>*From ` are quoted.
 *
 * @example Usage
 * ```ts
 * import { LocalCopy } from "./local_copy.ts";
 * const copy = new LocalCopy(true);
 * const out = copy.push(new TextEncoder().encode("..x\r\nFrom me\r\n>From you\r\n"));
 * console.log(new TextDecoder().decode(out)); // ".x\n>From me\n>>From you\n"
 * ```
 */
export class LocalCopy {
  readonly #mboxrd: boolean;
  #atLineStart = true;
  /** At line start: `>` characters seen and held back. */
  #gts = 0;
  /** At line start, after the `>`s: how many bytes of `From ` matched and held back. */
  #matched = 0;
  /** Whether the line is past its start (nothing held back any more). */
  #inLine = false;
  #pendingCR = false;
  /** Whether the last byte written was an LF (or nothing was written yet). */
  endsWithNewline = true;

  /** `mboxrd`: quote `From ` lines for an mbox file. */
  constructor(mboxrd: boolean) {
    this.#mboxrd = mboxrd;
  }

  /** Converts one chunk. */
  push(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(chunk.length * 2 + 16);
    let o = 0;
    const emit = (b: number): void => {
      out[o++] = b;
    };
    const flushHeld = (quote: boolean): void => {
      if (quote) emit(GT);
      for (let k = 0; k < this.#gts; k++) emit(GT);
      for (let k = 0; k < this.#matched; k++) emit(FROM[k]);
      this.#gts = 0;
      this.#matched = 0;
      this.#inLine = true;
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.#pendingCR) {
        this.#pendingCR = false;
        if (b !== LF) {
          // a bare CR is kept as it is
          this.#atLineStart = false;
          if (!this.#inLine) flushHeld(false);
          emit(CR);
        }
      }
      if (b === CR) {
        this.#pendingCR = true;
        continue;
      }
      if (b === LF) {
        if (!this.#inLine) flushHeld(false);
        emit(LF);
        this.#atLineStart = true;
        this.#inLine = false;
        continue;
      }
      if (this.#atLineStart) {
        this.#atLineStart = false;
        if (b === DOT) continue; // the stuffing dot
      }
      if (this.#inLine) {
        emit(b);
        continue;
      }
      if (!this.#mboxrd) {
        this.#inLine = true;
        emit(b);
        continue;
      }
      if (this.#matched === 0 && b === GT) {
        this.#gts++;
        continue;
      }
      if (b === FROM[this.#matched]) {
        this.#matched++;
        if (this.#matched === FROM.length) flushHeld(true);
        continue;
      }
      flushHeld(false);
      emit(b);
    }
    if (o > 0) this.endsWithNewline = out[o - 1] === LF;
    return out.subarray(0, o);
  }

  /** What is still held back at the end of the data. */
  end(): Uint8Array {
    const out: number[] = [];
    if (this.#pendingCR) out.push(CR);
    if (!this.#inLine) {
      for (let k = 0; k < this.#gts; k++) out.push(GT);
      for (let k = 0; k < this.#matched; k++) out.push(FROM[k]);
    }
    this.#pendingCR = false;
    this.#gts = 0;
    this.#matched = 0;
    if (out.length > 0) this.endsWithNewline = out[out.length - 1] === LF;
    return Uint8Array.from(out);
  }
}
