/**
 * Where configuration lives: the system file, the user file and the other files msmtp
 * reads from its sysconf directory (`mailname`).
 *
 * @module
 */

import { sysconfDir } from "../sysconf.ts";

export { sysconfDir, SYSCONFDIR_VARIABLE } from "../sysconf.ts";

/** What path lookups need from the environment. */
export interface PathEnv {
  /** An environment variable, or undefined. */
  getenv(name: string): string | undefined;
  /** The home directory ($HOME, else the password database's). */
  home(): string;
  /** Whether a path exists (any file type). */
  exists(path: string): boolean;
}

/**
 * The system configuration file, `SYSCONFDIR/msmtprc`.
 *
 * @example Usage
 * ```ts
 * import { systemConfigPath } from "./paths.ts";
 * console.log(systemConfigPath({ getenv: () => undefined })); // "/etc/msmtprc"
 * ```
 */
export function systemConfigPath(env: Pick<PathEnv, "getenv">): string {
  return `${sysconfDir(env)}/msmtprc`;
}

/**
 * The mail name file used for `%M`, `SYSCONFDIR/mailname`.
 *
 * @example Usage
 * ```ts
 * import { mailnamePath } from "./paths.ts";
 * console.log(mailnamePath({ getenv: () => undefined })); // "/etc/mailname"
 * ```
 */
export function mailnamePath(env: Pick<PathEnv, "getenv">): string {
  return `${sysconfDir(env)}/mailname`;
}

/**
 * The user configuration file: `~/.msmtprc` when it exists, else
 * `$XDG_CONFIG_HOME/msmtp/config` (`~/.config/msmtp/config`) when that exists, else
 * `~/.msmtprc` (the name reported as missing).
 *
 * @example Usage
 * ```ts
 * import { userConfigPath } from "./paths.ts";
 * const env = { getenv: () => undefined, home: () => "/home/joe", exists: () => false };
 * console.log(userConfigPath(env)); // "/home/joe/.msmtprc"
 * ```
 */
export function userConfigPath(env: PathEnv): string {
  const home = env.home();
  const classic = `${home}/.msmtprc`;
  if (env.exists(classic)) return classic;
  const xdgHome = env.getenv("XDG_CONFIG_HOME");
  const xdg = `${
    xdgHome === undefined || xdgHome === "" ? `${home}/.config` : xdgHome
  }/msmtp/config`;
  return env.exists(xdg) ? xdg : classic;
}
