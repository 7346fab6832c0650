/**
 * The value rules of every msmtp 1.8.23 configuration command: one argument string in,
 * one typed setting out. The msmtprc reader, the TOML reader and the command-line
 * options all go through {@linkcode applyCommand}, so `port 99999` in a file and
 * `--port=99999` on the command line are refused by the same rule.
 *
 * @module
 */

import { type PartialSettings, RELAY_SETTINGS } from "./account.ts";
import { parseHostPort, parseNetworks } from "./networks.ts";

/** Why a command was refused. */
export type SettingValueReason = "unknown" | "invalid" | "missing";

/**
 * A command or its argument was refused. `message` is msmtp's configuration-file
 * wording without the `FILE: line N: ` prefix (`invalid argument 99999 for command port`);
 * command-line code words its own message from `reason`.
 *
 * @example Usage
 * ```ts
 * import { SettingValueError } from "./values.ts";
 * const e = new SettingValueError("invalid", "port", "0");
 * console.log(e.message); // "invalid argument 0 for command port"
 * ```
 */
export class SettingValueError extends Error {
  /** `unknown` command, `invalid` argument, or `missing` argument. */
  readonly reason: SettingValueReason;
  /** The command as written. */
  readonly command: string;
  /** The refused argument as written. */
  readonly arg: string;

  constructor(reason: SettingValueReason, command: string, arg: string, message?: string) {
    super(message ?? defaultMessage(reason, command, arg));
    this.name = "SettingValueError";
    this.reason = reason;
    this.command = command;
    this.arg = arg;
  }
}

/**
 * A setting msmtp has and postie cannot apply: refused where it is read, never printed and
 * ignored. `why` says what postie does instead.
 */
export class UnsupportedSettingError extends SettingValueError {
  /** What postie does instead, and what to change. */
  readonly why: string;

  /** The command, its argument and the explanation. */
  constructor(command: string, arg: string, why: string) {
    super("invalid", command, arg, `command ${command} is not supported: ${why}`);
    this.name = "UnsupportedSettingError";
    this.why = why;
  }
}

function defaultMessage(reason: SettingValueReason, command: string, arg: string): string {
  switch (reason) {
    case "unknown":
      return `unknown command ${command}`;
    case "missing":
      return `command ${command} needs an argument`;
    case "invalid":
      return `invalid argument ${arg} for command ${command}`;
  }
}

/** What value rules need from the outside world. */
export interface ValueContext {
  /** The home directory `~` expands to; defaults to `$HOME`. */
  home?: string;
}

/** The authentication methods msmtp 1.8.23 accepts, as written in a config file. */
export const AUTH_METHODS: readonly string[] = Object.freeze([
  "plain",
  "scram-sha-1",
  "scram-sha-256",
  "external",
  "gssapi",
  "cram-md5",
  "digest-md5",
  "login",
  "ntlm",
  "oauthbearer",
  "xoauth2",
]);

/** Every command name {@linkcode applyCommand} knows (`account`, `defaults`, `eval` are grammar). */
export const COMMAND_NAMES: readonly string[] = Object.freeze([
  "host",
  "port",
  "source_ip",
  "proxy_host",
  "proxy_port",
  "socket",
  "timeout",
  "connect_timeout",
  "protocol",
  "domain",
  "auth",
  "user",
  "password",
  "passwordeval",
  "ntlmdomain",
  "tls",
  "tls_starttls",
  "tls_trust_file",
  "tls_crl_file",
  "tls_fingerprint",
  "tls_key_file",
  "tls_cert_file",
  "tls_certcheck",
  "tls_min_dh_prime_bits",
  "tls_priorities",
  "tls_host_override",
  "tls_nocertcheck",
  "tls_nostarttls",
  "tls_force_sslv3",
  "auto_from",
  "maildomain",
  "from",
  "allow_from_override",
  "set_from_header",
  "set_date_header",
  "set_msgid_header",
  "remove_bcc_headers",
  "undisclosed_recipients",
  "add_missing_from_header",
  "add_missing_date_header",
  "keepbcc",
  "dsn_notify",
  "dsn_return",
  "logfile",
  "logfile_time_format",
  "syslog",
  "aliases",
  "oauth2_token_endpoint",
  "oauth2_client_id",
  "oauth2_client_secret",
  "oauth2_client_secret_eval",
  "oauth2_refresh_token",
  "oauth2_refresh_token_eval",
  "oauth2_scope",
  // direct and local delivery
  "direct",
  "dns_server",
  "mta_sts",
  "dane",
  "local_domains",
  "local_aliases",
  "mail_spool",
  "maildir",
  // the relay listener
  ...RELAY_SETTINGS,
  "queue",
  "queue_dir",
  "queue_lifetime",
  "queue_backoff",
  "queue_warn",
  "failover",
]);

