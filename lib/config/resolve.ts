/**
 * Chooses the account a run uses, exactly as msmtp 1.8.23 does: read the system and user
 * files (or `-C`), pick the account (`-a`, `--host`, the envelope-from, `default`, the
 * EMAIL/SMTPSERVER environment), lay the command line over it and post-process it (port
 * defaults, `system` trust, `%H %C %M %U`, `auto_from`, the consistency checks).
 *
 * postie adds the `POSTIE_*` variables (`env.ts`) between the file and the command line:
 * they change the account the files give, and with no account in any file, `POSTIE_HOST`
 * (or `POSTIE_SOCKET`) makes one. Without such variables everything is msmtp's.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import {
  type Account,
  DEFAULT_SETTINGS,
  overlay,
  type PartialSettings,
  type Settings,
} from "./account.ts";
import { buildAccounts, type BuiltAccount, toAccount } from "./build.ts";
import { MsmtprcSyntaxError, parseMsmtprc } from "./msmtprc.ts";
import type { ConfigSource } from "./source.ts";
import { mailnamePath, systemConfigPath, userConfigPath } from "./paths.ts";
import { evalPassword } from "../secrets/eval.ts";
import { fnmatch } from "./fnmatch.ts";
import { overrideSettings, type SettingOverride } from "./overrides.ts";
import { readEnvSettings } from "./env.ts";
import type { Env } from "./machine.ts";

export { type Env, type FileStat, realEnv } from "./machine.ts";

/** The account chosen for a run and the lines `--pretend`/`--debug` print before it. */
export interface LoadedAccount {
  account: Account;
  /** `loaded user configuration file …`, `falling back to default account`, … */
  preamble: string[];
}

/**
 * Which account to resolve and what to lay over it: the plain record the command line, a
 * script or a daemon fills in. Every field is optional; the empty record is msmtp's plain
 * `sendmail` without options.
 */
export interface AccountSelection {
  /** The account by name (`-a`); by default chosen by `from`, else `default`. */
  account?: string;
  /** The user configuration file to read instead of `~/.msmtprc` (`-C`). */
  configFile?: string;
  /** The language of the user file; by default a name ending in `.toml` means TOML. */
  configFormat?: ConfigFormat;
  /** A `.env` file whose variables TOML `{ env = "NAME" }` values may take (`--env-file`). */
  envFile?: string;
  /** Read no file: the account is this host and the overrides (`--host`). */
  host?: string;
  /**
   * The envelope-from (`-f`, or the mail's From with `--read-envelope-from`): it picks the
   * account when none is named and replaces the account's `from` when the account allows it.
   * `<>` means the null sender; null means "the mail has no From address".
   */
  from?: string | null;
  /**
   * Settings laid over the account, later ones winning: a list (command-line order, named
   * by option in messages), or a record of config commands to values spelled as in the
   * config file (`{ port: "587", tls: "on" }`).
   */
  overrides?: readonly SettingOverride[] | Readonly<Record<string, string>>;
  /**
   * The account will send a mail: `from` gets `%U %H %C %M` expanded and `auto_from`
   * applies. Default false (`--serverinfo`, `--rmqs`).
   */
  sending?: boolean;
  /** Fail when the account has no envelope-from. Default: the value of `sending`. */
  requireFrom?: boolean;
  /**
   * Lay the `POSTIE_*` variables (and `POSTIE_*_FILE` secrets) over the account, under the
   * overrides. Default true; false for an account its caller describes completely (a
   * library transport made from plain options).
   */
  environment?: boolean;
}

/** The overrides of a selection as a list, in order. */
function overrideList(overrides: AccountSelection["overrides"]): readonly SettingOverride[] {
  if (overrides === undefined) return [];
  if (Array.isArray(overrides)) return overrides;
  return Object.entries(overrides as Readonly<Record<string, string>>).map(([name, arg]) => ({
    option: name,
    name,
    arg,
  }));
}

