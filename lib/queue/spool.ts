/**
 * The spool: queue entries on disk, written so that a mail acknowledged is a mail on disk.
 *
 * Queueing follows nullmailer's order: write `tmp/ID`, fsync it, hard-link it to `mail/ID`,
 * fsync `mail/`, then unlink the temporary file. A crash before the link leaves only a
 * temporary file (removed later); after the directory fsync the mail survives power loss.
 * Removal after delivery unlinks `mail/ID` first (that is the moment the mail leaves the
 * queue), then its state; the removal is not fsynced (a power cut may bring the mail back:
 * a duplicate, never a loss).
 *
 * Two queue runners never send one mail: a runner holds an exclusive `flock` on `mail/ID`
 * while it works on the entry, and checks after locking that the file is still linked (the
 * other runner may have delivered and removed it in between).
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { describeOsError } from "../os_error.ts";
import {
  decodeEnvelope,
  decodeState,
  encodeEnvelope,
  encodeState,
  initialState,
  isQueueId,
  newQueueId,
  type QueueEnvelope,
  QueueFormatError,
  type QueueState,
} from "./format.ts";

/**
 * The queue could not be written or read (EX_TEMPFAIL: the mail was not accepted, the
 * caller may try again; nothing half-written is left behind).
 */
export class QueueError extends PostieError {
  /** A message naming the queue directory and the system's reason. */
  constructor(message: string, exitCode: ExitCode = ExitCode.TEMPFAIL, cause?: unknown) {
    super(message, exitCode, { cause });
    this.name = "QueueError";
  }

  /** The disk or the user's quota is full (a listener answers 452 rather than 451). */
  get full(): boolean {
    const code = (this.cause as { code?: string } | null | undefined)?.code;
    return code === "ENOSPC" || code === "EDQUOT";
  }
}

/** How full the queue is (for metrics). */
export interface QueueStats {
  /** Mails in the queue. */
  depth: number;
  /** Age of the oldest mail in seconds; 0 when the queue is empty. */
  oldestAgeSeconds: number;
}

/** One mail in the queue as a listing shows it. */
export interface QueueListing {
  id: string;
  envelope: QueueEnvelope;
  state: QueueState;
  /** The size of the mail in bytes (without the envelope line). */
  size: number;
}

/** An entry the spool could not read; listed so the user sees it. */
export interface QueueProblem {
  id: string;
  /** What is wrong, in one line. */
  reason: string;
}

/** A mail a runner holds: locked, with its envelope and state. */
export interface ClaimedEntry {
  id: string;
  envelope: QueueEnvelope;
  state: QueueState;
  /** The mail's size in bytes. */
  size: number;
  /** The mail as it goes to the server, streamed from disk. */
  message(): ReadableStream<Uint8Array>;
  /**
   * The mail as it goes to the server, whole, when it is small (up to 64 KiB; read once, in
   * one read with its envelope line when it can); null for a larger one, which
   * {@linkcode ClaimedEntry.message} streams.
   */
  bytes(): Uint8Array | null;
  /** The mail's header block (up to the empty line), bounded in size, for bounces. */
  headers(limit?: number): Promise<Uint8Array>;
  /** Replaces the state atomically (tmp, fsync, rename, fsync the directory). */
  saveState(state: QueueState): Promise<void>;
  /** Removes the mail from the queue (after the server's final 250 or a bounce). */
  remove(): Promise<void>;
  /** Releases the lock. */
  release(): void;
}

const CHUNK = 64 * 1024;
/** The suffix of a delivered mail in `tmp/`, waiting to be unlinked. */
const SENT = ".sent";

/**
 * The file each listing was read from, so that {@linkcode Spool.claim} can take the
 * envelope of a listing instead of reading it again when it locks the same file (a mail file
 * is written once and never changed).
 */
const read = new WeakMap<QueueListing, { ino: number; dev: number; length: number }>();

/**
 * How the state of a held entry is settled: `listed` says whether a listing of `state/`
 * taken under the lock has its file; without it, the file is looked up.
 */
