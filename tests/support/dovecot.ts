/**
 * A private, throw-away Dovecot instance that does nothing but SASL authentication, for
 * Postfix's `smtpd_sasl_type = dovecot` in the interoperability tests.
 *
 * {@linkcode startDovecot} writes its own `dovecot.conf` into a directory (its `base_dir`,
 * `state_dir`, log and passwd-file live there too), runs `dovecot -F` in the foreground as
 * a child process in a session of its own, and stops it by its PID, waiting until every
 * process of that session has ended. It neither reads nor changes `/etc/dovecot`, speaks
 * no mail protocol and listens on no network port: its only door is the unix socket
 * {@linkcode Dovecot.authSocket}, owned by the `postfix` user.
 *
 * Passwords are stored in the `{PLAIN}` scheme, from which Dovecot can answer every
 * mechanism the tests use (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256). Failed
 * logins are answered at once (`auth_failure_delay = 0`), and `auth_debug` logs each
 * `AUTH` request with its mechanism (passwords hidden) so tests can tell which one a
 * client chose, or that it never tried.
 *
 * Dovecot (`dovecot-core`) must be installed and the tests must run as root;
 * {@linkcode dovecotUnavailable} tells why a test should be skipped.
 *
 * @module
 */

import { delay, killOnExit } from "./process.ts";

/** The Dovecot master binary whose presence marks Dovecot as installed. */
export const DOVECOT_BINARY = "/usr/sbin/dovecot";

/** The mechanisms a default instance offers, in Dovecot's spelling. */
export const DEFAULT_MECHANISMS: readonly string[] = Object.freeze([
  "plain",
  "login",
  "cram-md5",
  "scram-sha-1",
  "scram-sha-256",
]);

/** One account of the passwd-file. */
export interface DovecotUser {
  /** The login name (Dovecot lower-cases it before the lookup). */
  user: string;
  /** The password, stored in the `{PLAIN}` scheme. It must not contain `:` or a newline. */
  password: string;
}

/** Options of {@linkcode startDovecot}. */
export interface DovecotOptions {
  /**
   * The directory to run in; it is created if missing and removed by
   * {@linkcode Dovecot.stop} only when {@linkcode startDovecot} created it. Default: a
   * new temporary directory.
   */
  dir?: string;
  /** The accounts. Default: `alice` with the password `secret`. */
  users?: DovecotUser[];
  /** `auth_mechanisms`, lower case. Default {@linkcode DEFAULT_MECHANISMS}. */
  mechanisms?: readonly string[];
  /** The user that must be able to open the auth socket. Default `postfix`. */
  socketUser?: string;
  /** How long to wait for the auth socket to appear, in ms. Default 10000. */
  startTimeoutMs?: number;
}

/** A running private Dovecot instance; call {@linkcode Dovecot.stop} when done. */
export interface Dovecot {
  /** The directory holding the instance. */
  dir: string;
  /** Absolute path of the auth client socket (for Postfix's `smtpd_sasl_path`). */
  authSocket: string;
  /** Dovecot's log file (`log_path`). */
  logFile: string;
  /** The log so far. */
  log(): Promise<string>;
  /**
   * The mechanisms of the `AUTH` requests Dovecot received so far, upper case, in order
   * (taken from the `auth_debug` lines `client in: AUTH <id> <MECH> …`).
   */
  authRequests(): Promise<string[]>;
  /** Stops every process of this instance and removes its directory if it made it. */
  stop(): Promise<void>;
}

/**
 * Tells why the Dovecot fixture cannot run here, or `undefined` if it can: Dovecot and
 * `setsid` must be installed and the process must run as root.
 *
 * @example Usage
 * ```ts
 * import { dovecotUnavailable } from "./dovecot.ts";
 * Deno.test({ name: "…", ignore: dovecotUnavailable() !== undefined, fn() {} });
 * ```
 */
