/**
 * A private, throw-away Postfix instance on loopback for interoperability tests.
 *
 * {@linkcode startPostfix} writes its own `main.cf` and `master.cf` into a temporary
 * directory (queue, data, mail store, TLS files and log all live there too), runs Postfix's
 * `master` in the foreground as a child process and stops it by its PID. It neither reads
 * nor changes `/etc/postfix`, and it never touches a system instance on port 25.
 *
 * Every recipient domain is a virtual mailbox domain, so the server accepts mail for any
 * address from loopback and stores every copy in one Maildir; {@linkcode Postfix.mailbox}
 * picks one recipient's copies by their `Delivered-To` header. Two local parts are refused
 * at `RCPT TO` so that tests can provoke server errors:
 *
 * - `rejected@…` gets `550 5.1.1` (permanent),
 * - `deferred@…` gets `451 4.3.0` (temporary).
 *
 * Postfix must be installed (see `scripts/postfix_packages.txt`) and the tests must run as
 * root, since Postfix's `master` refuses anything else; {@linkcode postfixUnavailable} tells
 * why a test should be skipped.
 *
 * With `sasl`, SMTP AUTH is offered through a private Dovecot (see `dovecot.ts`, which
 * {@linkcode saslUnavailable} checks as well) on `port` and on two more submission ports,
 * listed in {@linkcode Postfix.sasl}.
 *
 * @module
 */

import { type Dovecot, dovecotUnavailable, type DovecotUser, startDovecot } from "./dovecot.ts";
import { createTestPki } from "./pki.ts";
import { canConnect, delay, freePort, killOnExit, userIds } from "./process.ts";

/** The Postfix control program whose presence marks Postfix as installed. */
export const POSTFIX_BINARY = "/usr/sbin/postfix";

const DAEMON_DIRECTORY = "/usr/lib/postfix/sbin";

/** Options of {@linkcode startPostfix}. */
export interface PostfixOptions {
  /**
   * Offer STARTTLS (`smtpd_tls_security_level = may`) with a leaf certificate for
   * `DNS:localhost, IP:127.0.0.1` signed by a test CA. Default `true`; plain clients are
   * served either way.
   */
  tls?: boolean;
  /**
   * The loopback address smtpd listens on; default `127.0.0.1`. Direct-delivery tests run
   * mail hosts on 127.0.0.2, 127.0.0.3, … port 25.
   */
  address?: string;
  /** The port; by default a free high port. */
  port?: number;
  /**
   * The server certificate and key (PEM files) instead of the test PKI's `localhost` one,
   * e.g. one for the MX host name.
   */
  certificate?: { cert: string; key: string };
  /** How long to wait for the SMTP port to accept connections, in ms. Default 10000. */
  startTimeoutMs?: number;
  /**
   * Offer SMTP AUTH through a private Dovecot (`smtpd_sasl_type = dovecot`): `true` for the
   * default account `alice` / `secret`, or the accounts to create. Default: no AUTH.
   */
  sasl?: boolean | PostfixSaslOptions;
}

/** The SASL part of {@linkcode PostfixOptions}. */
export interface PostfixSaslOptions {
  /** The accounts, `{PLAIN}` in Dovecot's passwd-file. Default `alice` / `secret`. */
  users?: DovecotUser[];
}

/**
 * Where a SASL-enabled instance offers AUTH. Every port offers STARTTLS when `tls` is on;
 * failed logins are answered at once (no error sleep, no Dovecot failure delay).
 */
export interface PostfixSasl {
  /**
   * The main `port`: AUTH with every Dovecot mechanism (PLAIN, LOGIN, CRAM-MD5,
   * SCRAM-SHA-1, SCRAM-SHA-256), with or without TLS (`smtpd_tls_auth_only = no`).
   */
  port: number;
  /** AUTH only after STARTTLS (`smtpd_tls_auth_only = yes`); never without `tls`. */
  tlsOnlyPort: number;
  /** AUTH offering only PLAIN and LOGIN (`smtpd_sasl_mechanism_filter`), TLS or not. */
  plainLoginPort: number;
  /** The Dovecot behind them: its log records every AUTH request's mechanism. */
  dovecot: Dovecot;
}

