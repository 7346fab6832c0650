/**
 * postie as msmtpq: invoked through a link named `msmtpq` it queues the mail in msmtpq's
 * queue, tries to send it at once and keeps it on failure, as the script does (without
 * its ping test: the server itself is the test). `msmtpq --q-mgmt OP` and a link named
 * `msmtp-queue` manage the queue with msmtp-queue's options: `-r` send all, `-R` send
 * chosen mails, `-d` list (the default), `-p` purge chosen mails, `-a` purge all, `-h`.
 *
 * Queued mails go out through postie's own sendmail mode with the arguments msmtpq
 * recorded; `postie -q` and `-bp` also flush and list this queue.
 *
 * @module
 */

import { ExitCode } from "../exit.ts";
import {
  addMsmtpqEntry,
  listMsmtpqQueue,
  lockMsmtpqQueue,
  msmtpqDirectory,
  type MsmtpqEntry,
  removeMsmtpqEntry,
} from "../queue/msmtpq.ts";
import type { QueueIo } from "./queue_io.ts";

/** What msmtpq needs: the I/O and postie's sendmail mode as a function. */
export type MsmtpqIo = QueueIo;

function dirOf(io: QueueIo): string {
  return msmtpqDirectory((name) => io.env[name], io.configEnv.home());
}

/** The msmtpq queue for `-bp`; undefined when there is none. */
export async function listMsmtpq(
  io: QueueIo,
): Promise<{ dir: string; entries: MsmtpqEntry[] } | undefined> {
  const dir = dirOf(io);
  const entries = await listMsmtpqQueue(dir);
  return entries === undefined ? undefined : { dir, entries };
}

async function mailStream(path: string): Promise<ReadableStream<Uint8Array>> {
  return (await Deno.open(path, { read: true })).readable;
}

/** Sends one queued msmtpq mail; removes it after success. Returns the exit code. */
async function sendEntry(
  dir: string,
  entry: MsmtpqEntry,
  io: MsmtpqIo,
  log: (line: string) => void,
): Promise<number> {
  const result = await io.sendmail(entry.args, await mailStream(entry.mailPath));
  if (result.code === 0) {
    await removeMsmtpqEntry(dir, entry.id);
    log(`mail [ ${entry.id} ] from queue ; send was successful ; purged from queue`);
  } else {
    const why = result.stderr.split("\n").find((l) => l !== "") ?? "";
    log(
      `mail [ ${entry.id} ] from queue ; send failed ; msmtp rc = ${result.code}` +
        (why ? ` (${why})` : ""),
    );
  }
  return result.code;
}

/** `postie -q` for msmtpq's queue: sends every mail in it, under its lock. */
export async function flushMsmtpq(io: MsmtpqIo, log: (line: string) => void): Promise<void> {
  const dir = dirOf(io);
  const entries = await listMsmtpqQueue(dir);
  if (entries === undefined || entries.length === 0) return;
  const unlock = await lockMsmtpqQueue(dir);
  try {
    for (const entry of (await listMsmtpqQueue(dir)) ?? []) await sendEntry(dir, entry, io, log);
  } finally {
    await unlock();
  }
}

const USAGE = [
  "",
  "usage : msmtp-queue functions",
  "",
  "        msmtp-queue < op >",
  "        ops : -r   run (flush) mail queue - all mail in queue",
  "              -R   send selected individual mail(s) in queue",
  "              -d   display (list) queue contents   (<-- default)",
  "              -p   purge individual mail(s) from queue",
  "              -a   purge all mail in queue",
  "              -h   this helpful blurt",
  "",
  "        ( one op only ; any others ignored )",
  "",
];