export function dovecotUnavailable(): string | undefined {
  for (const [path, pkg] of [[DOVECOT_BINARY, "dovecot-core"], [SETSID, "util-linux"]]) {
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is missing: install the Debian package ${pkg}`;
    }
  }
  if (Deno.uid() !== 0) return "Dovecot's master process must run as root";
  return undefined;
}

const SETSID = "/usr/bin/setsid";

function groupId(name: string): number {
  for (const line of Deno.readTextFileSync("/etc/group").split("\n")) {
    const fields = line.split(":");
    if (fields[0] === name) return Number(fields[2]);
  }
  throw new Error(`the ${name} group does not exist`);
}

function dovecotConf(dir: string, mechanisms: readonly string[], socketUser: string): string {
  return [
    "# Private Dovecot instance of postie's tests: SASL for Postfix only.",
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    "instance_name = postie-test",
    `log_path = ${dir}/dovecot.log`,
    // No IMAP, POP3 or LMTP: nothing listens on the network.
    "protocols =",
    "listen = 127.0.0.1",
    "ssl = no",
    // Postfix does TLS; the tests must be able to try PLAIN and LOGIN without it.
    "disable_plaintext_auth = no",
    `auth_mechanisms = ${mechanisms.join(" ")}`,
    "auth_failure_delay = 0",
    "auth_verbose = yes",
    "auth_debug = yes",
    "auth_debug_passwords = no",
    "passdb {",
    "  driver = passwd-file",
    `  args = scheme=PLAIN ${dir}/users`,
    "}",
    "userdb {",
    "  driver = passwd-file",
    `  args = ${dir}/users`,
    "}",
    // No growing delay for repeated failures from one address (anvil's auth penalty).
    "service anvil {",
    "  unix_listener anvil-auth-penalty {",
    "    mode = 0",
    "  }",
    "}",
    "service auth {",
    "  unix_listener auth-client {",
    "    mode = 0660",
    `    user = ${socketUser}`,
    `    group = ${socketUser}`,
    "  }",
    "}",
    "",
  ].join("\n");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether any live (non-zombie) process belongs to the session `sid`. */
async function sessionAlive(sid: number): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid pgrp session …; comm may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[3]) === sid) return true;
    } catch {
      // the process ended meanwhile
    }
  }
  return false;
}

/**
 * Starts a private Dovecot that only authenticates, and resolves once its auth socket
 * exists.
 *
 * @example Usage
 * ```ts
 * import { startDovecot } from "./dovecot.ts";
 * const dovecot = await startDovecot({ users: [{ user: "alice", password: "secret" }] });
 * try {
 *   // smtpd_sasl_type = dovecot, smtpd_sasl_path = dovecot.authSocket
 * } finally {
 *   await dovecot.stop();
 * }
 * ```
 */
export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  const reason = dovecotUnavailable();
  if (reason) throw new Error(`cannot start Dovecot: ${reason}`);
  const users = options.users ?? [{ user: "alice", password: "secret" }];
  const mechanisms = options.mechanisms ?? DEFAULT_MECHANISMS;
  const socketUser = options.socketUser ?? "postfix";
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  for (const { user, password } of users) {
    if (/[:\n]/.test(user + password)) throw new Error(`unusable test account ${user}`);
  }

  const ownDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "postie-dovecot-" });
  await Deno.mkdir(dir, { recursive: true });
  // Postfix's smtpd (user postfix) must reach the socket below.
  await Deno.chmod(dir, 0o755);
  const logFile = `${dir}/dovecot.log`;
  const authSocket = `${dir}/run/auth-client`;
  const readLog = async (): Promise<string> => {
    try {
      return await Deno.readTextFile(logFile);
    } catch {
      return "";
    }
  };

  let child: Deno.ChildProcess | undefined;
  let stderrDone: Promise<void> = Promise.resolve();
  let cancelKill: (() => void) | undefined;
  const stop = async (): Promise<void> => {
    cancelKill?.();
    cancelKill = undefined;
    if (child) {
      const running = child;
      child = undefined;
      // SIGTERM to the whole process group (the master leads it): the master alone would
      // stop its auth, log, config and anvil children one after the other, which takes
      // about a second.
      try {
        Deno.kill(-running.pid, "SIGTERM");
      } catch {
        // already gone
      }
      // A child still starting up (reading its configuration from the config process that
      // just ended) can hang: whatever is left after a moment is killed outright.
      const timer = setTimeout(() => {
        try {
          Deno.kill(-running.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 500);
      try {
        await running.status;
      } finally {
        clearTimeout(timer);
      }
      await stderrDone;
      for (let i = 0; i < 100 && (await sessionAlive(running.pid)); i++) await delay(20);
    }
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    else {
      for (const sub of ["run", "state"]) {
        await Deno.remove(`${dir}/${sub}`, { recursive: true }).catch(() => {});
      }
    }
  };

  try {
    await Deno.writeTextFile(
      `${dir}/users`,
      users.map(({ user, password }) => `${user}:{PLAIN}${password}:65534:65534::/nonexistent::\n`)
        .join(""),
    );
    // Read by the auth process, which runs as Dovecot's internal user.
    await Deno.chmod(`${dir}/users`, 0o640);
    await Deno.chown(`${dir}/users`, 0, groupId("dovecot"));
    await Deno.mkdir(`${dir}/state`, { recursive: true });
    await Deno.writeTextFile(`${dir}/dovecot.conf`, dovecotConf(dir, mechanisms, socketUser));

    // setsid (not a process group leader here, so it execs in place: same PID) makes the
    // master lead a session of its own, which tells its children apart at stop().
    child = new Deno.Command(SETSID, {
      args: [DOVECOT_BINARY, "-F", "-c", `${dir}/dovecot.conf`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const pid = child.pid;
    cancelKill = killOnExit(pid);
    let exited = false;
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let errors = "";
    stderrDone = (async () => {
      for (let r = await stderr.read(); !r.done; r = await stderr.read()) errors += r.value;
    })().catch(() => {});
    child.status.then(() => {
      exited = true;
    });
    const deadline = Date.now() + startTimeoutMs;
    while (!(await exists(authSocket))) {
      if (exited) {
        throw new Error(`Dovecot exited at start:\n${errors}\nlog:\n${await readLog()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Dovecot made no auth socket within ${startTimeoutMs} ms:\n${errors}\n${await readLog()}`,
        );
      }
      await delay(20);
    }

    return {
      dir,
      authSocket,
      logFile,
      log: readLog,
      async authRequests(): Promise<string[]> {
        const text = await readLog();
        return [...text.matchAll(/client in: AUTH\t\d+\t([^\t\n]+)/g)].map((m) =>
          m[1].toUpperCase()
        );
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