/** Options of {@linkcode Postfix.mailbox}. */
export interface MailboxOptions {
  /**
   * Wait until at least this many messages were delivered to the address. Default 1.
   * With 0, wait instead until Postfix has nothing left in its incoming and active queues.
   */
  count?: number;
  /** Give up after this many ms with an error that quotes the mail log. Default 5000. */
  timeoutMs?: number;
}

/** A running private Postfix instance; call {@linkcode Postfix.stop} when done. */
export interface Postfix {
  /** Where smtpd listens (`address`, 127.0.0.1 by default). */
  host: string;
  /** The free high port smtpd listens on. */
  port: number;
  /** PEM file of the test CA that signed the server certificate (made even without TLS). */
  caFile: string;
  /** The temporary directory holding the whole instance. */
  dir: string;
  /** Postfix's log (`maillog_file`), for debugging. */
  logFile: string;
  /** The AUTH ports and the Dovecot behind them; only when started with `sasl`. */
  sasl?: PostfixSasl;
  /**
   * Waits (bounded) for mail delivered to `address` and returns every such message's raw
   * text, oldest first, including the trace headers Postfix put on top (`Return-Path`,
   * `X-Original-To`, `Delivered-To`, `Received`; see {@linkcode stripTraceHeaders}).
   * The address is compared case-insensitively with each copy's `Delivered-To` header.
   */
  mailbox(address: string, options?: MailboxOptions): Promise<string[]>;
  /** The mail log so far. */
  log(): Promise<string>;
  /** Stops every Postfix process of this instance and deletes its directory. */
  stop(): Promise<void>;
}

/**
 * Tells why the Postfix fixture cannot run here, or `undefined` if it can: Postfix must be
 * installed and the process must run as root.
 *
 * @example Usage
 * ```ts
 * import { postfixUnavailable } from "./postfix.ts";
 * Deno.test({ name: "…", ignore: postfixUnavailable() !== undefined, fn() {} });
 * ```
 */
export function postfixUnavailable(): string | undefined {
  try {
    Deno.statSync(POSTFIX_BINARY);
    Deno.statSync(`${DAEMON_DIRECTORY}/master`);
  } catch {
    return `${POSTFIX_BINARY} is missing: install the packages in scripts/postfix_packages.txt`;
  }
  if (Deno.uid() !== 0) return "Postfix's master daemon must run as root";
  return undefined;
}

/**
 * Tells why a Postfix with SASL (`startPostfix({ sasl: true })`) cannot run here, or
 * `undefined` if it can: Postfix's and Dovecot's conditions together.
 *
 * @example Usage
 * ```ts
 * import { saslUnavailable } from "./postfix.ts";
 * Deno.test({ name: "…", ignore: saslUnavailable() !== undefined, fn() {} });
 * ```
 */
export function saslUnavailable(): string | undefined {
  return postfixUnavailable() ?? dovecotUnavailable();
}

/**
 * Removes the trace headers Postfix puts on top of a delivered message (`Return-Path`,
 * `X-Original-To`, `Delivered-To` and the first `Received` with its continuation lines),
 * which leaves what the client sent after `DATA`, in the Maildir's LF line endings.
 */
export function stripTraceHeaders(raw: string): string {
  const lines = raw.split("\n");
  let i = 0;
  const take = (name: string): void => {
    if (i < lines.length && lines[i].toLowerCase().startsWith(`${name}:`)) {
      i++;
      while (i < lines.length && /^[ \t]/.test(lines[i])) i++;
    }
  };
  take("return-path");
  take("x-original-to");
  take("delivered-to");
  take("received");
  return lines.slice(i).join("\n");
}

/** Queue subdirectories, their modes and groups, as in Postfix's `postfix-files`. */
const QUEUE_DIRECTORIES: [string, number, "root" | "postdrop"][] = [
  ...["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming"]
    .map((sub): [string, number, "root"] => [sub, 0o700, "root"]),
  ["private", 0o700, "root"],
  ["saved", 0o700, "root"],
  ["trace", 0o700, "root"],
  ["maildrop", 0o730, "postdrop"],
  ["public", 0o710, "postdrop"],
  ["pid", 0o755, "root"],
];

function groupId(name: string): number {
  for (const line of Deno.readTextFileSync("/etc/group").split("\n")) {
    const fields = line.split(":");
    if (fields[0] === name) return Number(fields[2]);
  }
  throw new Error(`the ${name} group does not exist`);
}

