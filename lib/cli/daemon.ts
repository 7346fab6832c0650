/**
 * The relay's command-line modes: `-bd` (listen, queue, send upstream), `-bs` (one SMTP
 * session on standard input and output), `--health` and `--hash-password`. The relay
 * itself is lib/relay; this file turns the chosen account's settings into its options,
 * prints one line per mail, and runs postie's queue (lib/queue), into which the relay
 * puts every mail it accepts, prepared for the account the sender selects.
 *
 * @module
 */

import { ConfigError, PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import type { Settings } from "../config/account.ts";
import { DEFAULT_SETTINGS } from "../config/account.ts";
import { type Env, resolveAccount } from "../config/resolve.ts";
import { accountSelection, type ParsedArgs } from "./args.ts";
import type { ListenAddress, MailEvent, Relay, RelayOptions } from "../relay/server.ts";
import type { RelayMetrics } from "../relay/metrics.ts";

/** The default listening address: sendmail's and msmtpd's. */
export const DEFAULT_LISTEN = "127.0.0.1:25";

/**
 * The longest wait between two runs of the queue inside `-bd` (Postfix's
 * `queue_run_delay`); runs also start right after a mail is accepted and when a deferred
 * mail's back-off ends.
 */
const RUN_INTERVAL_MS = 300_000;

/** The settings the relay starts with: the account `-a` (or `default`) names. */
async function relaySettings(inv: ParsedArgs, io: DaemonIo): Promise<Settings> {
  try {
    const { account } = await resolveAccount(accountSelection(inv), io.configEnv);
    return account.settings;
  } catch (error) {
    // without any configuration the listener still runs on its defaults; a broken file
    // is an error
    if (error instanceof ConfigError && /not found|no configuration file/.test(error.message)) {
      return { ...DEFAULT_SETTINGS };
    }
    throw error;
  }
}

async function parseAddress(text: string, setting: string): Promise<ListenAddress> {
  const { parseHostPort } = await import("../config/networks.ts");
  try {
    return parseHostPort(text, 25);
  } catch (error) {
    throw new ConfigError(`${setting}: ${(error as Error).message}`);
  }
}

async function listenAddresses(inv: ParsedArgs, s: Settings): Promise<ListenAddress[]> {
  const list = inv.listen.length > 0
    ? inv.listen
    : (s.listen ?? DEFAULT_LISTEN).split(/[\s,]+/).filter((t) => t !== "");
  return await Promise.all(list.map((t) => parseAddress(t, "listen")));
}

async function readFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The relay's options from the settings (everything but the sink and the callbacks). */
async function relayOptions(
  s: Settings,
  listen: ListenAddress[],
  io: DaemonIo,
): Promise<Omit<RelayOptions, "sink">> {
  const { parseNetworks, LOOPBACK_NETWORKS } = await import("../config/networks.ts");
  if ((s.listen_tls_cert_file === null) !== (s.listen_tls_key_file === null)) {
    throw new ConfigError("listen_tls_cert_file and listen_tls_key_file must be set together");
  }
  const tls = s.listen_tls_cert_file !== null && s.listen_tls_key_file !== null
    ? {
      cert: await readFile(s.listen_tls_cert_file, "listen_tls_cert_file"),
      key: await readFile(s.listen_tls_key_file, "listen_tls_key_file"),
    }
    : undefined;
  let users;
  if (s.listen_users !== null) {
    const { loadUsers } = await import("../relay/users.ts");
    users = await loadUsers(s.listen_users);
  }
  const patterns = (text: string | null): string[] =>
    (text ?? "").split(/[\s,]+/).filter((p) => p !== "");
  return {
    listen,
    name: io.configEnv.hostname(),
    ...(tls ? { tls } : {}),
    ...(users ? { users } : {}),
    allow: parseNetworks(s.listen_allow ?? LOOPBACK_NETWORKS),
    allowFrom: patterns(s.listen_allow_from),
    allowRcpt: patterns(s.listen_allow_rcpt),
    maxSize: s.listen_max_size,
    maxRecipients: s.listen_max_recipients,
    maxConnections: s.listen_max_connections,
    idleTimeoutMs: s.listen_idle_timeout * 1000,
    ratePerMinute: s.listen_rate,
    bareNewlines: s.listen_bare_newlines,
  };
}

/** One log line for a mail: `accepted`/`refused` with its envelope and client. */
export function formatMailEvent(event: MailEvent): string {
  const parts = [
    event.outcome,
    ...(event.id ? [`id=${event.id}`] : []),
    ...(event.reason ? [`reason=${event.reason}`] : []),
    `from=<${event.from ?? ""}>`,
    `to=${event.recipients.map((r) => `<${r}>`).join(",")}`,
    ...(event.size === undefined ? [] : [`size=${event.size}`]),
    `client=${event.client}`,
    ...(event.user ? [`user=${event.user}`] : []),
    `reply="${event.reply.replace(/["\\]/g, "_")}"`,
  ];
  return parts.join(" ");
}

/** The queue runner's deliverer: each mail through the account recorded when it was queued. */
async function deliverer(io: DaemonIo, debug?: (text: string) => void) {
  const { SmtpDeliverer } = await import("../queue/smtp_deliverer.ts");
  return () =>
    new SmtpDeliverer({ configEnv: io.configEnv, env: io.env, ...(debug ? { debug } : {}) });
}

/**
 * One line at a time to standard error, in order: the writes of concurrent sessions never
 * overlap, and a closed standard error never stops the relay.
 */
function lineLogger(io: DaemonIo): ((line: string) => void) & { flush(): Promise<void> } {
  let chain = Promise.resolve();
  const log = (line: string): void => {
    const text = `${stamp()} postie: ${line}\n`;
    chain = chain.then(() => io.stderr(text)).catch(() => {});
  };
  return Object.assign(log, { flush: () => chain });
}

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** What a relay mode reads and writes (the command line's I/O, as in run.ts). */
export interface DaemonIo {
  /** The environment. */
  env: Readonly<Record<string, string>>;
  /** Files, host name, uid, password commands. */
  configEnv: Env;
  /** Standard input. */
  stdin: ReadableStream<Uint8Array>;
  /** Writes text to standard output. */
  stdout(text: string): Promise<void>;
  /** Writes text to standard error. */
  stderr(text: string): Promise<void>;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
  stopSignal?: Promise<string>;
  /** Overrides of the relay's policy and log (the msmtpd personality). */
  relayPolicy?: Partial<RelayOptions>;
}

/** Resolves with the name of the first SIGTERM or SIGINT. */
export function stopSignal(): Promise<string> {
  return signalPromise();
}

function signalPromise(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
}

/** The queue directory of the relay's account: `queue_dir`, else the queue's default. */
async function queueDir(s: Settings, io: DaemonIo): Promise<string> {
  const { defaultQueueDirectory } = await import("../queue/spool.ts");
  return s.queue_dir ??
    defaultQueueDirectory(io.configEnv.uid(), io.configEnv.home(), io.env.XDG_STATE_HOME);
}

/** Opens the queue of the relay's account (created when missing) and its sink. */
async function openQueue(inv: ParsedArgs, s: Settings, io: DaemonIo) {
  const { Spool } = await import("../queue/spool.ts");
  const { QueueSink } = await import("../relay/queue_sink.ts");
  const dir = await queueDir(s, io);
  const spool = new Spool(dir);
  try {
    await spool.ensure();
  } catch (error) {
    throw new PostieError(
      `cannot use queue directory ${dir}: ${(error as Error).message}`,
      ExitCode.CANTCREAT,
    );
  }
  return {
    spool,
    sink: new QueueSink({ spool, selection: accountSelection(inv), configEnv: io.configEnv }),
  };
}

/**
 * `-bd`: listens, queues, sends upstream; runs until SIGTERM or SIGINT, then stops
 * accepting, lets the transactions in progress finish and returns 0.
 */
export async function runDaemon(inv: ParsedArgs, io: DaemonIo): Promise<number> {
  const s = await relaySettings(inv, io);
  const listen = await listenAddresses(inv, s);
  const base = await relayOptions(s, listen, io);
  const { spool, sink } = await openQueue(inv, s, io);
  const { startRelay } = await import("../relay/server.ts");
  const { startScheduler } = await import("../queue/scheduler.ts");
  const { RelayMetrics, serveMetrics } = await import("../relay/metrics.ts");
  const metrics: RelayMetrics = new RelayMetrics();
  const log = lineLogger(io);
  const scheduler = startScheduler(spool, {
    deliverer: await deliverer(io),
    intervalMs: RUN_INTERVAL_MS,
    log,
    onReport(report) {
      metrics.delivered += report.delivered.length;
      metrics.deferred += report.deferred.length;
      metrics.bounced += report.bounced.length;
      metrics.upstreamErrors += report.deferred.length + report.bounced.length;
    },
  });
  let relay: Relay;
  try {
    relay = await startRelay({
      ...base,
      sink,
      metrics,
      onQueued: () => scheduler.wake(),
      onMail: (event) => log(formatMailEvent(event)),
      ...io.relayPolicy,
    });
  } catch (error) {
    await scheduler.stop();
    throw new PostieError(
      `cannot listen: ${(error as Error).message}`,
      ExitCode.OSERR,
    );
  }
  let metricsServer: { close(): Promise<void> } | undefined;
  if (s.metrics_listen !== null) {
    const address = await parseAddress(s.metrics_listen, "metrics_listen");
    metricsServer = serveMetrics(
      address.hostname,
      address.port,
      metrics,
      () => spool.stats(),
      () => spool.writable(),
    );
  }
  log(
    `listening on ${relay.addresses.map((a) => `${a.hostname}:${a.port}`).join(", ")}; ` +
      `queue ${spool.dir}`,
  );
  const signal = await (io.stopSignal ?? signalPromise());
  log(`${signal}: no new connections; finishing the sessions in progress`);
  await relay.close(Math.min(30_000, s.listen_idle_timeout * 1000));
  await scheduler.stop();
  await metricsServer?.close();
  log("stopped");
  await log.flush();
  return ExitCode.OK;
}

/**
 * `--health`: exits 0 when the first listening address greets with 220 within 5 s and
 * the spool is writable; otherwise says why and returns EX_UNAVAILABLE.
 */
export async function runHealth(inv: ParsedArgs, io: DaemonIo): Promise<number> {
  const s = await relaySettings(inv, io);
  const [address] = await listenAddresses(inv, s);
  const problem = await greetingProblem(address);
  if (problem !== undefined) {
    await io.stderr(`postie: unhealthy: ${address.hostname}:${address.port}: ${problem}\n`);
    return ExitCode.UNAVAILABLE;
  }
  const { Spool } = await import("../queue/spool.ts");
  const spool = new Spool(await queueDir(s, io));
  if (!(await spool.writable())) {
    await io.stderr(`postie: unhealthy: queue ${spool.dir} is not writable\n`);
    return ExitCode.UNAVAILABLE;
  }
  return ExitCode.OK;
}

async function greetingProblem(address: ListenAddress): Promise<string | undefined> {
  const hostname = address.hostname === "0.0.0.0"
    ? "127.0.0.1"
    : address.hostname === "::"
    ? "::1"
    : address.hostname;
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), 5000);
  try {
    conn = await Deno.connect({ hostname, port: address.port });
    const buffer = new Uint8Array(512);
    let text = "";
    while (!/^\d{3} .*\r?\n/m.test(text)) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    await conn.write(new TextEncoder().encode("QUIT\r\n")).catch(() => 0);
    if (!text.startsWith("220")) return `no 220 greeting (${text.trim() || "nothing"})`;
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
  }
}

