/**
 * Configuration from the environment, for containers and CI where writing a file is a chore:
 * every account command `NAME` may be given as the variable `POSTIE_NAME` (upper case:
 * `POSTIE_HOST`, `POSTIE_PORT`, `POSTIE_TLS`, `POSTIE_PASSWORD`), and `POSTIE_NAME_FILE`
 * names a file holding the value (Docker and Kubernetes secrets). The values follow the
 * configuration file's rules, and a bad one is refused with the variable's name.
 *
 * Precedence, highest first: command-line options, `POSTIE_*` variables, the configuration
 * file's account. With no account in any file, `POSTIE_HOST` (or `POSTIE_SOCKET`) alone
 * makes one.
 *
 * @module
 */

import type { PartialSettings } from "./account.ts";
import { ConfigError } from "../errors.ts";
import { applyCommand, COMMAND_NAMES, SettingValueError, type ValueContext } from "./values.ts";

/** The prefix of every configuration variable. */
export const ENV_PREFIX = "POSTIE_";

/** Commands whose values are secrets: never repeated in an error. */
const SECRET_COMMANDS: ReadonlySet<string> = new Set([
  "password",
  "oauth2_client_secret",
  "oauth2_refresh_token",
]);

/** What reading the environment needs (injected for tests). */
export interface EnvReader {
  /** A variable's value, or undefined when it is not set. */
  getenv(name: string): string | undefined;
  /** Reads a whole file; throws Deno's errors (NotFound, PermissionDenied, …). */
  readTextFile(path: string): Promise<string>;
}

/** The settings the environment gives, and the variables they came from. */
export interface EnvSettings {
  /** The settings, as a configuration file's account would hold them. */
  set: PartialSettings;
  /** The variables that were used, in command order (`POSTIE_HOST`, `POSTIE_PASSWORD_FILE`). */
  variables: string[];
}

/**
 * The variable that sets a command: `tls_trust_file` is `POSTIE_TLS_TRUST_FILE`.
 *
 * @example Usage
 * ```ts
 * import { envVariableName } from "./env.ts";
 * console.log(envVariableName("tls_trust_file")); // "POSTIE_TLS_TRUST_FILE"
 * ```
 */
export function envVariableName(command: string): string {
  return ENV_PREFIX + command.toUpperCase();
}

const NAMED_ERRORS: Record<string, string> = {
  NotFound: "No such file or directory",
  PermissionDenied: "Permission denied",
  IsADirectory: "Is a directory",
};

/** A secret file's content without the one line end editors and `echo` leave behind. */
function withoutFinalNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

async function valueOf(
  command: string,
  env: EnvReader,
): Promise<{ variable: string; value: string } | undefined> {
  const variable = envVariableName(command);
  const fileVariable = `${variable}_FILE`;
  // An empty variable counts as unset: `POSTIE_TLS=${TLS}` with TLS unset must not turn TLS on.
  const direct = env.getenv(variable) || undefined;
  const path = env.getenv(fileVariable) || undefined;
  if (direct !== undefined && path !== undefined) {
    throw new ConfigError(`${variable} and ${fileVariable} are both set; keep one`);
  }
  if (direct !== undefined) return { variable, value: direct };
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = await env.readTextFile(path);
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason = NAMED_ERRORS[name] ?? "input error";
    throw new ConfigError(`${fileVariable}: cannot read ${path}: ${reason}`, {}, { cause: error });
  }
  return { variable: fileVariable, value: withoutFinalNewline(text) };
}

/**
 * Reads every `POSTIE_NAME` and `POSTIE_NAME_FILE` variable of an account command and checks
 * its value with the configuration file's rules. Empty variables are ignored.
 *
 * @example Usage
 * ```ts
 * import { readEnvSettings } from "./env.ts";
 * const vars: Record<string, string> = { POSTIE_HOST: "smtp.example.org", POSTIE_TLS: "on" };
 * const { set, variables } = await readEnvSettings({
 *   getenv: (name) => vars[name],
 *   readTextFile: (path) => Deno.readTextFile(path),
 * });
 * console.log(set, variables); // { host: "smtp.example.org", tls: true } ["POSTIE_HOST", "POSTIE_TLS"]
 * ```
 *
 * @throws {ConfigError} EX_CONFIG (78) naming the variable: `POSTIE_PORT: invalid port "x"`,
 * an unreadable `_FILE`, or both forms of one variable set.
 */
export async function readEnvSettings(
  env: EnvReader,
  context: ValueContext = {},
): Promise<EnvSettings> {
  const set: PartialSettings = {};
  const variables: string[] = [];
  for (const command of COMMAND_NAMES) {
    const found = await valueOf(command, env);
    if (found === undefined) continue;
    try {
      applyCommand(set, command, found.value, context);
    } catch (error) {
      if (!(error instanceof SettingValueError)) throw error;
      const shown = SECRET_COMMANDS.has(command) ? "" : ` "${found.value}"`;
      throw new ConfigError(`${found.variable}: invalid ${command}${shown}`, {}, {
        cause: error,
      });
    }
    variables.push(found.variable);
  }
  return { set, variables };
}
