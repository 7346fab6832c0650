/**
 * msmtprc → TOML (`--convert-to-toml`). The output, read back with
 * {@linkcode parseTomlConfig}, builds exactly the accounts the msmtprc file builds:
 * each block's commands are applied with the shared value rules and the resulting
 * settings are written under their canonical names (`connect_timeout` becomes
 * `timeout`, `keepbcc on` becomes `remove_bcc_headers = false`). Comments are not kept;
 * `eval` lines appear as the values they produced when the file was read.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { PartialSettings, SettingName } from "./account.ts";
import { DEFAULT_SETTINGS } from "./account.ts";
import { buildAccounts } from "./build.ts";
import type { ConfigBlock, ConfigSource } from "./source.ts";
import { applyCommand, SettingValueError } from "./values.ts";

/** Settings whose argument is a file name: written as given, so `~` stays `~`. */
const FILE_SETTINGS: ReadonlySet<string> = new Set([
  "tls_trust_file",
  "tls_crl_file",
  "tls_key_file",
  "tls_cert_file",
  "logfile",
  "aliases",
  "local_aliases",
  "mail_spool",
  "listen_tls_cert_file",
  "listen_tls_key_file",
  "listen_users",
  "queue_dir",
]);

/** A TOML value as this converter writes it. */
type TomlValue = string | number | boolean;

/**
 * Converts a parsed msmtprc file to TOML text. Throws the {@linkcode ConfigError} the
 * file would raise when loaded, so only a valid configuration is converted.
 *
 * @example Usage
 * ```ts
 * import { parseMsmtprc } from "./msmtprc.ts";
 * import { msmtprcToToml } from "./to_toml.ts";
 * const src = await parseMsmtprc("account a\nhost mx\nport 587\ntls\n", "rc");
 * console.log(msmtprcToToml(src));
 * // # postie configuration converted from rc …
 * // [accounts.a]
 * // host = "mx"
 * // port = 587
 * // tls = true
 * ```
 */
export function msmtprcToToml(source: ConfigSource): string {
  // Validate first with the real builder: the errors are then exactly the loader's.
  buildAccounts(source, { home: "~" });

  const out: string[] = [
    `# postie configuration converted from ${oneLine(source.path)} by --convert-to-toml.`,
    "# Comments were not kept; eval lines appear as the values they produced.",
  ];
  const blocks = [...source.blocks];
  const last = blocks[blocks.length - 1];
  if (
    last !== undefined && last.kind === "account" && last.name === "default" &&
    last.parents.length === 1 && last.commands.length === 0
  ) {
    // `account default : NAME` last in the file is exactly what the top-level key means.
    blocks.pop();
    out.push("", `default = ${tomlString(last.parents[0])}`);
  }

  const settings = blocks.map((b) => blockSettings(b, source.path));
  const usedDefaults =
    blocks.filter((b, i) => b.kind === "defaults" && settings[i].length > 0).length;
  blocks.forEach((block, i) => {
    if (block.kind === "defaults") {
      // An empty defaults block changes nothing; leaving it out keeps `[defaults]` usable.
      if (settings[i].length === 0) return;
      out.push("", usedDefaults > 1 ? "[[defaults]]" : "[defaults]");
    } else {
      out.push("", `[accounts.${tomlKey(block.name)}]`);
      if (block.parents.length > 0) {
        out.push(`inherit = [${block.parents.map(tomlString).join(", ")}]`);
      }
    }
    for (const [key, value] of settings[i]) out.push(`${key} = ${tomlValue(value)}`);
  });
  return out.join("\n") + "\n";
}

/** The settings one block sets, in `--pretend` order, as TOML key/value pairs. */
function blockSettings(block: ConfigBlock, file: string): [string, TomlValue][] {
  const set: PartialSettings = {};
  const rawFiles = new Map<string, string>();
  for (const command of block.commands) {
    try {
      applyCommand(set, command.name, command.arg, { home: "~" });
    } catch (e) {
      if (e instanceof SettingValueError) {
        throw new ConfigError(e.message, { file, line: command.line }, { cause: e });
      }
      throw e;
    }
    if (FILE_SETTINGS.has(command.name)) rawFiles.set(command.name, command.arg);
  }
  const pairs: [string, TomlValue][] = [];
  for (const name of Object.keys(DEFAULT_SETTINGS) as SettingName[]) {
    if (!(name in set)) continue;
    const value = FILE_SETTINGS.has(name) ? rawFiles.get(name) ?? "" : render(name, set[name]);
    pairs.push([name, value]);
  }
  return pairs;
}

/** The TOML value that the TOML reader turns back into this typed setting. */
function render(name: SettingName, value: unknown): TomlValue {
  switch (name) {
    case "timeout":
      return value === 0 ? "off" : value as number;
    case "proxy_port":
      return value === 0 ? "" : value as number;
    case "auth":
      return value === "on" ? true : value === "off" ? false : (value as string).toLowerCase();
    case "syslog":
      return value === null ? false : value === "LOG_USER" ? true : value as string;
    case "dsn_notify":
      return value === null ? "off" : (value as string).toLowerCase();
    case "dsn_return":
      return value === null ? "off" : value === "HDRS" ? "headers" : "full";
    case "listen_rate":
      return value === 0 ? "off" : value as number;
    // postie: the queue
    case "queue_warn":
      return value === null ? "off" : value as number;
    case "queue_backoff":
    case "failover":
      return (value as readonly (string | number)[]).join(",");
  }
  if (value === null) return "";
  return value as TomlValue;
}

function tomlValue(value: TomlValue): string {
  return typeof value === "string" ? tomlString(value) : String(value);
}

/** A bare key when TOML allows one, else a quoted key. */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

const SHORT_ESCAPES: Record<string, string> = {
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\f": "\\f",
  "\r": "\\r",
  '"': '\\"',
  "\\": "\\\\",
};

/** A TOML basic string; control characters are escaped, everything else kept. */
function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch in SHORT_ESCAPES) out += SHORT_ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, "?");
}
