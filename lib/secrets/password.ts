/**
 * Where the password comes from, in msmtp's order: the `password` setting (which
 * already holds the output of `passwordeval`, run while the account was resolved), the
 * keyring, `~/.netrc`, the system netrc, and finally a prompt on the terminal.
 *
 * @module
 */

import { keyringPassword } from "./keyring.ts";
import { netrcPassword, systemNetrcPath } from "./netrc.ts";
import { promptPassword } from "./prompt.ts";

/** Asks the user for a password; null when nobody answers. */
export type PasswordPrompter = (user: string, host: string) => Promise<string | null>;

/** The account settings the lookup reads (an `Account`'s `settings` fits). */
export interface PasswordSettings {
  /** `password`, which already holds `passwordeval`'s output when that was set. */
  password: string | null;
  /** `user`. */
  user: string | null;
  /** `host`, the name looked up in the keyring and the netrc files. */
  host: string | null;
  /** `socket`, looked up instead when there is no host. */
  socket: string | null;
}

/** What {@linkcode lookupPassword} needs. */
export interface PasswordLookupOptions {
  /** The account's settings: `password`, `user`, and `host` (or `socket`) to look up. */
  settings: PasswordSettings;
  /** The environment: `$HOME` for `~/.netrc`, the sysconf directory, the session bus. */
  env: {
    getenv(name: string): string | undefined;
    home(): string;
  };
  /**
   * Whether a prompt on `/dev/tty` may be shown (true by default; it is skipped anyway
   * when there is no terminal), or a prompter to use instead (tests, other front ends).
   */
  tty?: boolean | PasswordPrompter;
  /** The keyring lookup; defaults to secret-tool / security. Tests replace it. */
  keyring?: (host: string, user: string) => Promise<string | null>;
}

/**
 * Finds the password for an account, or null when no source has one. Nothing here is
 * logged: the value only ever travels back to the caller.
 *
 * @example Usage
 * ```ts
 * import { lookupPassword } from "./password.ts";
 * const pw = await lookupPassword({
 *   settings: { password: "s3cret", user: "alice", host: "mail.example", socket: null },
 *   env: { getenv: () => undefined, home: () => "/nonexistent" },
 *   tty: false,
 * });
 * console.log(pw); // "s3cret"
 * ```
 */
export async function lookupPassword(options: PasswordLookupOptions): Promise<string | null> {
  const { settings, env } = options;
  if (settings.password !== null) return settings.password;
  const user = settings.user;
  // msmtp names the server by its `host` (not tls_host_override), or by the socket.
  const host = settings.host ?? settings.socket;
  if (user === null || host === null) return null;

  const keyring = options.keyring ??
    ((h: string, u: string) => keyringPassword(h, u, { getenv: (n) => env.getenv(n) }));
  const fromKeyring = await keyring(host, user);
  if (fromKeyring !== null) return fromKeyring;

  for (const path of [`${env.home()}/.netrc`, systemNetrcPath(env)]) {
    const fromNetrc = await netrcPassword(path, host, user);
    if (fromNetrc !== null) return fromNetrc;
  }

  const tty = options.tty ?? true;
  if (tty === false) return null;
  const prompt: PasswordPrompter = tty === true ? (u, h) => promptPassword(u, h) : tty;
  return await prompt(user, host);
}
