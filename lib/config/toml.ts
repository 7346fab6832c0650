/**
 * The TOML configuration format: the same settings with the same meaning as msmtprc,
 * read into the same {@linkcode ConfigSource} so one builder checks both.
 *
 * ```toml
 * env_file = "smtp.env"
 * default = "work"
 *
 * [defaults]
 * tls = true
 *
 * [accounts.work]
 * host = "smtp.example.com"
 * password = { env = "SMTP_PASSWORD" }
 * ```
 *
 * The file is read top to bottom like msmtprc: `[defaults]` (or each `[[defaults]]`)
 * applies to the accounts written below it, an account may only inherit from accounts
 * above it, and `default = "NAME"` reads as `account default : NAME` at the end.
 * smol-toml is imported only when a TOML file is actually read.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { AccountBlock, ConfigBlock, ConfigCommand, ConfigSource } from "./source.ts";
import { applyCommand, COMMAND_NAMES, SettingValueError } from "./values.ts";
import { loadDotenv } from "./dotenv.ts";

/** What {@linkcode parseTomlConfig} needs from the outside world. */
export interface TomlOptions {
  /**
   * Looks up an environment variable for `{ env = "NAME" }` (the process environment,
   * then `--env-file`); the file's own `env_file` is consulted after it.
   */
  env: (name: string) => string | undefined;
  /**
   * Reads the file named by `env_file` (already resolved to a path). Defaults to reading
   * it from disk; callers pass their own to check the file's permissions first.
   */
  readEnvFile?: (path: string) => Promise<Record<string, string>>;
  /** The home directory a leading `~` in `env_file` expands to; defaults to `$HOME`. */
  home?: string;
}

/** Top-level keys of the format; everything else at the top is refused. */
const TOP_LEVEL = ["default", "env_file", "defaults", "accounts"];

/** Commands whose msmtprc argument may be `on`/`off`, so a TOML boolean fits. */
const BOOLEAN_COMMANDS = new Set([
  "tls",
  "tls_starttls",
  "tls_certcheck",
  "auto_from",
  "allow_from_override",
  "remove_bcc_headers",
  "undisclosed_recipients",
  "add_missing_from_header",
  "add_missing_date_header",
  "keepbcc",
  "auth",
  "syslog",
  "set_from_header",
  "set_date_header",
  "set_msgid_header",
  "dsn_notify",
  "dsn_return",
  "timeout",
  "connect_timeout",
  "tls_nocertcheck",
  "tls_nostarttls",
  "tls_force_sslv3",
  // direct and local delivery
  "direct",
  "mta_sts",
  "dane",
  // postie: the queue
  "queue",
  "queue_warn",
]);

/** Commands taking a number, so a TOML integer fits. */
const INTEGER_COMMANDS = new Set([
  "listen_max_size",
  "listen_max_recipients",
  "listen_max_connections",
  "listen_idle_timeout",
  "listen_rate",
  "port",
  "proxy_port",
  "timeout",
  "connect_timeout",
  "tls_min_dh_prime_bits",
  // postie: the queue (seconds)
  "queue_lifetime",
  "queue_warn",
]);

/** Commands taking a list, so a TOML array fits (joined with `, `). */
const LIST_COMMANDS = new Set([
  "listen",
  "listen_allow",
  "listen_allow_from",
  "listen_allow_rcpt",
  // postie: the queue (names; durations, which may be numbers of seconds)
  "failover",
  "queue_backoff",
]);

/** Commands that take no argument: `true` writes them, as the bare msmtprc line does. */
const BARE_COMMANDS = new Set(["tls_nocertcheck", "tls_nostarttls"]);

/** Commands whose value is a secret: a file writing one must be private, as for msmtprc. */
const SECRET_COMMANDS = new Set(["password", "oauth2_client_secret", "oauth2_refresh_token"]);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads TOML configuration text into a {@linkcode ConfigSource}. Throws
 * {@linkcode ConfigError} (exit 78) for TOML syntax errors (`FILE: line N: invalid
 * TOML: …`), misplaced keys, values of the wrong type and missing environment
 * variables; value rules and unknown commands are left to the shared builder.
 *
 * @example Usage
 * ```ts
 * import { parseTomlConfig } from "./toml.ts";
 * const text = '[accounts.a]\nhost = "mail.example"\npassword = { env = "PW" }\n';
 * const src = await parseTomlConfig(text, "config.toml", { env: () => "s3cret" });
 * console.log(src.blocks[0].commands.map((c) => c.name)); // ["host", "password"]
 * ```
 */
