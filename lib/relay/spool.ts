/**
 * The relay's own durable spool: a directory with `tmp/`, `queue/` and `failed/`. Each
 * mail is two files, `ID.eml` (the message as received, with the relay's `Received`
 * line on top) and `ID.json` (the envelope). Both are written to `tmp/` and fsynced,
 * the message is renamed into `queue/` first and the envelope last, then `queue/` is
 * fsynced: a mail is queued exactly when its `.json` is in `queue/`, so a crash at any
 * instant leaves either a whole mail or only stray files that are never sent.
 *
 * @module
 */

import { type MailSink, type RelayEnvelope, SinkError } from "./sink.ts";

/** One queued mail. */
export interface SpoolEntry {
  id: string;
  envelope: RelayEnvelope;
  /** When it was queued. */
  queuedAt: Date;
}

/** How full the spool is. */
export interface SpoolStats {
  /** Mails waiting in `queue/`. */
  depth: number;
  /** Age of the oldest waiting mail in seconds; 0 when empty. */
  oldestAgeSeconds: number;
}

function trouble(error: unknown, what: string): SinkError {
  const code = (error as { code?: string } | null)?.code;
  const full = code === "ENOSPC" || code === "EDQUOT";
  const message = error instanceof Error ? error.message : String(error);
  return new SinkError(full ? "full" : "unavailable", `${what}: ${message}`, { cause: error });
}

async function syncDir(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

let counter = 0;

/** A queue id: sortable by time, unique within and across processes. */
function newId(): string {
  const time = Date.now().toString(36).padStart(9, "0");
  const random = crypto.getRandomValues(new Uint8Array(6));
  const tail = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  counter = (counter + 1) % 1296;
  return `${time}${counter.toString(36).padStart(2, "0")}${tail}`.toUpperCase();
}

/**
 * A spool directory. Call {@linkcode Spool.init} once before use.
 *
 * @example Usage
 * ```ts
 * import { Spool } from "./spool.ts";
 * const dir = await Deno.makeTempDir();
 * const spool = new Spool(dir);
 * await spool.init();
 * const id = await spool.accept({
 *   from: "a@example.org", recipients: [{ address: "b@example.org", notify: null, orcpt: null }],
 *   dsn: { ret: null, envid: null }, eightBit: false, smtpUtf8: false,
 *   clientAddress: "127.0.0.1", clientHelo: "client", user: null, receivedAt: new Date(),
 * }, ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nhi\r\n")]));
 * console.log((await spool.list()).map((e) => e.id).includes(id)); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Spool implements MailSink {
  /** The spool directory. */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directories (mode 0700) and removes leftovers of interrupted writes. */
  async init(): Promise<void> {
    for (const sub of ["tmp", "queue", "failed"]) {
      await Deno.mkdir(`${this.dir}/${sub}`, { recursive: true, mode: 0o700 });
    }
    for await (const entry of Deno.readDir(`${this.dir}/tmp`)) {
      await Deno.remove(`${this.dir}/tmp/${entry.name}`).catch(() => {});
    }
    // a message whose envelope never arrived was never acknowledged
    for await (const entry of Deno.readDir(`${this.dir}/queue`)) {
      if (!entry.name.endsWith(".eml")) continue;
      const id = entry.name.slice(0, -4);
      try {
        await Deno.stat(`${this.dir}/queue/${id}.json`);
      } catch {
        await Deno.remove(`${this.dir}/queue/${entry.name}`).catch(() => {});
      }
    }
  }

  /** Stores a mail durably and returns its id. */
  async accept(envelope: RelayEnvelope, message: ReadableStream<Uint8Array>): Promise<string> {
    const id = newId();
    const tmpEml = `${this.dir}/tmp/${id}.eml`;
    const tmpJson = `${this.dir}/tmp/${id}.json`;
    try {
      const file = await Deno.open(tmpEml, { write: true, createNew: true, mode: 0o600 });
      try {
        for await (const chunk of message) await writeAll(file, chunk);
        await file.sync();
      } finally {
        file.close();
      }
      const json = await Deno.open(tmpJson, { write: true, createNew: true, mode: 0o600 });
      try {
        await writeAll(json, new TextEncoder().encode(JSON.stringify(envelope) + "\n"));
        await json.sync();
      } finally {
        json.close();
      }
      await Deno.rename(tmpEml, `${this.dir}/queue/${id}.eml`);
      await Deno.rename(tmpJson, `${this.dir}/queue/${id}.json`);
      await syncDir(`${this.dir}/queue`);
    } catch (error) {
      await Deno.remove(tmpEml).catch(() => {});
      await Deno.remove(tmpJson).catch(() => {});
      await Deno.remove(`${this.dir}/queue/${id}.eml`).catch(() => {});
      if (error instanceof SinkError) throw error;
      throw trouble(error, "cannot queue the mail");
    }
    return id;
  }

  /** Whether a file can be created and synced in `tmp/` now. */
  async writable(): Promise<boolean> {
    const probe = `${this.dir}/tmp/.probe-${newId()}`;
    try {
      await Deno.writeTextFile(probe, "x", { createNew: true });
      await Deno.remove(probe);
      return true;
    } catch {
      return false;
    }
  }

  /** The queued mails, oldest first. */
  async list(): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    for await (const entry of Deno.readDir(`${this.dir}/queue`)) {
      if (!entry.name.endsWith(".json")) continue;
      const id = entry.name.slice(0, -5);
      try {
        const path = `${this.dir}/queue/${entry.name}`;
        const envelope = JSON.parse(await Deno.readTextFile(path)) as RelayEnvelope;
        envelope.receivedAt = new Date(envelope.receivedAt);
        out.push({ id, envelope, queuedAt: envelope.receivedAt });
      } catch {
        // removed by a concurrent delivery, or not ours: skipped
      }
    }
    return out.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /** The message of a queued mail, streamed. */
  async open(id: string): Promise<ReadableStream<Uint8Array>> {
    const file = await Deno.open(`${this.dir}/queue/${id}.eml`, { read: true });
    return file.readable;
  }

  /** Removes a delivered mail: the envelope first, so a crash never resends half a mail. */
  async remove(id: string): Promise<void> {
    await Deno.remove(`${this.dir}/queue/${id}.json`);
    await syncDir(`${this.dir}/queue`);
    await Deno.remove(`${this.dir}/queue/${id}.eml`).catch(() => {});
  }

  /** Moves a mail that cannot be delivered to `failed/`, with the reason beside it. */
  async fail(id: string, reason: string): Promise<void> {
    await Deno.writeTextFile(`${this.dir}/failed/${id}.reason`, reason + "\n");
    await Deno.rename(`${this.dir}/queue/${id}.eml`, `${this.dir}/failed/${id}.eml`);
    await Deno.rename(`${this.dir}/queue/${id}.json`, `${this.dir}/failed/${id}.json`);
    await syncDir(`${this.dir}/queue`);
  }

  /** Depth and oldest age of the queue. */
  async stats(now = new Date()): Promise<SpoolStats> {
    const entries = await this.list();
    const oldest = entries.reduce(
      (min, e) => Math.min(min, e.queuedAt.getTime()),
      now.getTime(),
    );
    return {
      depth: entries.length,
      oldestAgeSeconds: Math.max(0, (now.getTime() - oldest) / 1000),
    };
  }
}