const stateOf = new WeakMap<ClaimedEntry, (listed?: boolean) => QueueState>();
/** An envelope line longer than this is not one of ours. */
const MAX_ENVELOPE = 16 * 1024 * 1024;

function osText(error: unknown): string {
  return describeOsError(error);
}

async function fsyncDir(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** The path's file information, or null when nothing is there. */
function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // already gone
  }
}

/**
 * Reads from `file` at its current position up to the first line feed. Synchronous, as the
 * other per-entry metadata work of a queue run: small reads of the page cache, where each
 * asynchronous call would cost a hop through the I/O thread pool.
 */
function readLine(file: Deno.FsFile): { line: string; length: number } {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = file.readSync(buffer);
    if (n === null) throw new QueueFormatError("the envelope line has no end");
    const chunk = buffer.subarray(0, n);
    const lf = chunk.indexOf(0x0a);
    if (lf >= 0) {
      parts.push(chunk.slice(0, lf));
      total += lf;
      const bytes = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      return { line: new TextDecoder().decode(bytes), length: total + 1 };
    }
    parts.push(chunk.slice());
    total += n;
    if (total > MAX_ENVELOPE) throw new QueueFormatError("the envelope line is too long");
  }
}

/**
 * Streams the mail of a claimed entry from its open file (the one holding the lock, not
 * closed here), from `offset` to its end in 64 KiB chunks, so memory stays flat. Synchronous
 * reads of the page cache, as for the envelope line.
 */
function streamOpen(file: Deno.FsFile, offset: number, size: number): ReadableStream<Uint8Array> {
  let left = -1;
  return new ReadableStream<Uint8Array>({
    pull(controller): void {
      if (left < 0) {
        file.seekSync(offset, Deno.SeekMode.Start);
        left = size;
      }
      const buffer = new Uint8Array(Math.min(Math.max(left, 1), CHUNK));
      let n = 0;
      while (n < buffer.length) {
        const got = file.readSync(buffer.subarray(n));
        if (got === null) break;
        n += got;
      }
      if (n === 0) {
        controller.close();
        return;
      }
      left = Math.max(0, left - n);
      controller.enqueue(n === buffer.length ? buffer : buffer.subarray(0, n));
      if (left === 0) controller.close();
    },
  }, { highWaterMark: 0 });
}

/** Reads up to `size` bytes from `offset` (fewer at the end of the file). */
function readFrom(file: Deno.FsFile, offset: number, size: number): Uint8Array {
  file.seekSync(offset, Deno.SeekMode.Start);
  return readUpTo(file, size);
}

