/**
 * The `mail` / `mailx` personality: invoked through a link of that name, postie takes the
 * sending options bsd-mailx and s-nail share, so `echo body | mail -s subject user` works on
 * a host with no mail client. Only sending: there is no mailbox to read.
 *
 * - `-s SUBJECT`, `-c ADDRESSES`, `-b ADDRESSES` (comma-separated lists), `-r FROM` (the
 *   envelope sender and From, `Name <address>` allowed);
 * - `-a FILE` attaches a file (s-nail's meaning; bsd-mailx's `-a` adds a header instead);
 * - `-E` sends nothing when standard input is empty (bsd-mailx's and s-nail's meaning; exit 0);
 * - `-v` shows the SMTP dialogue; `-i` and `-n` are accepted and change nothing;
 * - recipients follow, options may be mixed with them, `--` ends the options.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { emptyComposeRequest, getoptLong, parseArgs, type ParsedArgs } from "./args.ts";

/** The short options of the personality, in getopt's notation. */
export const MAILX_OPTIONS = "s:a:c:b:r:Einv";

/** The usage line printed after a usage error. */
export const MAILX_USAGE =
  "usage: mail [-Einv] [-s subject] [-a file] [-c addresses] [-b addresses] [-r from-address] " +
  "to-address ...";

/**
 * `-r`'s argument as an address and an optional full name: `Build Bot <ci@example.org>`
 * gives both, a bare address only the address.
 */
function senderOf(text: string): { address: string; fullName: string | undefined } {
  const match = /^(.*?)\s*<([^<>]*)>\s*$/.exec(text);
  if (match === null) return { address: text.trim(), fullName: undefined };
  const name = match[1].trim().replace(/^"(.*)"$/, "$1");
  return { address: match[2].trim(), fullName: name === "" ? undefined : name };
}

/** The error with the usage line after it, as mail programs print it. */
function usage(error: UsageError): UsageError {
  return new UsageError(error.message, { cause: error, details: [MAILX_USAGE] });
}

/**
 * Parses a `mail`/`mailx` command line into the same request the sendmail options make,
 * with the mail composed from standard input's text.
 *
 * @example Usage
 * ```ts
 * import { parseMailxArgs } from "./mailx.ts";
 * const inv = parseMailxArgs(["-s", "Backup done", "-a", "/var/log/backup.log", "root"]);
 * console.log(inv.compose?.subject, inv.compose?.attachments, inv.recipients);
 * // "Backup done" ["/var/log/backup.log"] ["root"]
 * ```
 *
 * @throws {UsageError} for an unknown option, a missing argument or no recipient (exit 64).
 */
export function parseMailxArgs(
  argv: readonly string[],
  env: { readonly POSIXLY_CORRECT?: string } = {},
): ParsedArgs {
  const inv = parseArgs([], env);
  const compose = emptyComposeRequest();
  inv.compose = compose;
  const posixlyCorrect = env.POSIXLY_CORRECT !== undefined;
  try {
    for (const item of getoptLong(argv, MAILX_OPTIONS, [], posixlyCorrect)) {
      if (item.kind === "operand") {
        inv.recipients.push(item.word);
        continue;
      }
      const value = item.arg ?? "";
      switch (item.key) {
        case "s":
          compose.subject = value;
          break;
        case "a":
          compose.attachments.push(value);
          break;
        case "c":
          compose.cc.push(value);
          break;
        case "b":
          compose.bcc.push(value);
          break;
        case "r": {
          const sender = senderOf(value);
          inv.from = sender.address;
          if (sender.fullName !== undefined) inv.fullName = sender.fullName;
          break;
        }
        case "v":
          inv.debug = true;
          break;
        case "E":
          compose.discardEmpty = true;
          break;
        default:
          // -i (ignore interrupts) and -n (skip mail.rc): nothing to do for a sender
          break;
      }
    }
    if (inv.recipients.length === 0 && compose.cc.length === 0 && compose.bcc.length === 0) {
      throw new UsageError("no recipients given; this mail only sends and reads no mailbox");
    }
  } catch (error) {
    if (error instanceof UsageError) throw usage(error);
    throw error;
  }
  return inv;
}