/** `--hash-password`: reads a password (first line of standard input) and prints its hash. */
export async function runHashPassword(io: DaemonIo): Promise<number> {
  const reader = io.stdin.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n") && text.length < 4096) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const password = text.split("\n")[0].replace(/\r$/, "");
  if (password === "") {
    throw new PostieError("no password on standard input", ExitCode.NOINPUT);
  }
  const { hashPassword } = await import("../relay/users.ts");
  await io.stdout(`${await hashPassword(password)}\n`);
  return ExitCode.OK;
}

/**
 * `-bs`: one SMTP session on standard input and output; the client is trusted as a
 * local user. Mail is queued, then the mails of this session are sent before returning;
 * what cannot be sent stays in the queue for the next queue run.
 */
export async function runSmtpStdio(inv: ParsedArgs, io: DaemonIo): Promise<number> {
  const s = await relaySettings(inv, io);
  const base = await relayOptions(s, [], io);
  const { spool, sink } = await openQueue(inv, s, io);
  const { startRelay } = await import("../relay/server.ts");
  const { stdioDuplex } = await import("../relay/stdio.ts");
  const accepted: string[] = [];
  const relay = await startRelay({
    ...base,
    sink,
    ...io.relayPolicy,
    onQueued: (id) => accepted.push(id),
  });
  const duplex = stdioDuplex();
  relay.serve(duplex.stream, "127.0.0.1");
  await duplex.closed;
  await relay.close(0);
  const { flushQueue } = await import("../queue/runner.ts");
  const make = await deliverer(io);
  for (const id of accepted) await flushQueue(spool, make(), { select: { id }, force: true });
  return ExitCode.OK;
}