/**
 * Parses one command's argument exactly as msmtp 1.8.23's conf.c does and stores the
 * typed value in `set` (`null` for an explicit unset). Throws {@linkcode SettingValueError}.
 *
 * @example Usage
 * ```ts
 * import { applyCommand } from "./values.ts";
 * const set = {};
 * applyCommand(set, "auth", "plain");
 * applyCommand(set, "tls_trust_file", "~/ca.pem", { home: "/home/joe" });
 * console.log(set); // { auth: "PLAIN", tls_trust_file: "/home/joe/ca.pem" }
 * ```
 */
export function applyCommand(
  set: PartialSettings,
  name: string,
  arg: string,
  context: ValueContext = {},
): void {
  const bad = (): SettingValueError => new SettingValueError("invalid", name, arg);
  const need = (): void => {
    if (arg === "") throw new SettingValueError("missing", name, arg);
  };
  const onOff = (): boolean => {
    // An empty argument means "on" for every on/off command except allow_from_override.
    if (arg === "" || arg === "on") return true;
    if (arg === "off") return false;
    throw bad();
  };
  const text = (): string | null => arg === "" ? null : arg;
  const file = (): string | null => arg === "" ? null : expandTilde(arg, context);
  const noArg = (): void => {
    if (arg !== "") {
      throw new SettingValueError(
        "invalid",
        name,
        arg,
        `command ${name} does not take an argument`,
      );
    }
  };

  switch (name) {
    case "host":
      need();
      set.host = hostText(name, arg, "a host name or IP address", true);
      return;
    case "port":
      need();
      set.port = portNumber(arg) ?? throwError(bad());
      return;
    case "source_ip":
      set.source_ip = text();
      return;
    case "proxy_host":
      set.proxy_host = arg === "" ? null : hostText(name, arg, "a host name or IP address", true);
      return;
    case "proxy_port":
      set.proxy_port = arg === "" ? 0 : portNumber(arg) ?? throwError(bad());
      return;
    case "socket":
      set.socket = text();
      return;
    case "timeout":
    case "connect_timeout":
      need();
      set.timeout = arg === "off" ? 0 : positiveInt(arg) ?? throwError(bad());
      return;
    case "protocol":
      need();
      if (arg !== "smtp" && arg !== "lmtp") throw bad();
      set.protocol = arg;
      return;
    case "domain":
      set.domain = hostText(
        name,
        arg,
        "an EHLO argument: a host name or an address literal " +
          "such as [192.0.2.1]",
        true,
      );
      return;
    case "auth":
      set.auth = authValue(arg) ?? throwError(bad());
      return;
    case "user":
      set.user = text();
      return;
    case "password":
      set.password = text();
      return;
    case "passwordeval":
      set.passwordeval = text();
      return;
    case "ntlmdomain":
      set.ntlmdomain = text();
      return;
    case "tls":
      set.tls = onOff();
      return;
    case "tls_starttls":
      set.tls_starttls = onOff();
      return;
    case "tls_trust_file":
      set.tls_trust_file = file();
      return;
    case "tls_crl_file":
      set.tls_crl_file = file();
      return;
    case "tls_fingerprint":
      set.tls_fingerprint = arg === "" ? null : fingerprint(arg) ?? throwError(bad());
      return;
    case "tls_key_file":
      set.tls_key_file = file();
      return;
    case "tls_cert_file":
      set.tls_cert_file = file();
      return;
    case "tls_certcheck":
      set.tls_certcheck = onOff();
      return;
    // GnuTLS settings with no counterpart in postie's TLS library: refused rather than
    // printed by --pretend and silently not applied. An empty argument (unset) is harmless.
    case "tls_min_dh_prime_bits":
      if (arg !== "") {
        positiveInt(arg) ?? throwError(bad());
        throw new UnsupportedSettingError(
          name,
          arg,
          "postie's TLS library never uses finite-field Diffie-Hellman (only elliptic-curve " +
            "key exchange), so there is no prime to check; remove it",
        );
      }
      set.tls_min_dh_prime_bits = null;
      return;
    case "tls_priorities":
      if (arg !== "") {
        throw new UnsupportedSettingError(
          name,
          arg,
          "postie uses TLS 1.2 and 1.3 with its TLS library's default cipher suites, which " +
            "cannot be changed; remove it",
        );
      }
      set.tls_priorities = null;
      return;
    case "tls_host_override":
      set.tls_host_override = arg === "" ? null : hostText(
        name,
        arg,
        "the host name or IP address the certificate must name",
        true,
      );
      return;
    case "tls_nocertcheck":
      noArg();
      set.tls_certcheck = false;
      return;
    case "tls_nostarttls":
      noArg();
      set.tls_starttls = false;
      return;
    case "tls_force_sslv3":
      // Accepted with any argument and ignored, for configs written for msmtp <= 1.4.32.
      return;
    case "auto_from":
      set.auto_from = onOff();
      return;
    case "maildomain":
      set.maildomain = hostText(name, arg, "a mail domain such as example.org", false);
      return;
    case "from":
      set.from = arg;
      return;
    case "allow_from_override":
      if (arg !== "on" && arg !== "off") throw bad();
      set.allow_from_override = arg === "on";
      return;
    case "set_from_header":
      if (arg === "" || arg === "auto") set.set_from_header = "auto";
      else if (arg === "on" || arg === "off") set.set_from_header = arg;
      else throw bad();
      return;
    case "set_date_header":
      set.set_date_header = autoOff(arg) ?? throwError(bad());
      return;
    case "set_msgid_header":
      set.set_msgid_header = autoOff(arg) ?? throwError(bad());
      return;
    case "remove_bcc_headers":
      set.remove_bcc_headers = onOff();
      return;
    case "undisclosed_recipients":
      set.undisclosed_recipients = onOff();
      return;
    case "add_missing_from_header":
      set.set_from_header = onOff() ? "auto" : "off";
      return;
    case "add_missing_date_header":
      set.set_date_header = onOff() ? "auto" : "off";
      return;
    case "keepbcc":
      set.remove_bcc_headers = !onOff();
      return;
    case "dsn_notify":
      need();
      set.dsn_notify = arg === "off" ? null : dsnNotify(arg) ?? throwError(bad());
      return;
    case "dsn_return":
      need();
      if (arg === "off") set.dsn_return = null;
      else if (arg === "headers") set.dsn_return = "HDRS";
      else if (arg === "full") set.dsn_return = "FULL";
      else throw bad();
      return;
    case "logfile":
      set.logfile = file();
      return;
    case "logfile_time_format":
      set.logfile_time_format = text();
      return;
    case "syslog":
      if (arg === "" || arg === "on") set.syslog = "LOG_USER";
      else if (arg === "off") set.syslog = null;
      else if (isSyslogFacility(arg)) set.syslog = arg;
      else throw bad();
      return;
    case "aliases":
      set.aliases = file();
      return;
    case "oauth2_token_endpoint":
      if (arg !== "" && !isTokenEndpoint(arg)) {
        throw new SettingValueError(
          "invalid",
          name,
          arg,
          `invalid argument ${arg} for command ${name}: ` +
            "expected an https URL (http only for localhost)",
        );
      }
      set.oauth2_token_endpoint = text();
      return;
    case "oauth2_client_id":
      set.oauth2_client_id = text();
      return;
    case "oauth2_client_secret":
      set.oauth2_client_secret = text();
      return;
    case "oauth2_client_secret_eval":
      set.oauth2_client_secret_eval = text();
      return;
    case "oauth2_refresh_token":
      set.oauth2_refresh_token = text();
      return;
    case "oauth2_refresh_token_eval":
      set.oauth2_refresh_token_eval = text();
      return;
    case "oauth2_scope":
      set.oauth2_scope = text();
      return;
    // direct and local delivery
    case "direct":
      set.direct = onOff();
      return;
    case "dns_server":
      if (arg !== "" && !isDnsServer(arg)) {
        throw new SettingValueError(
          "invalid",
          name,
          arg,
          `invalid argument ${arg} for command ${name}: expected an IP address, IP:PORT or [IPv6]:PORT`,
        );
      }
      set.dns_server = text();
      return;
    case "mta_sts":
      set.mta_sts = onOff();
      return;
    case "dane":
      set.dane = onOff();
      return;
    case "local_domains":
      set.local_domains = arg === "" ? null : domainList(arg) ?? throwError(bad());
      return;
    case "local_aliases":
      set.local_aliases = file();
      return;
    case "mail_spool":
      set.mail_spool = file();
      return;
    case "maildir":
      // `~/` is the recipient's home, expanded at delivery, not the configuring user's
      set.maildir = text();
      return;
    // the relay listener
    case "listen":
      set.listen = arg === "" ? null : addressList(arg) ?? throwError(bad());
      return;
    case "metrics_listen":
      set.metrics_listen = arg === "" ? null : addressList(arg, true) ?? throwError(bad());
      return;
    case "listen_tls_cert_file":
      set.listen_tls_cert_file = file();
      return;
    case "listen_tls_key_file":
      set.listen_tls_key_file = file();
      return;
    case "listen_users":
      set.listen_users = file();
      return;
    case "listen_allow":
      set.listen_allow = arg === "" ? null : networkList(arg) ?? throwError(bad());
      return;
    case "listen_allow_from":
      set.listen_allow_from = text();
      return;
    case "listen_allow_rcpt":
      set.listen_allow_rcpt = text();
      return;
    case "listen_max_size":
      need();
      set.listen_max_size = positiveInt(arg) ?? throwError(bad());
      return;
    case "listen_max_recipients":
      need();
      set.listen_max_recipients = positiveInt(arg) ?? throwError(bad());
      return;
    case "listen_max_connections":
      need();
      set.listen_max_connections = positiveInt(arg) ?? throwError(bad());
      return;
    case "listen_idle_timeout":
      need();
      set.listen_idle_timeout = positiveInt(arg) ?? throwError(bad());
      return;
    case "listen_bare_newlines":
      need();
      if (arg !== "normalize" && arg !== "reject") throw bad();
      set.listen_bare_newlines = arg;
      return;
    case "listen_rate":
      need();
      set.listen_rate = arg === "off" || arg === "0" ? 0 : positiveInt(arg) ?? throwError(bad());
      return;
    // --- postie: the queue ---
    case "queue":
      if (arg !== "off" && arg !== "fallback" && arg !== "always") throw bad();
      set.queue = arg;
      return;
    case "queue_dir":
      set.queue_dir = file();
      return;
    case "queue_lifetime":
      need();
      set.queue_lifetime = parseDuration(arg) ?? throwError(bad());
      return;
    case "queue_backoff": {
      need();
      const [min, max, extra] = arg.split(",").map((part) => parseDuration(part));
      if (min === undefined || extra !== undefined || arg.split(",").length > 2) throw bad();
      const top = arg.includes(",") ? max : Math.max(min, 4000);
      if (top === undefined || top < min) throw bad();
      set.queue_backoff = [min, top];
      return;
    }
    case "queue_warn":
      set.queue_warn = arg === "" || arg === "off" ? null : parseDuration(arg) ?? throwError(bad());
      return;
    case "failover": {
      const names = arg.split(",").map((name) => name.trim()).filter((name) => name !== "");
      if (names.some((name) => /[\s:]/.test(name))) throw bad();
      set.failover = names;
      return;
    }
    default:
      throw new SettingValueError("unknown", name, arg);
  }
}