export async function parseTomlConfig(
  text: string,
  path: string,
  options: TomlOptions,
): Promise<ConfigSource> {
  const doc = await parseToml(text, path);
  const lines = locateKeys(text);
  const lineOf = (keyPath: string[]): number => {
    for (let n = keyPath.length; n > 0; n--) {
      const line = lines.get(keyPath.slice(0, n).join(SEP));
      if (line !== undefined) return line;
    }
    return 1;
  };
  const fail = (message: string, keyPath: string[]): never => {
    throw new ConfigError(message, { file: path, line: lineOf(keyPath) });
  };

  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.includes(key)) {
      fail(
        `unknown top-level key ${quoteName(key)}; settings belong in [defaults] or [accounts.NAME]`,
        [key],
      );
    }
  }

  const fileVars = await envFileVariables(
    doc.env_file,
    path,
    options,
    (m) => fail(m, ["env_file"]),
  );
  const lookup = (name: string): string | undefined => {
    // Own properties only: a variable called `toString` is not a method of a record.
    const value = options.env(name) ?? (Object.hasOwn(fileVars, name) ? fileVars[name] : undefined);
    return typeof value === "string" ? value : undefined;
  };
  const source: ConfigSource = { path, blocks: [], holdsPassword: false };

  // Blocks are ordered by where they are written, so defaults and inheritance read as msmtprc.
  const placed: {
    line: number;
    block: ConfigBlock;
    table: Record<string, unknown>;
    at: string[];
  }[] = [];
  const defaults = doc.defaults;
  if (defaults !== undefined) {
    const tables = Array.isArray(defaults) ? defaults : [defaults];
    tables.forEach((table, i) => {
      const at = Array.isArray(defaults) ? ["defaults", String(i)] : ["defaults"];
      if (!isTable(table)) fail("defaults must be a table of settings", at);
      const line = lineOf(at);
      placed.push({ line, block: { kind: "defaults", line, commands: [] }, table, at });
    });
  }
  const accounts = doc.accounts;
  if (accounts !== undefined) {
    if (!isTable(accounts)) {
      fail("accounts must be a table of [accounts.NAME] tables", ["accounts"]);
    }
    for (const [name, table] of Object.entries(accounts as Record<string, unknown>)) {
      const at = ["accounts", name];
      checkAccountName(name, (m) => fail(m, at));
      if (!isTable(table)) fail(`account ${name} must be a table of settings`, at);
      const line = lineOf(at);
      const parents = inheritList(
        (table as Record<string, unknown>).inherit,
        (m) => fail(m, [...at, "inherit"]),
      );
      const block: AccountBlock = { kind: "account", name, parents, line, commands: [] };
      placed.push({ line, block, table: table as Record<string, unknown>, at });
    }
  }
  placed.sort((a, b) => a.line - b.line);

  for (const { block, table, at } of placed) {
    for (const [key, value] of Object.entries(table)) {
      const keyPath = [...at, key];
      if (key === "inherit") {
        if (block.kind === "defaults") {
          fail("inherit belongs in an account, not in defaults", keyPath);
        }
        continue;
      }
      const arg = argument(key, value, lookup, (m) => fail(m, keyPath));
      if (SECRET_COMMANDS.has(key) && typeof value === "string") source.holdsPassword = true;
      const command: ConfigCommand = { name: key, arg, line: lineOf(keyPath) };
      block.commands.push(command);
    }
    source.blocks.push(block);
  }

  if (doc.default !== undefined) {
    const parent = doc.default;
    if (typeof parent !== "string") fail("default must be the name of an account", ["default"]);
    checkAccountName(parent as string, (m) => fail(m, ["default"]));
    source.blocks.push({
      kind: "account",
      name: "default",
      parents: [parent as string],
      line: lineOf(["default"]),
      commands: [],
    });
  }
  return source;
}

