/**
 * Delivery into a Maildir: the mail is written to `tmp/` under a unique name, fsynced,
 * hard-linked into `new/` and removed from `tmp/`, and `new/` is fsynced; a reader sees a
 * mail in `new/` only once it is complete. The directories are created when missing.
 *
 * @module
 */

import { LocalCopy } from "./local_copy.ts";
import { LocalDeliveryError } from "./errors.ts";
import type { FileOwner } from "./mbox.ts";

/** What {@linkcode deliverToMaildir} needs. */
export interface MaildirDelivery {
  /** The Maildir (holding `tmp`, `new`, `cur`). */
  dir: string;
  /** The envelope sender, for the `Return-Path` header. */
  sender: string;
  /** The DATA payload (CRLF, dot-stuffed). */
  data: ReadableStream<Uint8Array>;
  /** Owner of the directories and file this call creates (when running as root). */
  owner?: FileOwner;
  /** The host name in the unique name; `Deno.hostname()` by default. */
  hostname?: string;
}

const encoder = new TextEncoder();
let deliveries = 0;

/**
 * A unique file name in the form the Maildir specification recommends:
 * `SECONDS.M<microseconds>P<pid>Q<count>R<random>.HOST` (`/` and `:` in the host escaped).
 *
 * @example Usage
 * ```ts
 * import { uniqueName } from "./maildir.ts";
 * console.log(/^\d+\.M\d+P\d+Q\d+R[0-9a-f]{16}\.a\\057b$/.test(uniqueName("a/b"))); // true
 * ```
 */
export function uniqueName(hostname: string): string {
  const now = Date.now();
  const random = crypto.getRandomValues(new Uint8Array(8));
  const hex = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  const host = hostname.replaceAll("/", "\\057").replaceAll(":", "\\072");
  const micros = (now % 1000) * 1000;
  return `${Math.floor(now / 1000)}.M${micros}P${Deno.pid}Q${++deliveries}R${hex}.${host}`;
}

async function ensureDir(path: string, owner: FileOwner | undefined): Promise<void> {
  try {
    await Deno.mkdir(path, { mode: 0o700 });
    if (owner !== undefined && Deno.uid() === 0) await Deno.chown(path, owner.uid, owner.gid);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Delivers one mail into a Maildir and returns the path of the file in `new/`.
 *
 * @throws {LocalDeliveryError} any I/O error (nothing is left in `tmp/` or `new/`).
 *
 * @example Usage
 * ```ts
 * import { deliverToMaildir } from "./maildir.ts";
 * const dir = await Deno.makeTempDir();
 * const data = ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nhi\r\n")]);
 * const path = await deliverToMaildir({ dir: `${dir}/Maildir`, sender: "a@b", data });
 * console.log(path.includes("/Maildir/new/"), await Deno.readTextFile(path));
 * // true "Return-Path: <a@b>\nSubject: x\n\nhi\n"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function deliverToMaildir(options: MaildirDelivery): Promise<string> {
  const { dir, owner } = options;
  const name = uniqueName(options.hostname ?? safeHostname());
  const tmp = `${dir}/tmp/${name}`;
  const target = `${dir}/new/${name}`;
  let file: Deno.FsFile | undefined;
  let linked = false;
  try {
    await ensureDir(dir, owner);
    for (const sub of ["tmp", "new", "cur"]) await ensureDir(`${dir}/${sub}`, owner);
    file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    if (owner !== undefined && Deno.uid() === 0) await Deno.chown(tmp, owner.uid, owner.gid);
    const write = async (bytes: Uint8Array): Promise<void> => {
      let offset = 0;
      while (offset < bytes.length) offset += await file!.write(bytes.subarray(offset));
    };
    await write(encoder.encode(`Return-Path: <${options.sender.replace(/[\r\n]/g, "")}>\n`));
    const copy = new LocalCopy(false);
    for await (const chunk of options.data) await write(copy.push(chunk));
    await write(copy.end());
    if (!copy.endsWithNewline) await write(encoder.encode("\n"));
    await file.sync();
    file.close();
    file = undefined;
    // link, not rename: a name that exists already is an error, never overwritten
    await Deno.link(tmp, target);
    linked = true;
    await Deno.remove(tmp);
    const newDir = await Deno.open(`${dir}/new`, { read: true });
    try {
      await newDir.sync();
    } finally {
      newDir.close();
    }
    return target;
  } catch (e) {
    file?.close();
    await Deno.remove(tmp).catch(() => {});
    if (linked) await Deno.remove(target).catch(() => {});
    throw LocalDeliveryError.from(dir, e);
  }
}
