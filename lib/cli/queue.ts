/**
 * The queue on the command line: `queue fallback|always` in sendmail mode, `-q` (once or
 * as a daemon with `-q5m`), `-qI`/`-qR`/`-qS`, `-bp` and the `mailq` name, `--json` and
 * `--queue-delete`. Loaded only on those paths; plain sending never imports it.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import { resolveAccount } from "../config/resolve.ts";
import { type ByteInput, byteStream } from "../byte_source.ts";
import { type IncomingMail, prepareMail } from "../delivery/prepare.ts";
import { ConfigError, PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { formatLogLine } from "../log/log_line.ts";
import { appendLogLine, LogError } from "../log/logfile.ts";
import { logToSyslog } from "../log/syslog.ts";
import type { QueueSelection } from "../queue/format.ts";
import { flushQueue, formatSpan } from "../queue/runner.ts";
import { SmtpDeliverer } from "../queue/smtp_deliverer.ts";
import {
  defaultQueueDirectory,
  type QueueListing,
  type QueueProblem,
  Spool,
} from "../queue/spool.ts";
import { checkAddress } from "../smtp/command.ts";
import { accountSelection, type ParsedArgs } from "./args.ts";
import type { QueueIo } from "./queue_io.ts";

export type { QueueIo } from "./queue_io.ts";

/**
 * The queue directory of an account: `queue_dir`, else `/var/spool/postie` for root and
 * `$XDG_STATE_HOME/postie/queue` (`~/.local/state/postie/queue`) for everyone else.
 */
export function queueDirectory(account: Account | undefined, io: QueueIo): string {
  return account?.settings.queue_dir ??
    defaultQueueDirectory(io.configEnv.uid(), io.configEnv.home(), io.env.XDG_STATE_HOME);
}

/** How a queued mail finds its account again: the command line's choices, recorded. */
export function selectionOf(inv: ParsedArgs, account: Account): QueueSelection {
  const selection: QueueSelection = {};
  // a relative path must still name the same file when the queue runs from elsewhere
  if (inv.configFile !== undefined) selection.configFile = absolute(inv.configFile);
  if (inv.host !== undefined) selection.host = inv.host;
  else if (account.file !== undefined) selection.account = account.name;
  if (inv.overrides.length > 0) {
    selection.overrides = inv.overrides.map((o) => ({
      option: o.option,
      name: o.name,
      arg: o.arg,
    }));
  }
  if (inv.envFile !== undefined) selection.envFile = absolute(inv.envFile);
  if (inv.configFormat !== undefined) selection.configFormat = inv.configFormat;
  return selection;
}

/**
 * Sendmail mode with `queue fallback` or `queue always`: the mail is written to the queue
 * (durably) first; `always` returns then, `fallback` tries to deliver it at once (with
 * the failover accounts) and leaves it queued after a temporary failure, exiting 0. A
 * permanent failure is reported as msmtp reports it, and the mail leaves the queue.
 */