/** Reads answers line by line from standard input. */
class Answers {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = "";
  #decoder = new TextDecoder();
  constructor(stdin: ReadableStream<Uint8Array>) {
    this.#reader = stdin.getReader();
  }
  async line(): Promise<string | null> {
    for (;;) {
      const lf = this.#buffer.indexOf("\n");
      if (lf >= 0) {
        const line = this.#buffer.slice(0, lf);
        this.#buffer = this.#buffer.slice(lf + 1);
        return line.trim();
      }
      const { value, done } = await this.#reader.read();
      if (done) {
        if (this.#buffer === "") return null;
        const rest = this.#buffer;
        this.#buffer = "";
        return rest.trim();
      }
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }
}

/** The From, To and Subject lines of a queued mail, as msmtpq's listing greps them. */
async function summary(path: string): Promise<string[]> {
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(64 * 1024);
    const n = (await file.read(buffer)) ?? 0;
    const text = new TextDecoder().decode(buffer.subarray(0, n));
    return text.split(/\r?\n/).filter((l) => /^(From|To|Subject):/.test(l)).slice(0, 3);
  } finally {
    file.close();
  }
}

/**
 * Runs postie as `msmtpq` (send, queue on failure) or as `msmtp-queue`/`msmtpq --q-mgmt`
 * (manage the queue). Returns the exit code.
 */
export async function runMsmtpq(argv: string[], io: MsmtpqIo, manage: boolean): Promise<number> {
  const quiet = io.env.EMAIL_QUEUE_QUIET !== undefined && io.env.EMAIL_QUEUE_QUIET !== "";
  const logFile = io.env.MSMTPQ_LOG ?? io.env.LOG;
  const out = async (lines: string[]): Promise<void> => {
    await io.stdout(lines.map((l) => (l === "" ? "\n" : `  ${l}\n`)).join(""));
  };
  const log = async (line: string): Promise<void> => {
    if (!quiet) await out([line]);
    if (logFile) {
      const now = new Date();
      const stamp = `${now.getFullYear()} ${String(now.getDate()).padStart(2, "0")} ` +
        `${now.toLocaleString("en-US", { month: "short" })} ${now.toTimeString().slice(0, 8)}`;
      await Deno.writeTextFile(logFile, `${stamp} : ${line}\n`, { append: true }).catch(() => {});
    }
  };
  const syncLog = (line: string): void => void log(line);
  const dir = dirOf(io);
  if (!manage) {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const unlock = await lockMsmtpqQueue(dir);
    try {
      const id = await addMsmtpqEntry(dir, argv, io.stdin);
      const entry = (await listMsmtpqQueue(dir))?.find((e) => e.id === id);
      const words = argv.join(" ");
      if (entry === undefined) return ExitCode.OK;
      const result = await io.sendmail(entry.args, await mailStream(entry.mailPath));
      if (result.code === 0) {
        await removeMsmtpqEntry(dir, id);
        await log(`mail for [ ${words} ] : send was successful`);
        // as msmtpq does after a successful send: the rest of the queue goes too
        for (const other of (await listMsmtpqQueue(dir)) ?? []) {
          await sendEntry(dir, other, io, syncLog);
        }
      } else {
        await log(
          `mail for [ ${words} ] : send was unsuccessful ; msmtp exit code was ${result.code}`,
        );
        await log(`enqueued mail as : [ ${id} ] ( ${words} )`);
      }
    } finally {
      await unlock();
    }
    return ExitCode.OK;
  }
  const op = (argv[0] ?? "-d").slice(1);
  const answers = new Answers(io.stdin);
  const entries = async (): Promise<MsmtpqEntry[]> => (await listMsmtpqQueue(dir)) ?? [];
  const display = async (list: MsmtpqEntry[]): Promise<void> => {
    let n = 0;
    for (const e of list) {
      n++;
      await out(["", `mail  num=[ ${n} ]  id=[ ${e.id} ]`]);
      await io.stdout((await summary(e.mailPath)).map((l) => l + "\n").join(""));
    }
    await io.stdout("\n");
  };
  switch (op) {
    case "r": {
      const list = await entries();
      if (list.length === 0) {
        await out(["", "mail queue is empty (nothing to send)", ""]);
        return ExitCode.OK;
      }
      const unlock = await lockMsmtpqQueue(dir);
      try {
        for (const e of list) await sendEntry(dir, e, io, syncLog);
      } finally {
        await unlock();
      }
      return ExitCode.OK;
    }
    case "d":
    case "": {
      const list = await entries();
      if (list.length === 0) {
        await out(["", "no mail in queue", ""]);
        return ExitCode.OK;
      }
      await display(list);
      return ExitCode.OK;
    }
    case "a": {
      const list = await entries();
      if (list.length === 0) {
        await out(["", "mail queue is empty (nothing to purge)", ""]);
        return ExitCode.OK;
      }
      await display(list);
      await out(["remove (purge) all mail from the queue"]);
      await io.stdout("  ok [y/N] ..: ");
      const answer = (await answers.line()) ?? "";
      if (answer === "y" || answer === "Y") {
        const unlock = await lockMsmtpqQueue(dir);
        try {
          for (const e of list) await removeMsmtpqEntry(dir, e.id);
        } finally {
          await unlock();
        }
        await log("msmtp queue purged (all mail)");
      } else {
        await out(["", "nothing done ; queue is untouched", ""]);
      }
      return ExitCode.OK;
    }
    case "R":
    case "p": {
      const verb = op === "R" ? "send" : "purge";
      for (let round = 0; round < 10_000; round++) {
        const list = await entries();
        if (list.length === 0) {
          await out(["", `mail queue is empty (nothing to ${verb})`, ""]);
          return ExitCode.OK;
        }
        await display(list);
        let chosen: MsmtpqEntry | undefined = list.length === 1 ? list[0] : undefined;
        if (chosen === undefined) {
          await out([`enter mail number or id to ${verb}`]);
          await io.stdout("    ( <cr> alone to exit ) ..: ");
          const answer = await answers.line();
          if (answer === null || answer === "") return ExitCode.OK;
          chosen = /^[0-9]+$/.test(answer)
            ? list[Number(answer) - 1]
            : list.find((e) => e.id === answer);
          if (chosen === undefined) {
            await out(["", `[ ${answer} ] is neither a valid mail id nor a valid mail number`, ""]);
            continue;
          }
        }
        await out(["", `${verb} :`, `  id=[ ${chosen.id} ]`, ""]);
        await io.stdout("  ok [Y/n] ..: ");
        const ok = (await answers.line()) ?? "n";
        if (ok === "" || ok === "y" || ok === "Y") {
          const unlock = await lockMsmtpqQueue(dir);
          try {
            if (op === "p") {
              await removeMsmtpqEntry(dir, chosen.id);
              await log(`mail [ ${chosen.id} ] purged from queue`);
            } else {
              await sendEntry(dir, chosen, io, syncLog);
            }
          } finally {
            await unlock();
          }
        } else {
          await out(["", "nothing done to this queued email"]);
          if (list.length === 1) return ExitCode.OK;
        }
        if (list.length === 1) return ExitCode.OK;
      }
      return ExitCode.OK;
    }
    case "h":
      await out(USAGE);
      return ExitCode.OK;
    default:
      await out([...USAGE, `[ -${op} ] is an unknown msmtp-queue option`, ""]);
      return 1;
  }
}
