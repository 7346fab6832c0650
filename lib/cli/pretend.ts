/**
 * The configuration dump `--pretend` and `--debug` print: msmtp's `key = value` lines,
 * in msmtp's order, with every secret shown as `*`.
 *
 * @module
 */

import {
  type Account,
  DEFAULT_SETTINGS,
  RELAY_SETTINGS,
  type Settings,
} from "../config/account.ts";
import type { Invocation } from "./invocation.ts";

const NOT_SET = "(not set)";

function text(value: string | null): string {
  return value === null ? NOT_SET : value;
}

function onOff(value: boolean): string {
  return value ? "on" : "off";
}

function timeout(seconds: number): string {
  if (seconds === 0) return "off";
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

function auth(value: string): string {
  if (value === "off") return "none";
  return value === "on" ? "choose" : value;
}

/**
 * The lines msmtp prints for an account with `-P`/`-d` (without line ends). The sendmail
 * lines appear only in sendmail mode; `--rmqs` adds its argument. `password` is `*`.
 * postie's `oauth2_*` settings follow msmtp's account lines (after `aliases` in sendmail
 * mode), and only when one of them is set.
 *
 * @example Usage
 * ```ts
 * import { formatSettings } from "./pretend.ts";
 * import { parseArgs } from "./args.ts";
 * import { DEFAULT_SETTINGS } from "../config/account.ts";
 * const account = { name: "a", file: "rc", set: {}, settings: { ...DEFAULT_SETTINGS, port: 25 } };
 * console.log(formatSettings(account, parseArgs(["-P"]))[1]); // "port = 25"
 * ```
 */
export function formatSettings(account: Account, inv: Invocation): string[] {
  const s = account.settings;
  const lines = [
    `host = ${text(s.host)}`,
    `port = ${s.port}`,
    `source ip = ${text(s.source_ip)}`,
    `proxy host = ${text(s.proxy_host)}`,
    `proxy port = ${s.proxy_port}`,
    `socket = ${text(s.socket)}`,
    `timeout = ${timeout(s.timeout)}`,
    `protocol = ${s.protocol}`,
    `domain = ${s.domain}`,
    `auth = ${auth(s.auth)}`,
    `user = ${text(s.user)}`,
    `password = ${s.password === null ? NOT_SET : "*"}`,
    `passwordeval = ${text(s.passwordeval)}`,
    `ntlmdomain = ${text(s.ntlmdomain)}`,
    `tls = ${onOff(s.tls)}`,
    `tls_starttls = ${onOff(s.tls_starttls)}`,
    `tls_trust_file = ${text(s.tls_trust_file)}`,
    `tls_crl_file = ${text(s.tls_crl_file)}`,
    `tls_fingerprint = ${text(s.tls_fingerprint)}`,
    `tls_key_file = ${text(s.tls_key_file)}`,
    `tls_cert_file = ${text(s.tls_cert_file)}`,
    `tls_certcheck = ${onOff(s.tls_certcheck)}`,
    `tls_min_dh_prime_bits = ${
      s.tls_min_dh_prime_bits === null ? NOT_SET : s.tls_min_dh_prime_bits
    }`,
    `tls_priorities = ${text(s.tls_priorities)}`,
    `tls_host_override = ${text(s.tls_host_override)}`,
  ];
  if (inv.mode === "sendmail") {
    lines.push(
      `auto_from = ${onOff(s.auto_from)}`,
      `maildomain = ${text(s.maildomain)}`,
      `from = ${text(s.from)}`,
      `allow_from_override = ${onOff(s.allow_from_override)}`,
      `set_from_header = ${s.set_from_header}`,
      `set_date_header = ${s.set_date_header}`,
      `remove_bcc_headers = ${onOff(s.remove_bcc_headers)}`,
      `undisclosed_recipients = ${onOff(s.undisclosed_recipients)}`,
      `dsn_notify = ${text(s.dsn_notify)}`,
      `dsn_return = ${text(s.dsn_return)}`,
      `logfile = ${text(s.logfile)}`,
      `logfile_time_format = ${text(s.logfile_time_format)}`,
      `syslog = ${text(s.syslog)}`,
      `aliases = ${text(s.aliases)}`,
      ...oauth2Lines(s),
      ...directLines(s),
      ...queueLines(account),
      inv.readRecipients
        ? "reading recipients from the command line and the mail"
        : "reading recipients from the command line",
    );
  } else {
    lines.push(...oauth2Lines(s), ...queueLines(account));
    if (inv.mode === "rmqs") lines.push(`RMQS argument = ${inv.rmqsArgument ?? ""}`);
  }
  lines.push(...relayLines(account));
  return lines;
}

/**
 * postie's direct and local delivery settings; none at all unless one differs from its
 * default, so the dump of an msmtp account stays byte for byte msmtp's.
 */
function directLines(s: Settings): string[] {
  const changed = s.direct || s.dns_server !== null || !s.mta_sts || !s.dane ||
    s.local_domains !== null || s.local_aliases !== null || s.mail_spool !== null ||
    s.maildir !== null;
  if (!changed) return [];
  return [
    `direct = ${onOff(s.direct)}`,
    `dns_server = ${text(s.dns_server)}`,
    `mta_sts = ${onOff(s.mta_sts)}`,
    `dane = ${onOff(s.dane)}`,
    `local_domains = ${text(s.local_domains)}`,
    `local_aliases = ${text(s.local_aliases)}`,
    `mail_spool = ${text(s.mail_spool)}`,
    `maildir = ${text(s.maildir)}`,
  ];
}

/**
 * The relay listener's settings, only when one differs from its default, so the dump
 * of an msmtp account stays byte for byte msmtp's.
 */
function relayLines(account: Account): string[] {
  const s = account.settings;
  if (!RELAY_SETTINGS.some((name) => s[name] !== DEFAULT_SETTINGS[name])) return [];
  return RELAY_SETTINGS.map((name) => {
    const value = s[name];
    return `${name} = ${value === null ? NOT_SET : String(value)}`;
  });
}

/**
 * postie's OAuth 2.0 refresh settings, secrets as `*`. None at all when none is set, so
 * the dump of an msmtp account stays byte for byte msmtp's.
 */
function oauth2Lines(s: Settings): string[] {
  const secret = (value: string | null): string => value === null ? NOT_SET : "*";
  const lines = [
    `oauth2_token_endpoint = ${text(s.oauth2_token_endpoint)}`,
    `oauth2_client_id = ${text(s.oauth2_client_id)}`,
    `oauth2_client_secret = ${secret(s.oauth2_client_secret)}`,
    `oauth2_client_secret_eval = ${text(s.oauth2_client_secret_eval)}`,
    `oauth2_refresh_token = ${secret(s.oauth2_refresh_token)}`,
    `oauth2_refresh_token_eval = ${text(s.oauth2_refresh_token_eval)}`,
    `oauth2_scope = ${text(s.oauth2_scope)}`,
  ];
  const any = s.oauth2_token_endpoint ?? s.oauth2_client_id ?? s.oauth2_client_secret ??
    s.oauth2_client_secret_eval ?? s.oauth2_refresh_token ?? s.oauth2_refresh_token_eval ??
    s.oauth2_scope;
  return any === null ? [] : lines;
}

/**
 * postie's queue settings, only when one of them is set, so the dump of an msmtp account
 * stays byte for byte msmtp's.
 */
function queueLines(account: Account): string[] {
  const s = account.settings;
  const names = ["queue", "queue_dir", "queue_lifetime", "queue_backoff", "queue_warn", "failover"];
  if (!names.some((name) => name in account.set)) return [];
  return [
    `queue = ${s.queue}`,
    `queue_dir = ${text(s.queue_dir)}`,
    `queue_lifetime = ${s.queue_lifetime}s`,
    `queue_backoff = ${s.queue_backoff[0]}s,${s.queue_backoff[1]}s`,
    `queue_warn = ${s.queue_warn === null ? "off" : `${s.queue_warn}s`}`,
    `failover = ${s.failover.length === 0 ? NOT_SET : s.failover.join(",")}`,
  ];
}
