/**
 * The last password source: asking on the terminal, as msmtp's getpass() does. Standard
 * input carries the mail, so the prompt goes through `/dev/tty`; without a controlling
 * terminal there is no prompt at all.
 *
 * @module
 */

/** Options of {@linkcode promptPassword}. */
export interface PromptOptions {
  /** The terminal device. @default {"/dev/tty"} */
  ttyPath?: string;
}

const CR = 0x0d;
const LF = 0x0a;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;

/**
 * msmtp's prompt text.
 *
 * @example Usage
 * ```ts
 * import { promptText } from "./prompt.ts";
 * console.log(promptText("alice", "mail.example")); // "password for alice at mail.example: "
 * ```
 */
export function promptText(user: string, host: string): string {
  return `password for ${user} at ${host}: `;
}

/**
 * Asks for the password on the controlling terminal with echo off and returns it, or
 * null when there is no terminal or the user cancels (Ctrl-C, or Ctrl-D on an empty
 * line). The terminal's mode is restored whatever happens.
 *
 * @example Usage
 * ```ts ignore
 * import { promptPassword } from "./prompt.ts";
 * const pw = await promptPassword("alice", "mail.example");
 * ```
 */
export async function promptPassword(
  user: string,
  host: string,
  options: PromptOptions = {},
): Promise<string | null> {
  let tty: Deno.FsFile;
  try {
    tty = await Deno.open(options.ttyPath ?? "/dev/tty", { read: true, write: true });
  } catch {
    return null;
  }
  try {
    if (!tty.isTerminal()) return null;
    let answer: Uint8Array | null;
    // Echo goes off before the prompt appears, so nothing typed early is ever shown.
    tty.setRaw(true);
    try {
      await writeAll(tty, new TextEncoder().encode(promptText(user, host)));
      answer = await readSecretLine(tty);
    } finally {
      tty.setRaw(false);
    }
    // Echo was off, so the user's Enter did not move the cursor: do it for them.
    await writeAll(tty, new TextEncoder().encode("\n"));
    return answer === null ? null : new TextDecoder().decode(answer);
  } catch {
    return null;
  } finally {
    tty.close();
  }
}

/**
 * Reads one line from a terminal in raw mode, with line editing (Backspace, Ctrl-U);
 * null on Ctrl-C, on Ctrl-D at the start, or at end of input before anything was typed.
 */
async function readSecretLine(tty: Deno.FsFile): Promise<Uint8Array | null> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(256);
  for (;;) {
    const n = await tty.read(buffer);
    if (n === null) return bytes.length > 0 ? new Uint8Array(bytes) : null;
    for (const b of buffer.subarray(0, n)) {
      if (b === CR || b === LF) return new Uint8Array(bytes);
      if (b === CTRL_C) return null;
      if (b === CTRL_D) {
        if (bytes.length === 0) return null;
      } else if (b === CTRL_U) {
        bytes.length = 0;
      } else if (b === BACKSPACE || b === DELETE) {
        // Drop one whole UTF-8 character: its continuation bytes, then its lead byte.
        while (bytes.length > 0 && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
        bytes.pop();
      } else {
        bytes.push(b);
      }
    }
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await file.write(data.subarray(offset));
}