/** RFC 5321 §4.5.3.1.2: a domain name is at most 255 octets. */
const MAX_DOMAIN = 255;
/**
 * Letters, digits, `-`, `_`, `.` and msmtp's `%H`-style expansions: a host or domain name (an
 * international one too, as msmtp converts it with libidn2) or an IPv4 address.
 */
const NAME = /^(?:[\p{L}\p{N}\p{M}_-]|%[A-Za-z%]|\.)+$/u;
/** An address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`), or a bare IPv6 address. */
const LITERAL = /^\[[A-Za-z0-9:.]+\]$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/**
 * Checks a host-like value where it is read, so a value that cannot work (a 10 KiB domain, a
 * name with blanks or control characters) is a config error with its file and line, not a
 * protocol error at send time. An empty value passes (msmtp's "unset").
 */
function hostText(command: string, arg: string, what: string, literal: boolean): string {
  if (arg === "") return arg;
  const ok = arg.length <= MAX_DOMAIN &&
    (NAME.test(arg) || (literal && (LITERAL.test(arg) || (arg.includes(":") && IPV6.test(arg)))));
  if (ok) return arg;
  const shown = arg.length > 40
    ? `${JSON.stringify(arg.slice(0, 40))}… (${arg.length} characters)`
    : JSON.stringify(arg);
  const why = arg.length > MAX_DOMAIN
    ? `longer than ${MAX_DOMAIN} characters`
    : /[\s\p{Cc}]/u.test(arg)
    ? "it contains blanks or control characters"
    : "it contains characters a host name cannot have";
  throw new SettingValueError(
    "invalid",
    command,
    arg,
    `invalid argument ${shown} for command ${command}: ${why}; it must be ${what}`,
  );
}