/**
 * The preamble lines that were due before an error was thrown: msmtp prints them
 * (with `-P`/`-d`) before the error message.
 *
 * @example Usage
 * ```ts
 * import { errorPreamble } from "./resolve.ts";
 * console.log(errorPreamble(new Error("x"))); // []
 * ```
 */
export function errorPreamble(error: unknown): string[] {
  const lines = (error as { preamble?: unknown } | null)?.preamble;
  return Array.isArray(lines) ? lines as string[] : [];
}

/** A configuration file that was read, with its accounts. */
interface LoadedFile {
  path: string;
  accounts: BuiltAccount[];
}

const NAMED_ERRORS: Record<string, string> = {
  NotFound: "No such file or directory",
  PermissionDenied: "Permission denied",
};

/** Why a file could not be opened, in strerror's words; undefined for read errors. */
function openFailure(error: unknown): string | undefined {
  if (error instanceof Error && error.name in NAMED_ERRORS) return NAMED_ERRORS[error.name];
  return undefined;
}

/**
 * Reads and builds one configuration file; `undefined` when it cannot be opened (with
 * the reason). Checks that a file holding a password is private, unless `checkSecrets`
 * is false (the system file, or running as root).
 */
async function readConfigFile(
  path: string,
  env: Env,
  checkSecrets: boolean,
  format: ConfigFormat = formatOf(path),
  envFileVars: Readonly<Record<string, string>> = {},
): Promise<LoadedFile | { failure: string }> {
  let text: string;
  try {
    text = await env.readTextFile(path);
  } catch (e) {
    const failure = openFailure(e);
    if (failure !== undefined) return { failure };
    throw new ConfigError("input error", { file: path, exitCode: ExitCode.IOERR }, { cause: e });
  }
  const context = { home: env.home() };
  let accounts: BuiltAccount[];
  try {
    const source = format === "toml"
      ? await parseToml(text, path, env, envFileVars)
      : await parseMsmtprc(text, path, { evalCommand: (c) => env.evalCommand(c) });
    accounts = buildAccounts(source, context);
    if (checkSecrets && source.holdsPassword) await checkSecretFile(path, env);
  } catch (e) {
    // A grammar error comes after anything wrong earlier in the file: report in file order.
    if (e instanceof MsmtprcSyntaxError) buildAccounts(e.partial, context);
    throw e;
  }
  return { path, accounts };
}

/** The two configuration languages. */
export type ConfigFormat = "msmtprc" | "toml";

/** A file ending in `.toml` is TOML; everything else is msmtprc. */
function formatOf(path: string): ConfigFormat {
  return path.endsWith(".toml") ? "toml" : "msmtprc";
}

/**
 * Reads a TOML configuration. Its `{ env = "NAME" }` values come from the environment, then
 * from `--env-file`, then from the file's own `env_file`. The TOML code loads only here.
 */
async function parseToml(
  text: string,
  path: string,
  env: Env,
  envFileVars: Readonly<Record<string, string>>,
): Promise<ConfigSource> {
  const [{ parseTomlConfig }, { loadDotenv }] = await Promise.all([
    import("./toml.ts"),
    import("./dotenv.ts"),
  ]);
  return await parseTomlConfig(text, path, {
    env: (name) => env.getenv(name) ?? envFileVars[name],
    readEnvFile: (file) => loadDotenv(file, env),
    home: env.home(),
  });
}

/** The variables of `--env-file`, read once per run (never printed). */
async function envFileVariables(
  selection: AccountSelection,
  env: Env,
): Promise<Record<string, string>> {
  if (selection.envFile === undefined) return {};
  const { loadDotenv } = await import("./dotenv.ts");
  return await loadDotenv(selection.envFile, env);
}

async function checkSecretFile(path: string, env: Env): Promise<void> {
  const { uid, mode } = await env.stat(path);
  if (uid !== null && uid !== env.uid()) {
    throw new ConfigError("contains secrets and therefore must be owned by you", { file: path });
  }
  // No execute bit for the owner, nothing at all for group and others.
  if (mode !== null && (mode & 0o177) !== 0) {
    throw new ConfigError(
      "contains secrets and therefore must have no more than user read/write permissions",
      { file: path },
    );
  }
}