export async function queueMail(
  inv: ParsedArgs,
  account: Account,
  mail: IncomingMail<ByteInput>,
  io: QueueIo,
): Promise<number> {
  const s = account.settings;
  const { from, recipients, message } = await prepareMail(s, mail, {
    ...(inv.fullName === undefined ? {} : { fullName: inv.fullName }),
    hostname: io.configEnv.hostname(),
  });
  // refused before queueing: such an address must never reach the queue or the wire
  checkAddress(from, "mail");
  for (const recipient of recipients) checkAddress(recipient, "rcpt");
  const spool = new Spool(queueDirectory(account, io));
  const dsn = s.dsn_notify === null && s.dsn_return === null
    ? undefined
    : { notify: s.dsn_notify === null ? null : s.dsn_notify.toUpperCase(), ret: s.dsn_return };
  const id = await spool.enqueue(
    {
      from,
      recipients,
      selection: selectionOf(inv, account),
      account: account.name,
      ...(dsn ? { dsn } : {}),
    },
    byteStream(message),
  );
  const print = serialPrinter(io);
  const say = inv.debug ? (line: string) => print.write(line + "\n") : () => {};
  if (s.queue === "always") {
    say(`mail queued as ${id} in ${spool.dir}`);
    await print.flush();
    await log(account, from, recipients, `queued as ${id}`, io);
    return ExitCode.OK;
  }
  const deliverer = new SmtpDeliverer({
    configEnv: io.configEnv,
    env: io.env,
    ...(inv.debug ? { debug: print.write } : {}),
    prompt: true,
  });
  const report = await flushQueue(spool, deliverer, {
    select: { id },
    force: true,
    immediate: true,
    log: say,
  });
  await print.flush();
  if (report.failed.length > 0) {
    // the mail was refused outright: the caller hears it now, as from msmtp, and it is gone
    const error = report.failed[0].error;
    if (error instanceof PostieError) {
      await io.stderr(
        [error.message, ...error.details, `could not send mail (account ${account.name})`]
          .map((line) => `${io.name}: ${line}\n`).join(""),
      );
      return error.exitCode;
    }
    throw error;
  }
  if (report.deferred.includes(id)) {
    const reason = report.errors.get(id) ?? "temporary failure";
    say(`mail queued as ${id} in ${spool.dir}: ${reason}`);
    await log(account, from, recipients, `queued as ${id} after: ${reason}`, io);
  }
  return ExitCode.OK;
}

/** A log line in msmtp's format, with `errormsg='queued as ID …'` and exit code 0. */
async function log(
  account: Account,
  from: string,
  recipients: string[],
  note: string,
  io: QueueIo,
): Promise<void> {
  const s = account.settings;
  if (!s.logfile && !s.syslog) return;
  const line = formatLogLine({
    // a direct account has no one host: msmtp's field says so rather than `socket=`
    host: s.direct ? "direct" : s.host ?? undefined,
    socket: s.socket ?? undefined,
    tls: s.tls,
    auth: s.auth !== "off",
    user: s.user,
    from,
    recipients,
    exitCode: 0,
  }) + ` queue='${note.replace(/[\r\n']/g, "?")}'`;
  if (s.logfile) {
    try {
      await appendLogLine(s.logfile, s.logfile_time_format, line, new Date(), {
        write: (text) => io.stdout(text),
      });
    } catch (error) {
      if (!(error instanceof LogError)) throw error;
      await io.stderr(`${io.name}: ${error.message}\n${io.name}: log info was: ${line}\n`);
    }
  }
  if (s.syslog) await logToSyslog(s.syslog, line, false);
}

/** The queue's account for `-q`, `-bp`, `--queue-delete`: `-a`/`-C` or the default one. */
async function queueAccount(inv: ParsedArgs, io: QueueIo): Promise<Account | undefined> {
  try {
    return (await resolveAccount(accountSelection(inv), io.configEnv)).account;
  } catch (error) {
    // without any configuration the default directory is still the queue
    const chosen = inv.account !== undefined || inv.configFile !== undefined ||
      inv.host !== undefined;
    if (error instanceof ConfigError && !chosen) return undefined;
    throw error;
  }
}

/** `-q`, `-q5m`, `-bp`, `--queue-delete`. */
export async function queueCommand(inv: ParsedArgs, io: QueueIo): Promise<number> {
  const account = await queueAccount(inv, io);
  const spool = new Spool(queueDirectory(account, io));
  switch (inv.mode) {
    case "queue-list":
      return await listQueue(spool, inv, io);
    case "queue-delete": {
      const id = inv.queue.deleteId ?? "";
      if (!(await spool.delete(id))) {
        throw new PostieError(`no queue entry ${id} in ${spool.dir}`, ExitCode.NOINPUT);
      }
      return ExitCode.OK;
    }
    default:
      return await runQueue(spool, inv, io);
  }
}

