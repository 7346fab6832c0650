/**
 * The `Account` record: every msmtp 1.8.23 setting with its typed value. msmtprc and
 * TOML both become these records; everything downstream sees only an `Account`.
 *
 * A setting is *set* when its key is present in a {@linkcode PartialSettings} record;
 * `null` means "explicitly unset" (msmtp's empty argument), which still overrides an
 * inherited value. This is msmtp's per-field mask, expressed with object keys.
 *
 * @module
 */

/** `auth`: off, on (choose automatically), or one method, upper case (`PLAIN`). */
export type AuthSetting = "off" | "on" | string;

/** Every setting of an account, in the order `--pretend` prints them. */
export interface Settings {
  host: string | null;
  /** 0 while not set; the default (25, 465) is filled in by post-processing. */
  port: number;
  source_ip: string | null;
  proxy_host: string | null;
  /** 0 while not set; 1080 when a proxy host is set. */
  proxy_port: number;
  socket: string | null;
  /** Seconds; 0 = off. */
  timeout: number;
  protocol: "smtp" | "lmtp";
  domain: string;
  auth: AuthSetting;
  user: string | null;
  password: string | null;
  passwordeval: string | null;
  ntlmdomain: string | null;
  tls: boolean;
  tls_starttls: boolean;
  /** A path, `system`, or null for "no trust file". */
  tls_trust_file: string | null;
  tls_crl_file: string | null;
  /** Upper-case hex bytes separated by `:`. */
  tls_fingerprint: string | null;
  tls_key_file: string | null;
  tls_cert_file: string | null;
  tls_certcheck: boolean;
  tls_min_dh_prime_bits: number | null;
  tls_priorities: string | null;
  tls_host_override: string | null;
  auto_from: boolean;
  maildomain: string | null;
  from: string | null;
  allow_from_override: boolean;
  set_from_header: "auto" | "on" | "off";
  set_date_header: "auto" | "off";
  set_msgid_header: "auto" | "off";
  remove_bcc_headers: boolean;
  undisclosed_recipients: boolean;
  /** `never`, or upper-case conditions joined by `,` (`FAILURE,DELAY`); null = off. */
  dsn_notify: string | null;
  /** `HDRS` or `FULL`; null = off. */
  dsn_return: "HDRS" | "FULL" | null;
  logfile: string | null;
  logfile_time_format: string | null;
  /** A syslog facility name (`LOG_USER`); null = off. */
  syslog: string | null;
  aliases: string | null;
  /** postie: the OAuth 2.0 token endpoint (an https URL) to refresh access tokens at. */
  oauth2_token_endpoint: string | null;
  /** postie: the OAuth 2.0 client id sent with a refresh. */
  oauth2_client_id: string | null;
  /** postie: the OAuth 2.0 client secret, when the client has one. */
  oauth2_client_secret: string | null;
  /** postie: a command printing the client secret (run only when a refresh is due). */
  oauth2_client_secret_eval: string | null;
  /** postie: the OAuth 2.0 refresh token. */
  oauth2_refresh_token: string | null;
  /** postie: a command printing the refresh token (run only when a refresh is due). */
  oauth2_refresh_token_eval: string | null;
  /** postie: the scope asked for with a refresh (space-separated); null sends none. */
  oauth2_scope: string | null;
  // Direct and local delivery (docs/DIRECT.md).
  /** postie: deliver to the recipients' mail hosts (MX) instead of a relay `host`. */
  direct: boolean;
  /** postie: the resolver for direct delivery, `IP` or `IP:PORT`; null = the system's. */
  dns_server: string | null;
  /** postie: honour the recipient domains' MTA-STS policies (RFC 8461). */
  mta_sts: boolean;
  /** postie: honour DANE TLSA records (RFC 7672) when the resolver validates. */
  dane: boolean;
  /** postie: domains delivered on this host, joined by `,`; null = none. */
  local_domains: string | null;
  /** postie: the system aliases file for local mail; null = /etc/aliases if present. */
  local_aliases: string | null;
  /** postie: the mbox directory for local mail; null = /var/mail. */
  mail_spool: string | null;
  /** postie: a Maildir for local mail (`%u` user, `~/` their home); null = mbox. */
  maildir: string | null;
  // The relay listener (`-bd`, `-bs`, msmtpd): read from the account the daemon starts with.
  /** postie relay: `ADDR:PORT` list to listen on (comma-separated); null = 127.0.0.1:25. */
  listen: string | null;
  /** postie relay: PEM certificate chain offered with STARTTLS. */
  listen_tls_cert_file: string | null;
  /** postie relay: PEM private key of `listen_tls_cert_file`. */
  listen_tls_key_file: string | null;
  /** postie relay: the users file (`NAME:$scrypt$…` lines) for AUTH. */
  listen_users: string | null;
  /** postie relay: networks that may relay without AUTH (CIDR list); null = loopback. */
  listen_allow: string | null;
  /** postie relay: envelope senders allowed (fnmatch patterns, comma-separated); null = any. */
  listen_allow_from: string | null;
  /** postie relay: recipients allowed (fnmatch patterns, comma-separated); null = any. */
  listen_allow_rcpt: string | null;
  /** postie relay: the largest message in bytes (SIZE, 552 beyond). */
  listen_max_size: number;
  /** postie relay: recipients per mail (452 beyond). */
  listen_max_recipients: number;
  /** postie relay: connections at once (421 beyond). */
  listen_max_connections: number;
  /** postie relay: idle seconds before a connection is closed. */
  listen_idle_timeout: number;
  /** postie relay: mails per client per minute; 0 = no limit (451 beyond). */
  listen_rate: number;
  /**
   * postie relay: a message with bare CR or LF is passed on with its line ends made CRLF
   * on the way out (`normalize`) or refused with 554 (`reject`).
   */
  listen_bare_newlines: "normalize" | "reject";
  /** postie relay: `ADDR:PORT` of the HTTP listener for /metrics and /healthz. */
  metrics_listen: string | null;
  // --- postie: the queue (docs/QUEUE.md) ---
  /** `off`: msmtp's behaviour; `fallback`: queue on a temporary failure; `always`: queue only. */
  queue: "off" | "fallback" | "always";
  /** The queue directory; null = `$XDG_STATE_HOME/postie/queue`, or `/var/spool/postie` for root. */
  queue_dir: string | null;
  /** Seconds a mail may stay in the queue before it bounces. */
  queue_lifetime: number;
  /** The retry wait in seconds: after the first failure, and the longest (it doubles between). */
  queue_backoff: readonly [number, number];
  /** Seconds after which the sender is warned once of the delay; null = never. */
  queue_warn: number | null;
  /** Accounts whose servers are tried in order when this account's server fails temporarily. */
  failover: readonly string[];
}

