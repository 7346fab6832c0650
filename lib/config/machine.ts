/**
 * The machine account resolution reads: files, the uid, the host name, the password
 * database and `sh -c` for `eval`. Kept apart from resolve.ts, so that every start (which
 * builds the real one) loads none of the configuration parsers.
 *
 * @module
 */

import type { PathEnv } from "./paths.ts";

/** Owner and permission bits of a file. */
export interface FileStat {
  uid: number | null;
  mode: number | null;
}

/** Everything account resolution needs from the outside world (injected for tests). */
export interface Env extends PathEnv {
  /** The host name for `%H`: $HOSTNAME, else gethostname(). */
  hostname(): string;
  /** The canonical name of a host for `%C`; the name itself when it cannot be found. */
  canonicalHostname(host: string): string;
  /** The login name for `%U`: $USER, else $LOGNAME, else the password database's. */
  loginName(): string;
  /** The effective user id (0 skips the secret-file check). */
  uid(): number;
  /** Reads a whole file; throws Deno's errors (NotFound, PermissionDenied, …). */
  readTextFile(path: string): Promise<string>;
  /** The owner and mode of a file. */
  stat(path: string): Promise<FileStat>;
  /**
   * Runs an `eval`/`passwordeval` command: its first output line, or undefined. It is
   * killed after `timeoutMs` (the account's `timeout`), else after the default limit.
   */
  evalCommand(command: string, timeoutMs?: number): Promise<string | undefined>;
}

/** Reads /etc/passwd for the entry of a uid: [login name, home directory]. */
function passwdEntry(uid: number): [string, string] | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f.length >= 6 && Number(f[2]) === uid) return [f[0], f[5]];
    }
  } catch {
    // No password database: callers fall back to empty strings.
  }
  return undefined;
}

/** The canonical name /etc/hosts gives a host (its first name on the line), else the host. */
function canonicalFromHosts(host: string): string {
  try {
    for (const raw of Deno.readTextFileSync("/etc/hosts").split("\n")) {
      const names = raw.replace(/#.*/, "").trim().split(/\s+/).slice(1);
      if (names.includes(host)) return names[0];
    }
  } catch {
    // No hosts file: the name stays as it is.
  }
  return host;
}

/**
 * The effective uid. /proc/self belongs to it, and reading it needs only the read
 * permission the binary already has (Deno.uid() would need --allow-sys=uid).
 */
function effectiveUid(): number {
  try {
    const uid = Deno.statSync("/proc/self").uid;
    if (uid !== null) return uid;
  } catch {
    // No procfs: ask Deno, which needs the sys permission.
  }
  try {
    return Deno.uid() ?? 0;
  } catch {
    return 0;
  }
}

/**
 * The real machine: its file system, uid, host name and `sh -c` for eval, with the
 * process environment, or with `variables` instead when given (then the process
 * environment is not read at all).
 *
 * @example Usage
 * ```ts
 * import { realEnv } from "./machine.ts";
 * console.log(realEnv({ HOME: "/home/joe" }).home()); // "/home/joe"
 * ```
 */
export function realEnv(variables?: Readonly<Record<string, string>>): Env {
  const getenv = variables === undefined
    ? (name: string): string | undefined => Deno.env.get(name)
    : (name: string): string | undefined =>
      Object.hasOwn(variables, name) ? variables[name] : undefined;
  const uid = effectiveUid;
  return {
    getenv,
    home: () => getenv("HOME") ?? passwdEntry(uid())?.[1] ?? "",
    exists: (path) => {
      try {
        Deno.statSync(path);
        return true;
      } catch {
        return false;
      }
    },
    hostname: () => getenv("HOSTNAME") ?? Deno.hostname(),
    canonicalHostname: canonicalFromHosts,
    loginName: () => getenv("USER") ?? getenv("LOGNAME") ?? passwdEntry(uid())?.[0] ?? "",
    uid,
    readTextFile: (path) => Deno.readTextFile(path),
    stat: async (path) => {
      const info = await Deno.stat(path);
      return { uid: info.uid, mode: info.mode };
    },
    evalCommand: async (command, timeoutMs) => {
      // loaded when a configuration says `eval` or `passwordeval`
      const { EVAL_TIMEOUT_MS, runEvalCommand } = await import("../secrets/eval.ts");
      return await runEvalCommand(command, timeoutMs ?? EVAL_TIMEOUT_MS, variables);
    },
  };
}