function mainCf(
  dir: string,
  tls: boolean,
  mailUid: number,
  mailGid: number,
  authSocket?: string,
): string {
  const lines = [
    "# Private Postfix instance of postie's tests; everything lives in this directory.",
    "compatibility_level = 3.6",
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    "mail_owner = postfix",
    "setgid_group = postdrop",
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    "myhostname = mx.postie.test",
    "mydomain = postie.test",
    "myorigin = postie.test",
    // 127.0.0.2 and the like are not interface addresses, which inet_interfaces insists on;
    // the smtpd service in master.cf names its own address.
    "inet_interfaces = 127.0.0.1",
    "inet_protocols = ipv4",
    "mynetworks = 127.0.0.0/8",
    // Every domain (postie.test, localhost, anything else) is a virtual mailbox domain
    // whose mail goes into one Maildir; mydestination must then not list any of them.
    "mydestination =",
    "virtual_mailbox_domains = static:all",
    `virtual_mailbox_base = ${dir}/mail`,
    "virtual_mailbox_maps = static:maildir/",
    `virtual_uid_maps = static:${mailUid}`,
    `virtual_gid_maps = static:${mailGid}`,
    "alias_maps =",
    "alias_database =",
    "biff = no",
    // Keep what the client sent: no header rewriting, no added Date/Message-ID/From.
    "local_header_rewrite_clients =",
    "always_add_missing_headers = no",
    "smtpd_banner = $myhostname ESMTP postie test Postfix",
    `smtpd_recipient_restrictions = check_recipient_access regexp:${dir}/etc/recipient_access,` +
    " permit_mynetworks, reject_unauth_destination",
    "smtpd_peername_lookup = no",
    // Anything that would still leave the machine fails at once instead of waiting on DNS.
    "relay_transport = error:the postie test server delivers nothing outside",
    "default_transport = error:the postie test server delivers nothing outside",
    "smtp_dns_support_level = disabled",
    "queue_run_delay = 1s",
    "minimal_backoff_time = 1s",
    "maximal_backoff_time = 2s",
  ];
  if (tls) {
    lines.push(
      "smtpd_tls_security_level = may",
      `smtpd_tls_chain_files = ${dir}/tls/server.key, ${dir}/tls/server.pem`,
      "smtpd_tls_session_cache_database =",
      "smtpd_tls_loglevel = 1",
    );
  } else {
    lines.push("smtpd_tls_security_level = none");
  }
  if (authSocket !== undefined) {
    lines.push(
      "smtpd_sasl_type = dovecot",
      `smtpd_sasl_path = ${authSocket}`,
      "smtpd_sasl_auth_enable = yes",
      "smtpd_tls_auth_only = no",
      "smtpd_sasl_security_options = noanonymous",
      // A failed AUTH is an error; answer the next command without the 1 s penalty.
      "smtpd_error_sleep_time = 0",
    );
  }
  return lines.join("\n") + "\n";
}

/** Extra smtpd services of a SASL instance: `smtpd_tls_auth_only`, PLAIN/LOGIN only. */
function saslServices(tlsOnlyPort: number, plainLoginPort: number): string[] {
  return [
    `127.0.0.1:${tlsOnlyPort} inet n - n - - smtpd`,
    "  -o smtpd_tls_auth_only=yes",
    `127.0.0.1:${plainLoginPort} inet n - n - - smtpd`,
    "  -o smtpd_sasl_mechanism_filter=plain,login",
  ];
}

function masterCf(address: string, port: number, extraServices: string[] = []): string {
  // No service is chrooted: the instance's files are not laid out for a chroot jail.
  const services = [
    `${address}:${port} inet n - n - - smtpd`,
    ...extraServices,
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "tlsmgr unix - - n 1000? 1 tlsmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "proxywrite unix - - n - 1 proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "local unix - n n - - local",
    "virtual unix - n n - - virtual",
    "lmtp unix - - n - - lmtp",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
  ];
  return services.join("\n") + "\n";
}

const RECIPIENT_ACCESS = [
  "/^rejected@/ 550 5.1.1 Recipient address rejected by the postie test server",
  "/^deferred@/ 451 4.3.0 Recipient address deferred by the postie test server",
].join("\n") + "\n";

