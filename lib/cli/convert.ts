/**
 * `--convert-to-toml`: prints the user's msmtprc (or the `-C` file) as postie's TOML
 * configuration. The file is checked first, so a file postie would refuse is refused here
 * too, with the same message.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { buildAccounts } from "../config/build.ts";
import { parseMsmtprc } from "../config/msmtprc.ts";
import { userConfigPath } from "../config/paths.ts";
import type { Env } from "../config/resolve.ts";
import { msmtprcToToml } from "../config/to_toml.ts";
import { describeOsError } from "../os_error.ts";
import type { Invocation } from "./invocation.ts";

/**
 * The TOML text of the configuration file the invocation names.
 *
 * @example Usage
 * ```ts ignore
 * import { convertToToml } from "./convert.ts";
 * console.log(await convertToToml(parseArgs(["--convert-to-toml", "-C", "rc"]), realEnv()));
 * ```
 */
export async function convertToToml(inv: Invocation, env: Env): Promise<string> {
  const path = inv.configFile ?? userConfigPath(env);
  let text: string;
  try {
    text = await env.readTextFile(path);
  } catch (e) {
    throw new ConfigError(describeOsError(e), { file: path, exitCode: ExitCode.IOERR });
  }
  const source = await parseMsmtprc(text, path, { evalCommand: (c) => env.evalCommand(c) });
  buildAccounts(source, { home: env.home() });
  return msmtprcToToml(source);
}
