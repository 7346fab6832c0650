/**
 * Finds bare CR and bare LF in a message as received after DATA. A relay that let them
 * through could hand an upstream a line end the upstream reads differently, and
 * `\n.\n`, `\r.\r` or `\n.\r\n` might then end the mail early there and smuggle the
 * rest in as commands (SMTP smuggling, CVE-2023-51764). The listener only ends DATA at
 * `\r\n.\r\n` and refuses a message holding either, so neither direction can be fooled.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * Streaming check: feed chunks in order; {@linkcode BareNewlineCheck.clean} stays true
 * while every CR is followed by LF and every LF preceded by CR.
 *
 * @example Usage
 * ```ts
 * import { BareNewlineCheck } from "./bare_newline.ts";
 * const check = new BareNewlineCheck();
 * check.push(new TextEncoder().encode("a\r\nb\n.\nc\r\n"));
 * console.log(check.end()); // false
 * ```
 */
export class BareNewlineCheck {
  /** False once a bare CR or LF was seen. */
  clean = true;
  #lastWasCR = false;

  /** Checks one chunk. */
  push(chunk: Uint8Array): void {
    if (!this.clean) return;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.#lastWasCR && b !== LF) {
        this.clean = false;
        return;
      }
      if (b === LF && !this.#lastWasCR) {
        this.clean = false;
        return;
      }
      this.#lastWasCR = b === CR;
    }
  }

  /** Ends the message (a CR at its very end is bare) and tells whether it was clean. */
  end(): boolean {
    if (this.#lastWasCR) this.clean = false;
    return this.clean;
  }
}