/** `ADDR:PORT[, ADDR:PORT…]` normalised to `, `-joined; `single` allows one only. */
function addressList(arg: string, single = false): string | undefined {
  const parts = arg.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0 || (single && parts.length > 1)) return undefined;
  try {
    for (const part of parts) parseHostPort(part, 25);
  } catch {
    return undefined;
  }
  return parts.join(", ");
}

/** A CIDR list normalised to `, `-joined. */
function networkList(arg: string): string | undefined {
  try {
    const networks = parseNetworks(arg);
    return networks.length === 0 ? undefined : networks.map((n) => n.text).join(", ");
  } catch {
    return undefined;
  }
}

/**
 * A duration in seconds: a number of seconds, or a number with a unit `s`, `m`, `h` or `d`
 * (`300`, `5m`, `4h`, `5d`); undefined when it is none or zero.
 *
 * @example Usage
 * ```ts
 * import { parseDuration } from "./values.ts";
 * console.log(parseDuration("5m"), parseDuration("5d"), parseDuration("soon")); // 300 432000 undefined
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const m = /^([0-9]{1,9})([smhd]?)$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = m[2] === "m" ? 60 : m[2] === "h" ? 3600 : m[2] === "d" ? 86400 : 1;
  const value = Number(m[1]) * unit;
  return value > 0 ? value : undefined;
}

function throwError(error: Error): never {
  throw error;
}

/**
 * msmtp's get_pos_int(): C strtol with base 0 (so `0x19` and octal `031` work), the
 * whole string consumed, result in 1..INT_MAX; otherwise undefined.
 *
 * @example Usage
 * ```ts
 * import { positiveInt } from "./values.ts";
 * console.log(positiveInt("0x10"), positiveInt("010"), positiveInt("08")); // 16 8 undefined
 * ```
 */