/** Parses with smol-toml, turning its errors into `FILE: line N: invalid TOML: …`. */
async function parseToml(text: string, path: string): Promise<Record<string, unknown>> {
  const { parse, TomlError } = await import("npm:smol-toml@^1.3.1");
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    // smol-toml's message carries a code excerpt after the first line; keep one line.
    const first = (e instanceof Error ? e.message : String(e)).split("\n")[0]
      .replace(/^Invalid TOML document: /, "");
    if (e instanceof TomlError) {
      throw new ConfigError(`invalid TOML: ${first} (column ${e.column})`, {
        file: path,
        line: e.line,
      }, { cause: e });
    }
    // Deeply nested input exhausts the stack inside the parser: still a config error.
    throw new ConfigError(`invalid TOML: ${first}`, { file: path }, { cause: e });
  }
}

/** The variables of the file named by `env_file`, or none. */
async function envFileVariables(
  value: unknown,
  configPath: string,
  options: TomlOptions,
  fail: (message: string) => never,
): Promise<Record<string, string>> {
  if (value === undefined) return {};
  if (typeof value !== "string" || value === "" || hasLineBreak(value)) {
    fail("env_file must be the path of a .env file");
  }
  const path = envFilePath(value as string, configPath, options.home);
  try {
    return await (options.readEnvFile ?? loadDotenv)(path);
  } catch (e) {
    if (e instanceof ConfigError) fail(`env_file: ${e.message}`);
    throw e;
  }
}

/** `~` is the home directory; a relative path is relative to the config file's directory. */
function envFilePath(value: string, configPath: string, home: string | undefined): string {
  if (value === "~" || value.startsWith("~/")) {
    return (home ?? Deno.env.get("HOME") ?? "") + value.slice(1);
  }
  if (value.startsWith("/")) return value;
  const slash = configPath.lastIndexOf("/");
  return slash === -1 ? value : configPath.slice(0, slash + 1) + value;
}

/** The msmtprc argument string a TOML value stands for. */
function argument(
  command: string,
  value: unknown,
  lookup: (name: string) => string | undefined,
  fail: (message: string) => never,
): string {
  const known = COMMAND_NAMES.includes(command);
  if (typeof value === "string") {
    if (hasLineBreak(value)) {
      fail(`the value of ${quoteName(command)} must not contain a line break`);
    }
    return value;
  }
  // An unknown command is reported by the builder, in file order, whatever its value.
  if (!known) return "";
  if (typeof value === "boolean" && BOOLEAN_COMMANDS.has(command)) {
    if (BARE_COMMANDS.has(command)) return value ? "" : "off";
    return value ? "on" : "off";
  }
  if (typeof value === "number" && INTEGER_COMMANDS.has(command) && Number.isInteger(value)) {
    return String(value);
  }
  if (
    Array.isArray(value) && LIST_COMMANDS.has(command) &&
    value.every((v) =>
      (typeof v === "string" && !hasLineBreak(v) && !v.includes(",")) ||
      (typeof v === "number" && Number.isInteger(v))
    )
  ) {
    return value.join(", ");
  }
  if (isTable(value) && "env" in value) return envArgument(command, value, lookup, fail);
  return fail(`invalid value for command ${command}: expected ${expected(command)}`);
}

/** Resolves `{ env = "NAME" }`; messages name the variable, never its value. */
function envArgument(
  command: string,
  ref: Record<string, unknown>,
  lookup: (name: string) => string | undefined,
  fail: (message: string) => never,
): string {
  const name = ref.env;
  if (Object.keys(ref).length !== 1 || typeof name !== "string") {
    fail(`invalid value for command ${command}: write { env = "NAME" }`);
  }
  const variable = name as string;
  if (!ENV_NAME.test(variable)) {
    fail(`invalid environment variable name ${quoteName(variable)} for command ${command}`);
  }
  const value = lookup(variable);
  if (value === undefined) {
    fail(`environment variable ${variable} for command ${command} is not set`);
  }
  const text = value as string;
  if (hasLineBreak(text)) {
    fail(`environment variable ${variable} for command ${command} contains a line break`);
  }
  try {
    // Checked here so that the builder's message, which quotes the value, never sees it.
    applyCommand({}, command, text, { home: "" });
  } catch (e) {
    if (!(e instanceof SettingValueError)) throw e;
    fail(
      e.reason === "missing"
        ? `environment variable ${variable} for command ${command} is empty`
        : `environment variable ${variable} does not hold a valid value for command ${command}`,
    );
  }
  return text;
}