/** Reads up to `size` bytes from the file's position (fewer at the end of the file). */
function readUpTo(file: Deno.FsFile, size: number): Uint8Array {
  const buffer = new Uint8Array(size);
  let n = 0;
  while (n < size) {
    const got = file.readSync(buffer.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n === size ? buffer : buffer.subarray(0, n);
}

/**
 * A queue directory. Subdirectories are created on first use with mode 0700.
 *
 * @example Usage
 * ```ts ignore
 * const spool = new Spool("/var/spool/postie");
 * const id = await spool.enqueue(envelope, ReadableStream.from([bytes]));
 * ```
 */
export class Spool {
  /** The queue directory. */
  readonly dir: string;
  /** Unlinking of delivered mails in progress. */
  #unlinking = new Set<Promise<void>>();
  /** How many names the last listing of `state/` by {@linkcode Spool.readStates} had. */
  #stateNames = 0;

  /** A spool rooted at `dir` (nothing is touched until a method is called). */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The directory of committed mails (watched by the queue daemon). */
  get mailDir(): string {
    return `${this.dir}/mail`;
  }

  #path(sub: string, id: string): string {
    return `${this.dir}/${sub}/${id}`;
  }

  /** Creates the directories (mode 0700) if needed. */
  async ensure(): Promise<void> {
    for (const sub of ["", "/mail", "/state", "/tmp", "/corrupt"]) {
      try {
        await Deno.mkdir(this.dir + sub, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new QueueError(
          `cannot create queue directory ${this.dir + sub}: ${osText(error)}`,
          ExitCode.CANTCREAT,
          error,
        );
      }
    }
  }

  /**
   * Writes a mail into the queue and returns its id once it is durable (the file and the
   * directory are fsynced). On any failure nothing is left in `mail/` or `tmp/` and a
   * {@linkcode QueueError} says why (a full disk, a read-only directory).
   */
  async enqueue(
    envelope: Omit<QueueEnvelope, "v" | "queued"> & { queued?: number },
    message: ReadableStream<Uint8Array>,
    now: Date = new Date(),
  ): Promise<string> {
    await this.ensure();
    const id = newQueueId(now);
    const tmp = this.#path("tmp", id);
    const final = this.#path("mail", id);
    const full: QueueEnvelope = { v: 1, queued: now.getTime(), ...envelope };
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      await writeAll(file, encodeEnvelope(full));
      for await (const chunk of message) await writeAll(file, chunk);
      await file.sync();
      file.close();
      file = undefined;
      try {
        await Deno.link(tmp, final);
      } catch (error) {
        // file systems without hard links: a rename commits as atomically (ids are unique)
        if (error instanceof Deno.errors.AlreadyExists) throw error;
        await Deno.rename(tmp, final);
      }
      await fsyncDir(this.mailDir);
    } catch (error) {
      try {
        file?.close();
      } catch {
        // already closed
      }
      await removeQuietly(tmp);
      if (error instanceof PostieError) throw error;
      throw new QueueError(`cannot queue mail in ${this.dir}: ${osText(error)}`, undefined, error);
    }
    await removeQuietly(tmp);
    return id;
  }

  /**
   * Whether a mail could be queued now: the directories exist (or can be made) and a file
   * can be created in `tmp/` (for health checks).
   */
  async writable(): Promise<boolean> {
    const probe = `${this.dir}/tmp/.probe-${newQueueId(new Date())}`;
    try {
      await this.ensure();
      await Deno.writeTextFile(probe, "", { createNew: true, mode: 0o600 });
      await Deno.remove(probe);
      return true;
    } catch {
      return false;
    }
  }

  /** The queue's depth and the age of its oldest mail, reading one envelope at most. */
  async stats(now: number = Date.now()): Promise<QueueStats> {
    const ids = await this.ids();
    for (const id of ids) {
      try {
        const { envelope } = await this.read(id);
        return { depth: ids.length, oldestAgeSeconds: Math.max(0, (now - envelope.queued) / 1000) };
      } catch {
        // delivered meanwhile, or unreadable: the next one is the oldest that counts
      }
    }
    return { depth: ids.length, oldestAgeSeconds: 0 };
  }

  /** The ids in `mail/`, oldest first (ids sort by queue time). */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.mailDir)) {
        if (isQueueId(entry.name)) ids.push(entry.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw new QueueError(`cannot read queue directory ${this.mailDir}: ${osText(error)}`);
    }
    return ids.sort();
  }

  /**
   * Reads an entry without locking it (for listings). With `state: false` the state file
   * is not read and the listing has the state of a mail never tried (a queue run that sends
   * every mail whatever its state reads it once it holds the entry).
   */
  read(id: string, options: { state?: boolean } = {}): Promise<QueueListing> {
    try {
      return Promise.resolve(this.#read(id, options.state ?? true));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #read(id: string, withState: boolean): QueueListing {
    const path = this.#path("mail", id);
    const file = Deno.openSync(path, { read: true });
    try {
      const { line, length } = readLine(file);
      const envelope = decodeEnvelope(line);
      const info = file.statSync();
      const listing = {
        id,
        envelope,
        state: withState ? this.#readState(id) : initialState(),
        size: info.size - length,
      };
      if (info.ino !== null) read.set(listing, { ino: info.ino, dev: info.dev, length });
      return listing;
    } finally {
      file.close();
    }
  }

  #readState(id: string): QueueState {
    const path = this.#path("state", id);
    // most mails have none: a failed stat costs half a failed read
    if (statOrNull(path) === null) return initialState();
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return initialState();
      throw error;
    }
    try {
      return decodeState(text);
    } catch {
      // the state is only bookkeeping (it is replaced atomically, so this takes a hand or a
      // disk fault): the mail itself is fine, so it starts over rather than being set aside
      return { ...initialState(), error: "the state file was unreadable and was reset" };
    }
  }

  /** Every entry, oldest first, and the entries that could not be read. */
  async list(): Promise<{ entries: QueueListing[]; problems: QueueProblem[] }> {
    const entries: QueueListing[] = [];
    const problems: QueueProblem[] = [];
    for (const id of await this.ids()) {
      try {
        entries.push(await this.read(id));
      } catch (error) {
        // delivered and removed by a runner while this listing ran
        if (error instanceof Deno.errors.NotFound) continue;
        problems.push({ id, reason: problemText(error) });
      }
    }
    return { entries, problems };
  }

  /**
   * Locks an entry for delivery. Returns null when another runner holds it or it has just
   * been removed. Throws {@linkcode QueueFormatError} for a corrupt entry and Deno's errors
   * for an unreadable one. `listing`, this spool's {@linkcode Spool.read} of the entry,
   * saves reading the envelope again when the file is still the one it was read from.
   */
  claim(id: string, listing?: QueueListing): Promise<ClaimedEntry | null> {
    try {
      return Promise.resolve(this.#claim(id, listing));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #claim(id: string, listing: QueueListing | undefined): ClaimedEntry | null {
    const path = this.#path("mail", id);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    let released = false;
    /** Where the delivered mail went, to be unlinked once the lock is dropped. */
    let removed: { mail: string; state: string | null } | null = null;
    const release = (): void => {
      if (released) return;
      released = true;
      try {
        file.close(); // closing drops the flock
      } catch {
        // already closed
      }
      if (removed !== null) this.#unlinkLater(removed.mail, removed.state);
    };
    try {
      if (!file.tryLockSync(true)) {
        release();
        return null;
      }
      // Another runner may have delivered and removed it between our open and our lock: it
      // is gone from mail/ then (unlinked, or moved out by a rename). With the listing, the
      // path's file must still be the one listed (ids are never used twice, so ours is it
      // too), and the envelope read then is this file's.
      const known = listing?.id === id ? read.get(listing) : undefined;
      let info: Deno.FileInfo;
      let envelope: QueueEnvelope;
      let length: number;
      /** The file's position, when known: the whole file is read in one go from 0. */
      let position: number | null = 0;
      if (known !== undefined) {
        const now = statOrNull(path);
        if (now === null || now.ino !== known.ino || now.dev !== known.dev) {
          release();
          return null;
        }
        info = now;
        envelope = listing!.envelope;
        length = known.length;
      } else {
        info = file.statSync();
        if (info.nlink === 0 || !this.#stillQueued(path, info)) {
          release();
          return null;
        }
        const line = readLine(file);
        envelope = decodeEnvelope(line.line);
        length = line.length;
        position = null;
      }
      // The state is read when first asked for, or for many held entries at once by
      // readStates(); either way under the lock, which any writer of it holds too.
      let state: QueueState | undefined;
      // attempts > 0 or anything recorded means a state file was read (or may exist)
      let stateWritten = false;
      const resolveState = (listed?: boolean): QueueState => {
        if (state === undefined) {
          state = listed === false ? initialState() : this.#readState(id);
          stateWritten = state.attempts > 0 || state.done.length > 0 ||
            state.error !== undefined;
          stateOf.delete(entry);
        }
        return state;
      };
      const size = info.size - length;
      let whole: Uint8Array | undefined;
      const bytes = (): Uint8Array | null => {
        if (size > CHUNK) return null;
        if (whole === undefined) {
          whole = position === 0
            ? readUpTo(file, length + size).subarray(length)
            : readFrom(file, length, size);
          position = null;
        }
        return whole;
      };
      const statePath = this.#path("state", id);
      const stateDir = `${this.dir}/state`;
      const tmpDir = `${this.dir}/tmp`;
      const entry: ClaimedEntry = {
        id,
        envelope,
        get state(): QueueState {
          return resolveState();
        },
        size,
        message: () => {
          const all = bytes();
          return all !== null ? ReadableStream.from([all]) : streamOpen(file, length, size);
        },
        bytes,
        headers: (limit = 1024 * 1024) => readHeaders(path, length, limit),
        saveState: async (next: QueueState): Promise<void> => {
          const tmp = `${tmpDir}/${id}.state`;
          try {
            const f = await Deno.open(tmp, {
              write: true,
              create: true,
              truncate: true,
              mode: 0o600,
            });
            try {
              await writeAll(f, new TextEncoder().encode(encodeState(next)));
              await f.sync();
            } finally {
              f.close();
            }
            await Deno.rename(tmp, statePath);
            stateWritten = true;
            await fsyncDir(stateDir);
          } catch (error) {
            await removeQuietly(tmp);
            throw new QueueError(
              `cannot update queue entry ${id}: ${osText(error)}`,
              undefined,
              error,
            );
          }
        },
        remove: (): Promise<void> => {
          // The mail leaves the queue by a rename out of mail/ (atomic, and cheap); the file
          // is unlinked once the lock is dropped, in the background: freeing a file costs
          // more than the rest of a delivered mail's bookkeeping together. A crash leaves
          // it in tmp/, where the next run's sweep removes it. No fsync of the directory: if
          // a power cut undoes the rename, the mail is sent again (a duplicate), never lost.
          const trash = `${tmpDir}/${id}${SENT}`;
          try {
            Deno.renameSync(path, trash);
          } catch (error) {
            return Promise.reject(
              new QueueError(`cannot remove queue entry ${id}: ${osText(error)}`, undefined, error),
            );
          }
          // a mail never tried has no state file; not looking for it saves a failed call
          resolveState();
          removed = { mail: trash, state: stateWritten ? statePath : null };
          return Promise.resolve();
        },
        release,
      };
      stateOf.set(entry, resolveState);
      return entry;
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Reads the state of entries this spool holds with one listing of `state/` instead of a
   * look-up each (most mails have no state file, and a look-up that finds nothing costs more
   * than a listing). A state file is only ever written or removed by a runner holding its
   * mail, so a listing taken while the entries are held is the truth for them. A large
   * listing is not repeated on the next call: those entries are looked up one by one.
   */
  readStates(entries: readonly ClaimedEntry[]): void {
    const open = entries.filter((e) => stateOf.has(e));
    if (open.length < 2) return;
    if (this.#stateNames > 64 * open.length) {
      this.#stateNames = 0;
      return;
    }
    const names = new Set<string>();
    try {
      for (const entry of Deno.readDirSync(`${this.dir}/state`)) names.add(entry.name);
    } catch (error) {
      // without the directory no mail has a state; anything else: one by one, as asked
      if (!(error instanceof Deno.errors.NotFound)) return;
    }
    this.#stateNames = names.size;
    for (const entry of open) stateOf.get(entry)?.(names.has(entry.id));
  }

  /** Whether `mail/ID` still names the file `info` describes (it was not moved out). */
  #stillQueued(path: string, info: Deno.FileInfo): boolean {
    if (info.ino === null) return true;
    const now = statOrNull(path);
    return now !== null && now.ino === info.ino && now.dev === info.dev;
  }

  /** Unlinks a delivered mail (and its state) in the background; see {@linkcode Spool.settle}. */
  #unlinkLater(mail: string, state: string | null): void {
    const done = (async () => {
      await removeQuietly(mail);
      if (state !== null) await removeQuietly(state);
    })();
    this.#unlinking.add(done);
    void done.finally(() => this.#unlinking.delete(done));
  }

  /**
   * Waits for the files of delivered mails to be unlinked (they leave `mail/` at once; the
   * unlinking runs in the background while the next mails go out). A queue run ends with it.
   */
  async settle(): Promise<void> {
    while (this.#unlinking.size > 0) await Promise.all([...this.#unlinking]);
  }

  /**
   * Moves an entry that cannot be used to `corrupt/` (under its lock, so no runner is
   * sending it); returns false when it was gone or locked.
   */
  async moveAside(id: string): Promise<boolean> {
    const path = this.#path("mail", id);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      // unreadable: it can still be renamed, the directory is ours
      await this.ensure();
      await Deno.rename(path, this.#path("corrupt", id));
      await fsyncDir(this.mailDir);
      return true;
    }
    try {
      if (!(await file.tryLock(true))) return false;
      await this.ensure();
      await Deno.rename(path, this.#path("corrupt", id));
      try {
        await Deno.rename(this.#path("state", id), this.#path("corrupt", `${id}.state`));
      } catch {
        // no state yet
      }
      await fsyncDir(this.mailDir);
      return true;
    } finally {
      file.close();
    }
  }

  /**
   * Deletes an entry (`--queue-delete`). Returns false when there is no such entry; throws
   * {@linkcode QueueError} when a runner is sending it right now.
   */
  async delete(id: string): Promise<boolean> {
    if (!isQueueId(id)) return false;
    const path = this.#path("mail", id);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw new QueueError(`cannot delete queue entry ${id}: ${osText(error)}`);
    }
    try {
      if (!(await file.tryLock(true))) {
        throw new QueueError(`queue entry ${id} is being delivered right now; try again`);
      }
      await Deno.remove(path);
      await fsyncDir(this.mailDir);
      await removeQuietly(this.#path("state", id));
      return true;
    } finally {
      file.close();
    }
  }

  /**
   * Removes leftovers of crashes: temporary files older than `age` milliseconds, delivered
   * mails not yet unlinked, and state files whose mail is gone. Returns how many files were
   * removed. `ids` is {@linkcode Spool.ids} when the caller has just read it.
   */
  async sweep(now: number = Date.now(), age = 60 * 60 * 1000, ids?: string[]): Promise<number> {
    let removed = 0;
    const mails = new Set(ids ?? await this.ids());
    try {
      for await (const entry of Deno.readDir(`${this.dir}/tmp`)) {
        const path = `${this.dir}/tmp/${entry.name}`;
        if (entry.name.endsWith(SENT) && isQueueId(entry.name.slice(0, -SENT.length))) {
          // out of the queue already (a run that ended before it was unlinked)
          await removeQuietly(path);
          removed++;
          continue;
        }
        const info = await Deno.stat(path).catch(() => null);
        if (info?.mtime && now - info.mtime.getTime() > age) {
          await removeQuietly(path);
          removed++;
        }
      }
      for await (const entry of Deno.readDir(`${this.dir}/state`)) {
        if (isQueueId(entry.name) && !mails.has(entry.name)) {
          await removeQuietly(`${this.dir}/state/${entry.name}`);
          removed++;
        }
      }
    } catch {
      // no queue yet
    }
    return removed;
  }
}

/** One line saying why an entry could not be read. */
export function problemText(error: unknown): string {
  if (error instanceof QueueFormatError) return error.message;
  return osText(error);
}

async function readHeaders(path: string, offset: number, limit: number): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    const buffer = new Uint8Array(Math.min(limit, 1024 * 1024));
    let total = 0;
    while (total < buffer.length) {
      const n = await file.read(buffer.subarray(total));
      if (n === null) break;
      total += n;
      const text = buffer.subarray(0, total);
      const end = headerEnd(text);
      if (end >= 0) return text.slice(0, end);
    }
    const all = buffer.subarray(0, total);
    const end = headerEnd(all);
    return all.slice(0, end >= 0 ? end : total);
  } finally {
    file.close();
  }
}

/** The length of the header block: up to and including the line end before the empty line. */
function headerEnd(bytes: Uint8Array): number {
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    const line = bytes.subarray(lineStart, i);
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return lineStart;
    lineStart = i + 1;
  }
  return -1;
}

/**
 * The default queue directory: `/var/spool/postie` for root, else
 * `$XDG_STATE_HOME/postie/queue` (`~/.local/state/postie/queue`).
 */
export function defaultQueueDirectory(
  uid: number,
  home: string,
  xdgStateHome: string | undefined,
): string {
  if (uid === 0) return "/var/spool/postie";
  return `${xdgStateHome || `${home}/.local/state`}/postie/queue`;
}