export function positiveInt(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return undefined;
  const digits = m[1];
  const value = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.startsWith("0")
    ? parseInt(digits, 8)
    : parseInt(digits, 10);
  return value >= 1 && value <= 2147483647 ? value : undefined;
}

function portNumber(s: string): number | undefined {
  const n = positiveInt(s);
  return n !== undefined && n <= 65535 ? n : undefined;
}

function authValue(arg: string): string | undefined {
  if (arg === "" || arg === "on") return "on";
  if (arg === "off") return "off";
  return AUTH_METHODS.includes(arg) ? arg.toUpperCase() : undefined;
}

function autoOff(arg: string): "auto" | "off" | undefined {
  if (arg === "" || arg === "auto") return "auto";
  return arg === "off" ? "off" : undefined;
}

/**
 * msmtp's check_dsn_notify_arg(), reproduced literally (substring counts and length, not
 * a split), so the odd strings it lets through are let through here too.
 */
function dsnNotify(arg: string): string | undefined {
  if (arg !== "never") {
    let length = 0;
    let count = 0;
    for (const word of ["failure", "delay", "success"]) {
      if (arg.includes(word)) {
        count++;
        length += word.length;
      }
    }
    const commas = arg.split(",").length - 1;
    if (
      count === 0 || arg.length !== length + count - 1 || (count === 2 && commas < 1) ||
      (count === 3 && commas < 2)
    ) {
      return undefined;
    }
  }
  return arg.toUpperCase();
}