async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names;
}

async function queueIsEmpty(queue: string): Promise<boolean> {
  for (const sub of ["maildrop", "incoming", "active"]) {
    // Queue files live in hashed subdirectories only with hash_queue_depth > 0; incoming
    // and active are flat by default.
    if ((await listFiles(`${queue}/${sub}`)).length > 0) return false;
  }
  return true;
}

function deliveredTo(raw: string): string | undefined {
  const match = /^Delivered-To:[ \t]*(.*)$/im.exec(raw.split("\n\n", 1)[0]);
  return match?.[1].trim();
}

/**
 * Starts a private Postfix instance on `127.0.0.1` and a free high port, and resolves once
 * the port accepts connections.
 *
 * @example Usage
 * ```ts
 * import { startPostfix } from "./postfix.ts";
 * const postfix = await startPostfix();
 * try {
 *   // send to user@postie.test via postfix.host:postfix.port, then:
 *   const [raw] = await postfix.mailbox("user@postie.test");
 * } finally {
 *   await postfix.stop();
 * }
 * ```
 */
export async function startPostfix(options: PostfixOptions = {}): Promise<Postfix> {
  const reason = postfixUnavailable();
  if (reason) throw new Error(`cannot start Postfix: ${reason}`);
  const tls = options.tls ?? true;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const saslOptions = options.sasl === true ? {} : options.sasl || undefined;
  if (saslOptions !== undefined) {
    const saslReason = dovecotUnavailable();
    if (saslReason) throw new Error(`cannot start Postfix with SASL: ${saslReason}`);
  }

  const dir = await Deno.makeTempDir({ prefix: "postie-postfix-" });
  let child: Deno.ChildProcess | undefined;
  let dovecot: Dovecot | undefined;
  let cancelKill: (() => void) | undefined;
  const logFile = `${dir}/maillog`;
  const readLog = async (): Promise<string> => {
    try {
      return await Deno.readTextFile(logFile);
    } catch {
      return "";
    }
  };

  const stop = async (): Promise<void> => {
    cancelKill?.();
    cancelKill = undefined;
    if (child) {
      const running = child;
      child = undefined;
      // SIGTERM makes master terminate its whole process group (every Postfix daemon).
      try {
        running.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          running.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5_000);
      try {
        await running.status;
      } finally {
        clearTimeout(timer);
      }
      // master's children learn of its end through their master status pipe; give them a
      // moment so that none still holds a file in the directory being removed.
      const pgid = running.pid;
      for (let i = 0; i < 50 && (await processGroupAlive(pgid)); i++) await delay(20);
    }
    if (dovecot) {
      const running = dovecot;
      dovecot = undefined;
      await running.stop();
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  try {
    await Deno.chmod(dir, 0o755);
    const [postfixUid, postfixGid] = userIds("postfix") ?? [-1, -1];
    if (postfixUid < 0) throw new Error("the postfix user does not exist");
    const [mailUid, mailGid] = userIds("nobody") ?? [65534, 65534];
    for (const sub of ["etc", "queue", "data", "mail", "tls"]) await Deno.mkdir(`${dir}/${sub}`);
    await Deno.chown(`${dir}/data`, postfixUid, postfixGid);
    await Deno.chown(`${dir}/mail`, mailUid, mailGid);

    const pki = await createTestPki();
    try {
      await Deno.copyFile(pki.ca.cert, `${dir}/tls/ca.pem`);
      await Deno.copyFile(options.certificate?.cert ?? pki.server.cert, `${dir}/tls/server.pem`);
      await Deno.copyFile(options.certificate?.key ?? pki.server.key, `${dir}/tls/server.key`);
    } finally {
      await pki.remove();
    }
    await Deno.chmod(`${dir}/tls/server.key`, 0o600);

    const address = options.address ?? "127.0.0.1";
    const port = options.port ?? freePort();
    let sasl: PostfixSasl | undefined;
    let extraServices: string[] = [];
    if (saslOptions !== undefined) {
      dovecot = await startDovecot({ dir: `${dir}/dovecot`, users: saslOptions.users });
      sasl = { port, tlsOnlyPort: freePort(), plainLoginPort: freePort(), dovecot };
      extraServices = saslServices(sasl.tlsOnlyPort, sasl.plainLoginPort);
    }
    await Deno.writeTextFile(
      `${dir}/etc/main.cf`,
      mainCf(dir, tls, mailUid, mailGid, dovecot?.authSocket),
    );
    await Deno.writeTextFile(`${dir}/etc/master.cf`, masterCf(address, port, extraServices));
    await Deno.writeTextFile(`${dir}/etc/recipient_access`, RECIPIENT_ACCESS);
    // Postfix re-reads a configuration file until its mtime is over a second old (it may
    // still be being written), which would cost two seconds here: date them back.
    const past = new Date(Date.now() - 60_000);
    for (const name of ["main.cf", "master.cf", "recipient_access"]) {
      await Deno.utime(`${dir}/etc/${name}`, past, past);
    }

    // The queue's subdirectories with the owners and modes `postfix check` would give them
    // (it would make them too, through a slower round of shell scripts).
    const postdropGid = groupId("postdrop");
    for (const [sub, mode, gid] of QUEUE_DIRECTORIES) {
      const path = `${dir}/queue/${sub}`;
      await Deno.mkdir(path);
      await Deno.chmod(path, mode);
      if (sub === "pid") continue;
      await Deno.chown(path, postfixUid, gid === "postdrop" ? postdropGid : 0);
    }

    // `-s` keeps master in the foreground (a child we can wait for) while it still becomes
    // session and process group leader, so SIGTERM to it ends every daemon it started.
    // `postfix start` would instead daemonize master, which nothing here would reap.
    child = new Deno.Command(`${DAEMON_DIRECTORY}/master`, {
      args: ["-c", `${dir}/etc`, "-s"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const pid = child.pid;
    cancelKill = killOnExit(pid);

    let exited = false;
    child.status.then(() => {
      exited = true;
    });
    const deadline = Date.now() + startTimeoutMs;
    while (!(await canConnect(port, address))) {
      if (exited) {
        // master's fatal start-up errors go to syslog, which a container lacks;
        // `postfix check` reports most configuration problems on stderr instead.
        throw new Error(
          `Postfix's master exited at start (port ${port} taken?); postfix check says:\n` +
            `${await postfixCheck(dir)}\nmail log:\n${await readLog()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Postfix did not listen on port ${port} within ${startTimeoutMs} ms:\n${await readLog()}`,
        );
      }
      await delay(25);
    }

    const mailbox = async (address: string, opts: MailboxOptions = {}): Promise<string[]> => {
      const count = opts.count ?? 1;
      const timeoutMs = opts.timeoutMs ?? 5_000;
      const maildir = `${dir}/mail/maildir`;
      const wanted = address.toLowerCase();
      const until = Date.now() + timeoutMs;
      while (true) {
        const found: { name: string; mtime: number; raw: string }[] = [];
        for (const name of await listFiles(`${maildir}/new`)) {
          // virtual(8) writes into tmp/ and renames into new/: a file there is complete.
          const path = `${maildir}/new/${name}`;
          const raw = await Deno.readTextFile(path);
          if (deliveredTo(raw)?.toLowerCase() !== wanted) continue;
          const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
          found.push({ name, mtime, raw });
        }
        const done = count === 0 ? await queueIsEmpty(`${dir}/queue`) : found.length >= count;
        if (done) {
          // Maildir names start with the delivery time in seconds; mtime breaks ties.
          found.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
          return found.map((f) => f.raw);
        }
        if (Date.now() > until) {
          throw new Error(
            `${found.length} of ${count} messages for ${address} arrived within ${timeoutMs} ms;` +
              ` mail log:\n${await readLog()}`,
          );
        }
        await delay(25);
      }
    };

    return {
      host: address,
      port,
      caFile: `${dir}/tls/ca.pem`,
      dir,
      logFile,
      ...(sasl ? { sasl } : {}),
      mailbox,
      log: readLog,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function postfixCheck(dir: string): Promise<string> {
  const output = await new Deno.Command(POSTFIX_BINARY, {
    args: ["-c", `${dir}/etc`, "check"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trim() || "(nothing)";
}

async function processGroupAlive(pgid: number): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[2]) === pgid) return true;
    } catch {
      // the process ended meanwhile
    }
  }
  return false;
}