function expected(command: string): string {
  const kinds = [];
  if (INTEGER_COMMANDS.has(command)) kinds.push("a number");
  if (BOOLEAN_COMMANDS.has(command)) kinds.push("true/false");
  if (LIST_COMMANDS.has(command)) kinds.push("a list of strings");
  kinds.push('a string or { env = "NAME" }');
  return kinds.join(", ");
}

/** `inherit = "a"` or `inherit = ["a", "b"]`. */
function inheritList(value: unknown, fail: (message: string) => never): string[] {
  if (value === undefined) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || !list.every((p) => typeof p === "string")) {
    fail("inherit must be an account name or a list of account names");
  }
  for (const parent of list as string[]) checkAccountName(parent, fail);
  return list as string[];
}

/**
 * Refuses names msmtprc could not write, so both formats define the same accounts and
 * every message stays on one line. An empty name is left to the builder.
 */
function checkAccountName(name: string, fail: (message: string) => never): void {
  if (name.includes(":") || name.includes(",")) {
    fail("an account name must not contain colons or commas");
  }
  if (hasLineBreak(name)) fail(`account name ${quoteName(name)} must not contain a line break`);
  if (name !== name.replace(/^[ \t]+|[ \t]+$/g, "")) {
    fail(`account name ${quoteName(name)} must not start or end with blanks`);
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** What an msmtprc line cannot hold: a line feed ends it, a NUL cuts it (a C string). */
function hasLineBreak(s: string): boolean {
  return s.includes("\n") || s.includes("\0");
}

/** A name as it may appear in a message: bare when plain, else JSON-quoted (one line). */
function quoteName(name: string): string {
  return /^[A-Za-z0-9_.@+-]+$/.test(name) ? name : JSON.stringify(name);
}

// ---------------------------------------------------------------------------------------
// Key locations. smol-toml gives values without positions, so a small scanner walks the
// (already valid) text once and records the line where each key path first appears.

const SEP = "\u0000";

/**
 * The 1-based line of each key path (parts joined by NUL; array elements by index).
 * Never throws: on anything unexpected it returns what it found so far.
 */
function locateKeys(text: string): Map<string, number> {
  const found = new Map<string, number>();
  const scanner = new KeyScanner(text, found);
  try {
    scanner.document();
  } catch {
    // Positions are a courtesy for messages; a confused scan only loses precision.
  }
  return found;
}

class KeyScanner {
  #i = 0;
  #line = 1;
  #arrayTables = new Map<string, number>();

  constructor(readonly text: string, readonly found: Map<string, number>) {
    // smol-toml accepts a byte-order mark; skip it so the first line's key is seen.
    if (text.startsWith("\ufeff")) this.#i = 1;
  }

  document(): void {
    let table: string[] = [];
    while (true) {
      this.#skipBlank(true);
      if (this.#i >= this.text.length) return;
      const start = this.#i;
      const line = this.#line;
      if (this.text.startsWith("[[", this.#i)) {
        this.#i += 2;
        const key = this.#key();
        const id = key.join(SEP);
        const index = this.#arrayTables.get(id) ?? 0;
        this.#arrayTables.set(id, index + 1);
        table = [...key, String(index)];
        this.#record(table, line);
        this.#skipLine();
      } else if (this.text[this.#i] === "[") {
        this.#i++;
        table = this.#key();
        this.#record(table, line);
        this.#skipLine();
      } else {
        const path = [...table, ...this.#key()];
        this.#record(path, line);
        this.#skipBlank(false);
        if (this.text[this.#i] === "=") this.#i++;
        this.#value(path);
      }
      if (this.#i === start) this.#i++;
    }
  }

  #record(path: string[], line: number): void {
    for (let n = 1; n <= path.length; n++) {
      const id = path.slice(0, n).join(SEP);
      if (!this.found.has(id)) this.found.set(id, line);
    }
  }

  /** Skips blanks, and with `newlines` also line ends and comments. */
  #skipBlank(newlines: boolean): void {
    while (this.#i < this.text.length) {
      const c = this.text[this.#i];
      if (c === " " || c === "\t" || (newlines && c === "\r")) this.#i++;
      else if (newlines && c === "\n") {
        this.#i++;
        this.#line++;
      } else if (newlines && c === "#") {
        while (this.#i < this.text.length && this.text[this.#i] !== "\n") this.#i++;
      } else return;
    }
  }

  #skipLine(): void {
    while (this.#i < this.text.length && this.text[this.#i] !== "\n") this.#i++;
  }

  /** A dotted key: bare, "basic" or 'literal' parts. */
  #key(): string[] {
    const parts: string[] = [];
    while (this.#i < this.text.length) {
      this.#skipBlank(false);
      const c = this.text[this.#i];
      if (c === '"') parts.push(unescapeBasic(this.#string('"')));
      else if (c === "'") parts.push(this.#string("'"));
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.#i, this.#i + 256));
        if (m === null) break;
        parts.push(m[0]);
        this.#i += m[0].length;
      }
      this.#skipBlank(false);
      if (this.text[this.#i] !== ".") break;
      this.#i++;
    }
    return parts;
  }

  /** A single-line string starting at the quote; returns its raw content. */
  #string(quote: string): string {
    const start = ++this.#i;
    while (this.#i < this.text.length && this.text[this.#i] !== quote) {
      if (this.text[this.#i] === "\n") return this.text.slice(start, this.#i);
      if (quote === '"' && this.text[this.#i] === "\\") this.#i++;
      this.#i++;
    }
    const raw = this.text.slice(start, this.#i);
    this.#i++;
    return raw;
  }

  #multiline(delim: string): void {
    this.#i += 3;
    while (this.#i < this.text.length && !this.text.startsWith(delim, this.#i)) {
      if (this.text[this.#i] === "\n") this.#line++;
      if (delim === '"""' && this.text[this.#i] === "\\") {
        this.#i++;
        if (this.text[this.#i] === "\n") this.#line++;
      }
      this.#i++;
    }
    this.#i += 3;
    // Up to two more quotes may close a multi-line string (`""""` ends with a quote).
    while (this.text[this.#i] === delim[0]) this.#i++;
  }

  #value(path: string[]): void {
    this.#skipBlank(false);
    const c = this.text[this.#i];
    if (this.text.startsWith('"""', this.#i) || this.text.startsWith("'''", this.#i)) {
      this.#multiline(this.text.slice(this.#i, this.#i + 3));
    } else if (c === '"' || c === "'") {
      this.#string(c);
    } else if (c === "{") {
      this.#i++;
      while (this.#i < this.text.length) {
        this.#skipBlank(true);
        const here = this.#i;
        const d = this.text[this.#i];
        if (d === "}") {
          this.#i++;
          return;
        }
        if (d === ",") {
          this.#i++;
          continue;
        }
        const line = this.#line;
        const sub = [...path, ...this.#key()];
        this.#record(sub, line);
        this.#skipBlank(false);
        if (this.text[this.#i] === "=") this.#i++;
        this.#value(sub);
        if (this.#i === here) this.#i++;
      }
    } else if (c === "[") {
      this.#i++;
      let index = 0;
      while (this.#i < this.text.length) {
        this.#skipBlank(true);
        const here = this.#i;
        const d = this.text[this.#i];
        if (d === "]") {
          this.#i++;
          return;
        }
        if (d === ",") {
          this.#i++;
          index++;
          continue;
        }
        const element = [...path, String(index)];
        this.#record(element, this.#line);
        this.#value(element);
        if (this.#i === here) this.#i++;
      }
    } else {
      while (this.#i < this.text.length && !",]}#\n".includes(this.text[this.#i])) this.#i++;
    }
  }
}

/** Decodes a basic string's escapes, as TOML does for quoted keys. */
function unescapeBasic(raw: string): string {
  const simple: Record<string, string> = {
    b: "\b",
    t: "\t",
    n: "\n",
    f: "\f",
    r: "\r",
    e: "\x1b",
    '"': '"',
    "\\": "\\",
  };
  return raw.replace(
    /\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2})|(.))/g,
    (whole, u4, u8, x2, ch) => {
      const hex = u4 ?? u8 ?? x2;
      if (hex !== undefined) {
        const code = parseInt(hex, 16);
        return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return simple[ch] ?? whole;
    },
  );
}