/**
 * Whether an account's `from` selects it for an envelope-from address: sub-addresses
 * (`joe+tag@x` matches `joe@x`), fnmatch globs, else case-insensitive equality.
 *
 * @example Usage
 * ```ts
 * import { fromMatches } from "./resolve.ts";
 * console.log(fromMatches("joe@example.com", "JOE+lists@example.com")); // true
 * console.log(fromMatches("*@wild.example", "a@wild.example")); // true
 * ```
 */
export function fromMatches(accountFrom: string, address: string): boolean {
  const plus = address.indexOf("+");
  const at = address.indexOf("@", plus + 1);
  if (plus !== -1 && at !== -1 && !accountFrom.includes("+")) {
    // msmtp 1.8.23 compares the stripped address literally here, never as a glob.
    const stripped = address.slice(0, plus) + address.slice(at);
    return stripped.toLowerCase() === accountFrom.toLowerCase();
  }
  if (/[?*[]/.test(accountFrom)) return fnmatch(accountFrom, address);
  return accountFrom.toLowerCase() === address.toLowerCase();
}

/** The effective envelope-from given by the caller, if any (`<>` is the null sender). */
function givenFrom(selection: AccountSelection): string | null | undefined {
  return selection.from === "<>" ? "" : selection.from;
}

/**
 * Resolves the account for a selection, as msmtp does. Throws PostieErrors worded as
 * msmtp's; {@linkcode errorPreamble} gives the lines due before the error.
 *
 * @example Usage
 * ```ts
 * import { realEnv, resolveAccount } from "./resolve.ts";
 * const { account, preamble } = await resolveAccount({ host: "mx" }, realEnv());
 * console.log(preamble, account.settings.port); // ["using account specified on command line"] 25
 * ```
 */
export async function resolveAccount(
  selection: AccountSelection,
  env: Env,
): Promise<LoadedAccount> {
  const preamble: string[] = [];
  try {
    return await resolve(selection, env, preamble);
  } catch (e) {
    if (e instanceof Error) Object.assign(e, { preamble: [...preamble] });
    throw e;
  }
}

async function resolve(
  selection: AccountSelection,
  env: Env,
  preamble: string[],
): Promise<LoadedAccount> {
  const cli = overrideSettings(overrideList(selection.overrides), { home: env.home() });
  const fromEnv = selection.environment === false
    ? { set: {}, variables: [] }
    : await readEnvSettings({
      getenv: (name) => env.getenv(name),
      readTextFile: (path) => env.readTextFile(path),
    }, { home: env.home() });
  const from = givenFrom(selection);
  const sending = selection.sending ?? false;
  const requireFrom = selection.requireFrom ?? sending;
  let account: Account;
  let usingLine: string | undefined;

  if (selection.host !== undefined) {
    preamble.push("using account specified on command line");
    const set: PartialSettings = { host: selection.host };
    account = {
      name: "cmdline",
      file: undefined,
      set,
      settings: { ...DEFAULT_SETTINGS, host: selection.host },
    };
    // the command line's host wins over POSTIE_HOST, as every option wins over the variables
    account = applySettings(account, { ...fromEnv.set, host: selection.host });
  } else {
    const files = await readFiles(selection, env, preamble);
    const all = files.flatMap((f) => f.accounts);
    let chosen: BuiltAccount | undefined;
    if (selection.account !== undefined) {
      const name = selection.account;
      chosen = all.find((a) => a.name === name);
      if (chosen === undefined) throw new ConfigError(notFound(name, files));
    } else {
      if (from !== undefined && from !== null) {
        chosen = all.find((a) => {
          const accountFrom = toAccount(a).settings.from;
          return accountFrom !== null && fromMatches(accountFrom, from);
        });
        if (chosen !== undefined) {
          preamble.push(`account chosen by envelope from address ${from}: ${chosen.name}`);
        }
      }
      if (chosen === undefined) {
        preamble.push("falling back to default account");
        chosen = all.find((a) => a.name === "default");
      }
    }
    if (chosen !== undefined) {
      account = toAccount(chosen);
      usingLine = `using account ${chosen.name} from ${chosen.file}`;
    } else if (fromEnv.set.host !== undefined || fromEnv.set.socket !== undefined) {
      preamble.push("using account from POSTIE_* environment variables");
      account = {
        name: "environment",
        file: undefined,
        set: {},
        settings: { ...DEFAULT_SETTINGS },
      };
    } else {
      const server = env.getenv("SMTPSERVER");
      const email = env.getenv("EMAIL");
      if (server === undefined || (email === undefined && (from === undefined || from === null))) {
        throw new ConfigError(notFound("default", files));
      }
      preamble.push("using environment variables EMAIL and SMTPSERVER");
      const set: PartialSettings = { host: server };
      if (email !== undefined) set.from = email;
      account = {
        name: "default",
        file: undefined,
        set,
        settings: { ...DEFAULT_SETTINGS, ...set },
      };
    }
    account = applySettings(account, fromEnv.set);
  }
  if (fromEnv.variables.length > 0) {
    // the names only: a value may be a secret
    preamble.push(`settings from the environment: ${fromEnv.variables.join(" ")}`);
  }

  account = applyCommandLine(account, cli, from);
  await postProcess(account, env, sending, requireFrom);
  if (usingLine !== undefined) preamble.push(usingLine);
  return { account, preamble };
}

/** Reads the system file and the user (or `-C`) file, noting each in the preamble. */
async function readFiles(
  selection: AccountSelection,
  env: Env,
  preamble: string[],
): Promise<LoadedFile[]> {
  const files: LoadedFile[] = [];
  const systemPath = systemConfigPath(env);
  const system = await readConfigFile(systemPath, env, false);
  if ("failure" in system) {
    preamble.push(`ignoring system configuration file ${systemPath}: ${system.failure}`);
  } else {
    preamble.push(`loaded system configuration file ${systemPath}`);
  }
  const userPath = selection.configFile ?? userConfigPath(env);
  const user = await readConfigFile(
    userPath,
    env,
    env.uid() !== 0,
    selection.configFormat ?? formatOf(userPath),
    await envFileVariables(selection, env),
  );
  if ("failure" in user) {
    if (selection.configFile !== undefined) {
      throw new ConfigError(user.failure, { file: userPath, exitCode: ExitCode.IOERR });
    }
    preamble.push(`ignoring user configuration file ${userPath}: ${user.failure}`);
  } else {
    preamble.push(`loaded user configuration file ${userPath}`);
    files.push(user);
  }
  if (!("failure" in system)) {
    // User accounts first; a system account of the same name is replaced wholesale.
    const names = new Set(files.flatMap((f) => f.accounts.map((a) => a.name)));
    files.push({ ...system, accounts: system.accounts.filter((a) => !names.has(a.name)) });
  }
  return files;
}

function notFound(name: string, files: LoadedFile[]): string {
  // msmtp names the system file first.
  const paths = files.map((f) => f.path).reverse();
  if (paths.length === 0) return `account ${name} not found: no configuration file available`;
  return `account ${name} not found in ${paths.join(" and ")}`;
}

/** Lays settings (the POSTIE_* variables) over the account, as the file's own would be. */
function applySettings(account: Account, set: PartialSettings): Account {
  return {
    ...account,
    set: overlay(account.set, set),
    settings: { ...account.settings, ...set },
  };
}

/** Lays the command-line settings over the account; `-f` only when the account allows it. */
function applyCommandLine(
  account: Account,
  cli: PartialSettings,
  from: string | null | undefined,
): Account {
  const set = overlay(account.set, cli);
  const settings = { ...account.settings, ...cli };
  if (from !== undefined && settings.allow_from_override) {
    set.from = from;
    settings.from = from;
  }
  return { ...account, set, settings };
}

/** msmtp's post-processing of the chosen account, in msmtp's order. */
async function postProcess(
  account: Account,
  env: Env,
  sending: boolean,
  requireFrom: boolean,
): Promise<void> {
  const s = account.settings;
  if (s.auth !== "off" && s.password === null && s.passwordeval !== null) {
    const limit = s.timeout > 0 ? s.timeout * 1000 : undefined;
    s.password = await evalPassword(s.passwordeval, (c) => env.evalCommand(c, limit));
  }
  if (s.port === 0 && s.protocol === "smtp") s.port = s.tls && !s.tls_starttls ? 465 : 25;
  if (s.tls_trust_file === null && !("tls_trust_file" in account.set)) s.tls_trust_file = "system";
  if (s.proxy_host !== null && s.proxy_port === 0) s.proxy_port = 1080;
  s.domain = await expandPercent(s.domain, "HCM", env);
  if (sending && s.from !== null) s.from = await expandPercent(s.from, "UHCM", env);
  if (sending && s.auto_from) {
    const user = env.loginName();
    s.from = s.maildomain === null || s.maildomain === "" ? user : `${user}@${s.maildomain}`;
  }
  const problem = checkAccount(s, requireFrom);
  if (problem !== undefined) {
    const where = account.file === undefined
      ? ""
      : `account ${account.name} from ${account.file}: `;
    throw new ConfigError(where + problem);
  }
}

/**
 * Replaces `%U %H %C %M` (those listed in `which`) one kind after another, as msmtp's
 * plain string replacement does (`%%U` becomes `%` and the user name).
 */
async function expandPercent(text: string, which: string, env: Env): Promise<string> {
  let out = text;
  if (which.includes("U") && out.includes("%U")) out = out.replaceAll("%U", env.loginName());
  if (which.includes("H") && out.includes("%H")) out = out.replaceAll("%H", env.hostname());
  if (which.includes("C") && out.includes("%C")) {
    out = out.replaceAll("%C", env.canonicalHostname(env.hostname()));
  }
  if (which.includes("M") && out.includes("%M")) out = out.replaceAll("%M", await mailname(env));
  return out;
}

async function mailname(env: Env): Promise<string> {
  const path = mailnamePath(env);
  let text: string;
  try {
    text = await env.readTextFile(path);
  } catch (e) {
    throw new ConfigError(openFailure(e) ?? "input error", { file: path }, { cause: e });
  }
  const nl = text.indexOf("\n");
  return nl === -1 ? text : text.slice(0, nl);
}

/**
 * msmtp's check_account(): the first problem, in msmtp's words, or undefined.
 *
 * @example Usage
 * ```ts
 * import { checkAccount } from "./resolve.ts";
 * import { DEFAULT_SETTINGS } from "./account.ts";
 * console.log(checkAccount({ ...DEFAULT_SETTINGS }, false)); // "host not set"
 * ```
 */
export function checkAccount(
  s: Readonly<Settings>,
  needFrom: boolean,
): string | undefined {
  // `direct on` finds the mail hosts itself: no relay host is needed
  if (s.host === null && s.socket === null && !s.direct) return "host not set";
  if (s.port === 0 && s.socket === null && !s.direct) return "port not set";
  if (needFrom && s.from === null) return "envelope-from address is missing";
  if (s.tls && s.host === null && s.tls_host_override === null && !s.direct) {
    return "host not set";
  }
  if (s.tls_key_file !== null && s.tls_cert_file === null) {
    return "tls_key_file requires tls_cert_file";
  }
  if (s.tls_key_file === null && s.tls_cert_file !== null) {
    return "tls_cert_file requires tls_key_file";
  }
  if (
    s.tls && s.tls_certcheck && s.tls_trust_file === null && s.tls_fingerprint === null
  ) {
    return "tls requires either tls_trust_file (highly recommended) or tls_fingerprint " +
      "or a disabled tls_certcheck";
  }
  if (s.tls_crl_file !== null && s.tls_trust_file === null) {
    return "tls_crl_file requires tls_trust_file";
  }
  return undefined;
}
