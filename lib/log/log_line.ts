/**
 * The one-line delivery record msmtp writes to its log file and to syslog:
 * `host=H tls=on auth=off from=F recipients=a,b mailsize=N smtpstatus=250 smtpmsg='…' exitcode=EX_OK`.
 *
 * @module
 */

import { exitCodeName } from "../exit.ts";

/** What is known of one delivery attempt. */
export interface DeliveryRecord {
  /** `host` of the account, or undefined when a unix socket is used. */
  host: string | undefined;
  /** The unix socket path, printed as `socket=` when there is no host. */
  socket?: string | undefined;
  tls: boolean;
  /** Whether authentication was configured. */
  auth: boolean;
  /** Printed only when auth is on. Never a secret. */
  user?: string | null;
  /** The envelope-from ("" for the null sender). */
  from: string;
  /** The envelope recipients after alias expansion. */
  recipients: string[];
  /** Bytes sent as msmtp counts them; printed only on success. */
  mailsize?: number;
  /** The last server reply's raw lines (`250 2.0.0 Ok`), when one is attached. */
  reply?: { code: number; raw: string[] };
  /** The error message, printed only on failure. */
  error?: string;
  /** The sysexits.h code the delivery ended with. */
  exitCode: number;
}

/**
 * Replaces control characters with `?`, as msmtp does before printing server text.
 *
 * @example Usage
 * ```ts
 * import { sanitize } from "./log_line.ts";
 * console.log(sanitize("a\tb\u0007")); // "a?b?"
 * ```
 */
export function sanitize(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, "?");
}

/**
 * Formats the record exactly as msmtp 1.8's log info.
 *
 * @example Usage
 * ```ts
 * import { formatLogLine } from "./log_line.ts";
 * const line = formatLogLine({
 *   host: "127.0.0.1", tls: false, auth: false, from: "a@example.com",
 *   recipients: ["b@example.org"], mailsize: 196,
 *   reply: { code: 250, raw: ["250 2.0.0 Ok: queued as ABC123"] }, exitCode: 0,
 * });
 * console.log(line);
 * // host=127.0.0.1 tls=off auth=off from=a@example.com recipients=b@example.org mailsize=196 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as ABC123' exitcode=EX_OK
 * ```
 */
export function formatLogLine(record: DeliveryRecord): string {
  const parts: string[] = [];
  parts.push(record.host === undefined ? `socket=${record.socket ?? ""}` : `host=${record.host}`);
  parts.push(`tls=${record.tls ? "on" : "off"}`, `auth=${record.auth ? "on" : "off"}`);
  if (record.auth && record.user) parts.push(`user=${record.user}`);
  parts.push(`from=${record.from}`, `recipients=${record.recipients.join(",")}`);
  if (record.exitCode === 0) parts.push(`mailsize=${record.mailsize ?? 0}`);
  if (record.reply) {
    const text = record.reply.raw.map((line) => sanitize(line).replaceAll("'", "?")).join("\\n");
    parts.push(`smtpstatus=${record.reply.code}`, `smtpmsg='${text}'`);
  }
  if (record.exitCode !== 0 && record.error) {
    parts.push(`errormsg='${sanitize(record.error.replaceAll("'", "?"))}'`);
  }
  parts.push(`exitcode=${exitCodeName(record.exitCode)}`);
  return parts.join(" ");
}