function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `-bp`/`mailq`: one block per mail, or JSON with `--json`. */
async function listQueue(spool: Spool, inv: ParsedArgs, io: QueueIo): Promise<number> {
  const { entries, problems } = await spool.list();
  const { listMsmtpq } = await import("./msmtpq.ts");
  const legacy = await listMsmtpq(io);
  const now = Date.now();
  if (inv.queue.json) {
    await io.stdout(JSON.stringify(jsonListing(spool, entries, problems, now, legacy)) + "\n");
    return ExitCode.OK;
  }
  const out: string[] = [];
  if (entries.length === 0 && problems.length === 0) {
    out.push(`Mail queue is empty (${spool.dir})`);
  } else {
    out.push(`Mail queue ${spool.dir}: ${entries.length} mail${entries.length === 1 ? "" : "s"}`);
    out.push("ID                          SIZE   AGE  TRIES  SENDER");
    for (const e of entries) {
      const pending = e.envelope.recipients.filter((r) => !e.state.done.includes(r));
      out.push(
        `${e.id}  ${String(e.size).padStart(8)}  ${age(now - e.envelope.queued).padStart(4)}  ` +
          `${String(e.state.attempts).padStart(5)}  <${e.envelope.from}>`,
      );
      for (const r of pending) out.push(`    to <${r}>`);
      if (e.state.error) out.push(`    last error: ${e.state.error}`);
      if (e.state.attempts > 0 && e.state.next > now) {
        out.push(`    next attempt in ${formatSpan(Math.ceil((e.state.next - now) / 1000))}`);
      }
    }
    for (const p of problems) out.push(`${p.id}  unreadable: ${p.reason}`);
  }
  if (legacy !== undefined && legacy.entries.length > 0) {
    out.push(`msmtpq queue ${legacy.dir}: ${legacy.entries.length} mails`);
    for (const e of legacy.entries) {
      out.push(`${e.id}  ${String(e.size).padStart(8)}  msmtp ${e.args.join(" ")}`);
    }
  }
  await io.stdout(out.map((l) => l + "\n").join(""));
  return ExitCode.OK;
}

function jsonListing(
  spool: Spool,
  entries: QueueListing[],
  problems: QueueProblem[],
  now: number,
  legacy: Awaited<ReturnType<typeof import("./msmtpq.ts").listMsmtpq>>,
): unknown {
  return {
    queue_dir: spool.dir,
    count: entries.length,
    entries: entries.map((e) => ({
      id: e.id,
      size: e.size,
      queued: new Date(e.envelope.queued).toISOString(),
      age_seconds: Math.floor((now - e.envelope.queued) / 1000),
      account: e.envelope.account,
      sender: e.envelope.from,
      recipients: e.envelope.recipients.filter((r) => !e.state.done.includes(r)),
      done: e.state.done,
      attempts: e.state.attempts,
      next_attempt: e.state.next > 0 ? new Date(e.state.next).toISOString() : null,
      last_error: e.state.error ?? null,
      notification: e.envelope.bounce === true,
    })),
    problems,
    ...(legacy === undefined ? {} : {
      msmtpq: {
        queue_dir: legacy.dir,
        entries: legacy.entries.map((e) => ({ id: e.id, size: e.size, args: e.args })),
      },
    }),
  };
}

/** `-q` once (every mail now, back-off ignored) or `-q<interval>` as a daemon. */
async function runQueue(spool: Spool, inv: ParsedArgs, io: QueueIo): Promise<number> {
  const print = serialPrinter(io);
  const log = (line: string): void => {
    if (inv.debug) print.write(line + "\n");
  };
  const deliverer = () =>
    new SmtpDeliverer({
      configEnv: io.configEnv,
      env: io.env,
      ...(inv.debug ? { debug: print.write } : {}),
    });
  const select = inv.queue.select;
  try {
    if (inv.queue.interval === undefined) {
      await flushQueue(spool, deliverer(), { select, force: true, log });
      const { flushMsmtpq } = await import("./msmtpq.ts");
      await flushMsmtpq(io, log);
      return ExitCode.OK;
    }
    const { runDaemon } = await import("./queue_daemon.ts");
    await runDaemon(spool, deliverer, inv.queue.interval, { select, log, io });
    return ExitCode.OK;
  } finally {
    await print.flush();
  }
}

/** Writes to standard output in call order, without waiting at each call. */
function serialPrinter(io: QueueIo): { write: (text: string) => void; flush: () => Promise<void> } {
  let pending = Promise.resolve();
  return {
    write: (text: string): void => {
      pending = pending.then(() => io.stdout(text)).catch(() => {});
    },
    flush: () => pending,
  };
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}