/** The relay listener's settings, which `--pretend` shows only when one is set. */
export const RELAY_SETTINGS: readonly SettingName[] = [
  "listen",
  "listen_tls_cert_file",
  "listen_tls_key_file",
  "listen_users",
  "listen_allow",
  "listen_allow_from",
  "listen_allow_rcpt",
  "listen_max_size",
  "listen_max_recipients",
  "listen_max_connections",
  "listen_idle_timeout",
  "listen_rate",
  "listen_bare_newlines",
  "metrics_listen",
];

/** The name of one setting. */
export type SettingName = keyof Settings;

/** Settings that were explicitly given; absent keys were never set. */
export type PartialSettings = { -readonly [K in SettingName]?: Settings[K] };

/** An account: a name, where it was defined, and its settings. */
export interface Account {
  /** The account name (`default` for the implicit one). */
  name: string;
  /** The file it comes from; undefined for `--host` and environment accounts. */
  file: string | undefined;
  /** What was explicitly set (defaults, parents, own commands, command line). */
  set: PartialSettings;
  /** The effective values, defaults filled in. */
  settings: Settings;
}

/**
 * The network timeout when none is set, in seconds. msmtp has none, so a port mix-up (STARTTLS
 * on port 465) waits until the server gives up, minutes later; a minute is far above any
 * healthy server's answer time. The wait for the answer to the end of the mail is longer
 * ({@linkcode DEFAULT_END_OF_DATA_TIMEOUT}).
 */
export const DEFAULT_TIMEOUT = 60;

/**
 * With the default timeout, how long the answer to the end of the mail may take, in seconds:
 * RFC 5321 §4.5.3.2.6's 10 minutes, as a server may scan the mail first and giving up early
 * would report a mail failed that the server then delivers.
 */
export const DEFAULT_END_OF_DATA_TIMEOUT = 600;

/** The values msmtp 1.8.23 uses for settings that were never given (postie's `timeout` aside). */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  host: null,
  port: 0,
  source_ip: null,
  proxy_host: null,
  proxy_port: 0,
  socket: null,
  timeout: DEFAULT_TIMEOUT,
  protocol: "smtp",
  domain: "localhost",
  auth: "off",
  user: null,
  password: null,
  passwordeval: null,
  ntlmdomain: null,
  tls: false,
  tls_starttls: true,
  tls_trust_file: null,
  tls_crl_file: null,
  tls_fingerprint: null,
  tls_key_file: null,
  tls_cert_file: null,
  tls_certcheck: true,
  tls_min_dh_prime_bits: null,
  tls_priorities: null,
  tls_host_override: null,
  auto_from: false,
  maildomain: null,
  from: null,
  allow_from_override: true,
  set_from_header: "auto",
  set_date_header: "auto",
  set_msgid_header: "auto",
  remove_bcc_headers: true,
  undisclosed_recipients: false,
  dsn_notify: null,
  dsn_return: null,
  logfile: null,
  logfile_time_format: null,
  syslog: null,
  aliases: null,
  oauth2_token_endpoint: null,
  oauth2_client_id: null,
  oauth2_client_secret: null,
  oauth2_client_secret_eval: null,
  oauth2_refresh_token: null,
  oauth2_refresh_token_eval: null,
  oauth2_scope: null,
  direct: false,
  dns_server: null,
  mta_sts: true,
  dane: true,
  local_domains: null,
  local_aliases: null,
  mail_spool: null,
  maildir: null,
  listen: null,
  listen_tls_cert_file: null,
  listen_tls_key_file: null,
  listen_users: null,
  listen_allow: null,
  listen_allow_from: null,
  listen_allow_rcpt: null,
  // Postfix's message_size_limit and smtpd_recipient_limit; RFC 5321's 5-minute timeout
  listen_max_size: 10240000,
  listen_max_recipients: 1000,
  listen_max_connections: 100,
  listen_idle_timeout: 300,
  listen_rate: 0,
  listen_bare_newlines: "normalize",
  metrics_listen: null,
  queue: "off",
  queue_dir: null,
  queue_lifetime: 5 * 86400,
  queue_backoff: Object.freeze([300, 4000]) as readonly [number, number],
  queue_warn: null,
  failover: Object.freeze([]) as readonly string[],
});

/**
 * Overlays `top` on `base`: every key present in `top` wins, `null` included.
 *
 * @example Usage
 * ```ts
 * import { overlay } from "./account.ts";
 * const merged = overlay({ host: "a", port: 25 }, { port: 587, user: null });
 * console.log(merged); // { host: "a", port: 587, user: null }
 * ```
 */
export function overlay(base: PartialSettings, top: PartialSettings): PartialSettings {
  return { ...base, ...top };
}
