/**
 * The sysconf directory msmtp reads its system files from (`msmtprc`, `mailname`, `netrc`):
 * shared by configuration and password lookup, which must not depend on each other.
 *
 * @module
 */

/** The environment variable that moves postie's sysconf directory (for tests). */
export const SYSCONFDIR_VARIABLE = "POSTIE_SYSCONFDIR";

/**
 * The sysconf directory: `$POSTIE_SYSCONFDIR`, else `/etc`.
 *
 * @example Usage
 * ```ts
 * import { sysconfDir } from "./sysconf.ts";
 * console.log(sysconfDir({ getenv: () => undefined })); // "/etc"
 * ```
 */
export function sysconfDir(env: { getenv(name: string): string | undefined }): string {
  const dir = env.getenv(SYSCONFDIR_VARIABLE);
  return dir === undefined || dir === "" ? "/etc" : dir.replace(/\/+$/, "") || "/";
}