/**
 * A SHA-256, SHA-1 or MD5 fingerprint: hex byte pairs separated by `:` or a space,
 * normalised to upper case with `:`.
 *
 * @example Usage
 * ```ts
 * import { fingerprint } from "./values.ts";
 * console.log(fingerprint("00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff")?.slice(0, 8));
 * // "00:11:22"
 * ```
 */
export function fingerprint(arg: string): string | undefined {
  for (const bytes of [32, 20, 16]) {
    if (arg.length !== 3 * bytes - 1) continue;
    const pairs: string[] = [];
    for (let i = 0; i < bytes; i++) {
      const pair = arg.slice(3 * i, 3 * i + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(pair)) return undefined;
      const sep = arg[3 * i + 2];
      if (i < bytes - 1 && sep !== ":" && sep !== " ") return undefined;
      pairs.push(pair.toUpperCase());
    }
    return pairs.join(":");
  }
  return undefined;
}

/**
 * An OAuth 2.0 token endpoint must be https: the client secret and the refresh token
 * travel in the request. Plain http is allowed for loopback addresses only (local
 * proxies, tests).
 */
function isTokenEndpoint(arg: string): boolean {
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" &&
    ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address (see lib/direct/dns.ts). */
function isDnsServer(arg: string): boolean {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(arg);
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(arg) ??
    (/^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*$/.test(arg) ? [arg, arg, undefined] : null);
  const match = v4 ?? v6;
  if (match === null) return false;
  if (v4 && match[1].split(".").some((octet) => Number(octet) > 255)) return false;
  const port = match[2] === undefined ? 53 : Number(match[2]);
  return port >= 1 && port <= 65535;
}

/** Domains separated by commas and/or blanks, lower-cased and joined by `,`. */
function domainList(arg: string): string | undefined {
  const domains = arg.split(/[\s,]+/).filter((d) => d !== "").map((d) =>
    d.toLowerCase().replace(/\.$/, "")
  );
  if (domains.length === 0 || domains.some((d) => !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/.test(d))) {
    return undefined;
  }
  return domains.join(",");
}

function isSyslogFacility(arg: string): boolean {
  return arg === "LOG_USER" || arg === "LOG_MAIL" || /^LOG_LOCAL[0-7]$/.test(arg);
}

/**
 * Replaces a leading `~` by the home directory, as msmtp does for file arguments
 * (`~x` becomes `$HOMEx`: msmtp does not look up other users).
 *
 * @example Usage
 * ```ts
 * import { expandTilde } from "./values.ts";
 * console.log(expandTilde("~/log", { home: "/home/joe" })); // "/home/joe/log"
 * ```
 */
export function expandTilde(path: string, context: ValueContext = {}): string {
  if (!path.startsWith("~")) return path;
  return (context.home ?? homeFromEnv()) + path.slice(1);
}

function homeFromEnv(): string {
  try {
    return Deno.env.get("HOME") ?? "";
  } catch {
    return "";
  }
}
