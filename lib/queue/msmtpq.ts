/**
 * msmtpq's queue, as the script Debian ships with msmtp writes it: a directory
 * (`$MSMTPQ_Q`, else `$Q`, else `~/.msmtp.queue`) holding a pair of files per mail,
 * `ID.mail` (the mail) and `ID.msmtp` (msmtp's arguments, written by `echo "$@"` and read
 * back split on white space), with ids `YYYY-mm-dd-HH.MM.SS[-N]`. The queue is locked by
 * creating the directory `.lock` (msmtpq waits up to 240 s for it).
 *
 * postie reads such a queue, sends it, and writes new entries in the same form (fsynced,
 * which msmtpq does not do), so the two can share one queue.
 *
 * @module
 */

import { describeOsError } from "../os_error.ts";
import { QueueError } from "./spool.ts";

/** One queued msmtpq mail. */
export interface MsmtpqEntry {
  /** The id (the file names without `.mail`/`.msmtp`). */
  id: string;
  /** The path of `ID.mail`. */
  mailPath: string;
  /** msmtp's arguments from `ID.msmtp`. */
  args: string[];
  /** The size of the mail in bytes. */
  size: number;
}

/** msmtpq's choice of queue directory. */
export function msmtpqDirectory(
  getenv: (name: string) => string | undefined,
  home: string,
): string {
  return getenv("MSMTPQ_Q") || getenv("Q") || `${home}/.msmtp.queue`;
}

/** The words of an `.msmtp` file, as bash's unquoted `$(< file)` splits them. */
export function splitArgs(text: string): string[] {
  return text.split(/[ \t\n]+/).filter((word) => word !== "");
}

/** The mails of an msmtpq queue, oldest first; undefined when the directory does not exist. */
export async function listMsmtpqQueue(dir: string): Promise<MsmtpqEntry[] | undefined> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".mail")) names.push(entry.name.slice(0, -5));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new QueueError(`cannot read msmtpq queue ${dir}: ${describeOsError(error)}`);
  }
  const entries: MsmtpqEntry[] = [];
  for (const id of names.sort()) {
    const mailPath = `${dir}/${id}.mail`;
    try {
      const args = splitArgs(await Deno.readTextFile(`${dir}/${id}.msmtp`));
      const size = (await Deno.stat(mailPath)).size;
      entries.push({ id, mailPath, args, size });
    } catch {
      // a .mail without its .msmtp is skipped, as msmtpq skips it
    }
  }
  return entries;
}

/**
 * Takes msmtpq's queue lock (`mkdir DIR/.lock`), waiting up to `waitSeconds` as msmtpq
 * does. Returns the function that releases it.
 */
export async function lockMsmtpqQueue(
  dir: string,
  waitSeconds = 240,
): Promise<() => Promise<void>> {
  const lock = `${dir}/.lock`;
  for (let waited = 0;; waited++) {
    try {
      await Deno.mkdir(lock);
      return async () => {
        await Deno.remove(lock).catch(() => {});
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw new QueueError(`cannot lock msmtpq queue ${dir}: ${describeOsError(error)}`);
      }
    }
    if (waited >= waitSeconds) {
      throw new QueueError(
        `cannot use queue ${dir}: waited ${waitSeconds} seconds for lockdir ${lock} to vanish; ` +
          "if no msmtpq is running, remove it with rmdir",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

async function writeSynced(path: string, data: ReadableStream<Uint8Array>): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    for await (const chunk of data) {
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    }
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Adds a mail to an msmtpq queue (the caller holds the lock): `ID.mail`, then `ID.msmtp`,
 * both fsynced, then the directory. Returns the id.
 */
export async function addMsmtpqEntry(
  dir: string,
  args: readonly string[],
  message: ReadableStream<Uint8Array>,
  now: Date = new Date(),
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const base = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-` +
    `${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}`;
  let id = base;
  for (let n = 1; n < 10000; n++) {
    const taken = await Deno.stat(`${dir}/${id}.mail`).then(() => true, () => false) ||
      await Deno.stat(`${dir}/${id}.msmtp`).then(() => true, () => false);
    if (!taken) break;
    id = `${base}-${n}`;
  }
  try {
    await writeSynced(`${dir}/${id}.mail`, message);
    const line = new TextEncoder().encode(args.join(" ") + "\n");
    await writeSynced(`${dir}/${id}.msmtp`, ReadableStream.from([line]));
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch (error) {
    await removeMsmtpqEntry(dir, id);
    throw new QueueError(`cannot queue mail in ${dir}: ${describeOsError(error)}`);
  }
  return id;
}

/** Removes both files of an entry. */
export async function removeMsmtpqEntry(dir: string, id: string): Promise<void> {
  for (const suffix of [".mail", ".msmtp"]) {
    await Deno.remove(`${dir}/${id}${suffix}`).catch(() => {});
  }
}
