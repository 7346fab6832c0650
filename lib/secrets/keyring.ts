/**
 * The system keyring through its command-line tools: `secret-tool` (libsecret: GNOME
 * Keyring, KeePassXC, KWallet's Secret Service) and macOS `security`. Entries use
 * msmtp's attributes, so passwords stored for msmtp are found and vice versa.
 *
 * Each helper runs with explicit arguments, no shell, a minimal environment, no stdin
 * (except the secret when storing) and a time limit; a missing program is no answer.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { type LimitedRunResult, runLimited } from "./subprocess.ts";

/** How long a keyring helper may run (an unlock dialog waits for the user). */
export const KEYRING_TIMEOUT_MS = 10_000;

/** The variables a keyring helper may see: enough to find the session bus and itself. */
const PASSED_VARIABLES = ["DBUS_SESSION_BUS_ADDRESS", "HOME", "PATH", "XDG_RUNTIME_DIR"];

/** Options shared by the keyring functions. */
export interface KeyringOptions {
  /** Reads the caller's environment; defaults to `Deno.env.get`. */
  getenv?: (name: string) => string | undefined;
  /** The operating system; defaults to `Deno.build.os`. */
  os?: string;
  /** The time limit per helper run, in milliseconds. */
  timeoutMs?: number;
}

/** What a helper run produced. */
interface HelperResult {
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/**
 * Looks up the password for `user` at `host` in the keyring: libsecret with msmtp's
 * schema (`host`, `service`=smtp, `user`), then the legacy GNOME network-password
 * attributes (`user`, `protocol`=smtp, `server`); on macOS the Keychain's internet
 * password (server, account, protocol smtp). Null when nothing answers.
 *
 * @example Usage
 * ```ts ignore
 * import { keyringPassword } from "./keyring.ts";
 * const pw = await keyringPassword("mail.example", "alice");
 * ```
 */
export async function keyringPassword(
  host: string,
  user: string,
  options: KeyringOptions = {},
): Promise<string | null> {
  const os = options.os ?? Deno.build.os;
  if (os === "darwin") {
    const r = await runHelper(
      "security",
      ["find-internet-password", "-s", host, "-a", user, "-r", "smtp", "-w"],
      options,
    );
    // `security -w` ends the password with a newline of its own.
    return r?.code === 0 ? decode(r.stdout).replace(/\n$/, "") : null;
  }
  for (
    const attributes of [
      ["host", host, "service", "smtp", "user", user],
      ["user", user, "protocol", "smtp", "server", host],
    ]
  ) {
    const r = await runHelper("secret-tool", ["lookup", ...attributes], options);
    // secret-tool prints the secret as stored (no newline when stdout is not a terminal)
    // and exits 1 when there is no such item.
    if (r?.code === 0) return decode(r.stdout);
  }
  return null;
}

/** What {@linkcode storePassword} stores. */
export interface StorePasswordOptions extends KeyringOptions {
  /** The `host` of the account. */
  host: string;
  /** The `user` of the account. */
  user: string;
  /** The secret; it goes to the helper's stdin, never on its command line. */
  password: string;
}

/**
 * Stores a password in the keyring as msmtp documents it:
 * `secret-tool store --label=msmtp host H service smtp user U`, the secret on stdin.
 *
 * @throws {PostieError} EX_UNAVAILABLE when secret-tool is missing, fails or times out,
 * or on macOS (use Keychain Access or `security add-internet-password`).
 *
 * @example Usage
 * ```ts ignore
 * import { storePassword } from "./keyring.ts";
 * await storePassword({ host: "mail.example", user: "alice", password: "s3cret" });
 * ```
 */
export async function storePassword(options: StorePasswordOptions): Promise<void> {
  const os = options.os ?? Deno.build.os;
  if (os === "darwin") {
    throw new PostieError(
      "storing passwords is only supported with secret-tool; on macOS add an internet " +
        "password for the server with protocol smtp in Keychain Access",
      ExitCode.UNAVAILABLE,
    );
  }
  const args = [
    "store",
    "--label=msmtp",
    "host",
    options.host,
    "service",
    "smtp",
    "user",
    options.user,
  ];
  const r = await runHelper("secret-tool", args, options, options.password);
  if (r === null) {
    throw new PostieError(
      "cannot store the password: secret-tool (libsecret-tools) is not available or did " +
        "not finish in time",
      ExitCode.UNAVAILABLE,
    );
  }
  if (r.code !== 0) {
    const reason = decode(r.stderr).trim().split("\n")[0] || `exit status ${r.code}`;
    throw new PostieError(
      `cannot store the password with secret-tool: ${reason}`,
      ExitCode.UNAVAILABLE,
    );
  }
}

/**
 * Runs a helper; null when it cannot be started (missing, not permitted) or was killed
 * for taking too long.
 */
async function runHelper(
  program: string,
  args: string[],
  options: KeyringOptions,
  input?: string,
): Promise<HelperResult | null> {
  const getenv = options.getenv ?? ((name: string) => Deno.env.get(name));
  const env: Record<string, string> = {};
  for (const name of PASSED_VARIABLES) {
    const value = getenv(name);
    if (value !== undefined) env[name] = value;
  }
  let r: LimitedRunResult;
  try {
    r = await runLimited(program, {
      args,
      clearEnv: true,
      env,
      input: input === undefined ? undefined : new TextEncoder().encode(input),
      stderr: "piped",
      timeoutMs: options.timeoutMs ?? KEYRING_TIMEOUT_MS,
    });
  } catch {
    return null;
  }
  if (r.timedOut || r.code === null) return null;
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
