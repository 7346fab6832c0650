/**
 * Appending a mail to an mbox file (`/var/mail/USER`) the way dma and Postfix's local(8)
 * do: an exclusive `flock` on the file, a `From SENDER DATE` line, the mail with mboxrd
 * `>From ` quoting and LF line ends, an empty line after it, `fsync`, and on any error the
 * file truncated back to the length it had, so a failed delivery leaves no partial mail.
 *
 * @module
 */

import { LocalCopy } from "./local_copy.ts";
import { LocalDeliveryError } from "./errors.ts";

/** The owner a newly created mailbox gets (when running as root). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** What {@linkcode appendToMbox} needs. */
export interface MboxAppend {
  /** The mbox file. */
  path: string;
  /** The envelope sender; empty for a bounce (`MAILER-DAEMON` on the `From ` line). */
  sender: string;
  /** The DATA payload (CRLF, dot-stuffed). */
  data: ReadableStream<Uint8Array>;
  /** The arrival time for the `From ` line; now by default. */
  date?: Date;
  /** Owner and mode 0600 for a mailbox this call creates. */
  owner?: FileOwner;
}

const encoder = new TextEncoder();
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The date of an mbox `From ` line: C's asctime() in local time (`Wed Dec  2 07:53:03 2026`).
 *
 * @example Usage
 * ```ts
 * import { asctime } from "./mbox.ts";
 * console.log(asctime(new Date(2026, 11, 2, 7, 53, 3))); // "Wed Dec  2 07:53:03 2026"
 * ```
 */
export function asctime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${
    String(date.getDate()).padStart(2, " ")
  } ${two(date.getHours())}:${two(date.getMinutes())}:${
    two(date.getSeconds())
  } ${date.getFullYear()}`;
}

/** A sender fit for the `From ` line: no blanks, `MAILER-DAEMON` for the empty one. */
function fromLineSender(sender: string): string {
  // deno-lint-ignore no-control-regex
  const cleaned = sender.replace(/[\s\x00-\x1f\x7f]/g, "_");
  return cleaned === "" ? "MAILER-DAEMON" : cleaned;
}

async function sameFile(path: string, file: Deno.FsFile): Promise<boolean> {
  const [byPath, byHandle] = await Promise.all([Deno.lstat(path), file.stat()]);
  return byPath.ino === byHandle.ino && byPath.dev === byHandle.dev;
}

/**
 * Appends one mail to an mbox file under an exclusive lock. Returns the bytes written.
 *
 * @throws {LocalDeliveryError} a symbolic link or non-file mailbox, or any I/O error (the
 * file is then truncated back).
 *
 * @example Usage
 * ```ts
 * import { appendToMbox } from "./mbox.ts";
 * const dir = await Deno.makeTempDir();
 * const data = ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nFrom here\r\n")]);
 * await appendToMbox({ path: `${dir}/root`, sender: "cron@host", data });
 * const text = await Deno.readTextFile(`${dir}/root`);
 * console.log(text.split("\n").slice(1).join("\n"));
 * // "Return-Path: <cron@host>\nSubject: x\n\n>From here\n\n"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function appendToMbox(options: MboxAppend): Promise<number> {
  const { path } = options;
  let existed = true;
  try {
    const info = await Deno.lstat(path);
    // root delivering into a world-writable spool must not follow a planted link
    if (info.isSymlink) throw new LocalDeliveryError(`${path}: the mailbox is a symbolic link`);
    if (!info.isFile) throw new LocalDeliveryError(`${path}: the mailbox is not a regular file`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw LocalDeliveryError.from(path, e);
    existed = false;
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  } catch (e) {
    throw LocalDeliveryError.from(path, e);
  }
  let oldSize = -1;
  try {
    await file.lock(true);
    if (!(await sameFile(path, file))) {
      throw new LocalDeliveryError(`${path}: the mailbox was replaced while it was opened`);
    }
    oldSize = (await file.stat()).size;
    if (!existed && options.owner !== undefined && Deno.uid() === 0) {
      await Deno.chown(path, options.owner.uid, options.owner.gid);
    }
    const write = async (bytes: Uint8Array): Promise<void> => {
      let offset = 0;
      while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    };
    let written = 0;
    const head = encoder.encode(
      `From ${fromLineSender(options.sender)} ${asctime(options.date ?? new Date())}\n` +
        `Return-Path: <${options.sender.replace(/[\r\n]/g, "")}>\n`,
    );
    await write(head);
    written += head.length;
    const copy = new LocalCopy(true);
    for await (const chunk of options.data) {
      const out = copy.push(chunk);
      await write(out);
      written += out.length;
    }
    const tail = copy.end();
    await write(tail);
    // the mail ends with a line end, then one empty line separates it from the next
    const ending = encoder.encode(copy.endsWithNewline ? "\n" : "\n\n");
    await write(ending);
    written += tail.length + ending.length;
    await file.sync();
    return written;
  } catch (e) {
    if (oldSize >= 0) {
      try {
        await file.truncate(oldSize);
        await file.sync();
      } catch {
        // the original error is the one to report
      }
    }
    throw LocalDeliveryError.from(path, e);
  } finally {
    file.close(); // closing releases the lock
  }
}
