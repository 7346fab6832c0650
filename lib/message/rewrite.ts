/**
 * The header block as it is sent: the headers msmtp prepends (From, To for undisclosed
 * recipients, Date, Message-ID), then the original headers minus the removed ones.
 *
 * @module
 */

import { headerLines, isContinuation } from "./headers.ts";

/** `auto`: add the header only when the mail has none; `on`: always (replacing the mail's). */
export type FromHeaderPolicy = "auto" | "on" | "off";
/** `auto`: add the header only when the mail has none. */
export type AddHeaderPolicy = "auto" | "off";

/** Options of {@linkcode rewriteHeaders}. */
export interface RewriteOptions {
  /** The account's envelope-from as msmtp keeps it: `""` for `-f '<>'`, `MAILER-DAEMON` as is. */
  envelopeFrom: string;
  /** `-F`: the full name for a generated From header. */
  fullName?: string;
  /** `set_from_header`. */
  setFromHeader: FromHeaderPolicy;
  /** `set_date_header`. */
  setDateHeader: AddHeaderPolicy;
  /** `set_msgid_header`. */
  setMsgidHeader: AddHeaderPolicy;
  /** `remove_bcc_headers`. */
  removeBcc: boolean;
  /** `undisclosed_recipients`: drop To/Cc/Bcc and add `To: undisclosed-recipients:;`. */
  undisclosedRecipients: boolean;
  /** The mail has a From address (see `Envelope.hasFrom`). */
  hasFrom: boolean;
  /** The mail has a Date header. */
  hasDate: boolean;
  /** The mail has a Message-ID header. */
  hasMsgid: boolean;
  /** The canonical host name, for Message-IDs of senders without `@`. */
  hostname: string;
  /** The time for the Date header (default: now). */
  now?: Date;
  /** The 32 hex digits of the Message-ID (default: a fresh unique value). */
  msgidHex?: string;
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * A Date header value as msmtp writes it: local time, English names, numeric offset,
 * independent of the locale (`Mon, 23 Nov 2026 12:20:18 +0000`).
 *
 * @example Usage
 * ```ts
 * import { formatDateHeader } from "./rewrite.ts";
 * console.log(formatDateHeader(new Date())); // e.g. "Mon, 23 Nov 2026 12:20:18 +0000"
 * ```
 */
export function formatDateHeader(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${WEEKDAYS[date.getDay()]}, ${pad2(date.getDate())} ${MONTHS[date.getMonth()]} ` +
    `${date.getFullYear()} ${pad2(date.getHours())}:${pad2(date.getMinutes())}:` +
    `${pad2(date.getSeconds())} ${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

/**
 * 32 lowercase hex digits for a Message-ID. msmtp takes an MD5 over the clocks, the process
 * id and the host name; 128 random bits are at least as unique and need no `node:crypto`,
 * whose import alone costs about 15 ms of start-up (the Node compatibility layer boots).
 * The host name is kept in the signature for callers; it no longer feeds the value.
 *
 * @example Usage
 * ```ts
 * import { newMsgidHex } from "./rewrite.ts";
 * console.log(newMsgidHex("host").length); // 32
 * ```
 */
export function newMsgidHex(_hostname: string): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const byte of random) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * A Message-ID value as msmtp builds it: `<HEX.FROM>`, or `<HEX.FROM@HOSTNAME>` when the
 * envelope-from has no `@` (so `MAILER-DAEMON` and the empty sender still give a valid id).
 *
 * @example Usage
 * ```ts
 * import { formatMessageId } from "./rewrite.ts";
 * console.log(formatMessageId("0".repeat(32), "a@b.example", "host"));
 * // "<00000000000000000000000000000000.a@b.example>"
 * ```
 */
export function formatMessageId(hex: string, envelopeFrom: string, hostname: string): string {
  return envelopeFrom.includes("@")
    ? `<${hex}.${envelopeFrom}>`
    : `<${hex}.${envelopeFrom}@${hostname}>`;
}

/** The headers prepended to the mail, in msmtp's order, each ending in CRLF. */
function prependedHeaders(opts: RewriteOptions): { text: string; hasFrom: boolean } {
  let text = "";
  const addFrom = opts.setFromHeader === "on" || (opts.setFromHeader === "auto" && !opts.hasFrom);
  if (addFrom) {
    text += opts.fullName !== undefined
      ? `From: ${opts.fullName} <${opts.envelopeFrom}>\r\n`
      : `From: ${opts.envelopeFrom}\r\n`;
  }
  if (opts.undisclosedRecipients) text += "To: undisclosed-recipients:;\r\n";
  if (opts.setDateHeader === "auto" && !opts.hasDate) {
    text += `Date: ${formatDateHeader(opts.now ?? new Date())}\r\n`;
  }
  if (opts.setMsgidHeader === "auto" && !opts.hasMsgid) {
    const hex = opts.msgidHex ?? newMsgidHex(opts.hostname);
    text += `Message-ID: ${formatMessageId(hex, opts.envelopeFrom, opts.hostname)}\r\n`;
  }
  return { text, hasFrom: addFrom };
}

/** A case-insensitive test for `NAME:` at the start of a line, as msmtp does it. */
function startsWithName(line: Uint8Array, name: string): boolean {
  if (line.length < name.length) return false;
  for (let i = 0; i < name.length; i++) {
    const b = line[i];
    const lower = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    if (lower !== name.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The header block to send: prepended headers, then the original lines minus the removed
 * headers (with their continuation lines). Removal matches msmtp exactly: a case-insensitive
 * `From:`, `To:`, `Cc:` or `Bcc:` at the start of a line, so `Bccx:`, `Bcc :` and
 * `Resent-Bcc:` stay. Every line ends in CRLF; CRs inside lines are dropped as msmtp does.
 *
 * @example Usage
 * ```ts
 * import { rewriteHeaders } from "./rewrite.ts";
 * const out = rewriteHeaders(new TextEncoder().encode("To: a\nBcc: b\nSubject: s\n"), {
 *   envelopeFrom: "me@x.org", setFromHeader: "auto", setDateHeader: "off",
 *   setMsgidHeader: "off", removeBcc: true, undisclosedRecipients: false,
 *   hasFrom: false, hasDate: false, hasMsgid: false, hostname: "h",
 * });
 * console.log(new TextDecoder().decode(out)); // "From: me@x.org\r\nTo: a\r\nSubject: s\r\n"
 * ```
 */
export function rewriteHeaders(header: Uint8Array, opts: RewriteOptions): Uint8Array {
  const prepended = prependedHeaders(opts);
  const removed: string[] = [];
  if (prepended.hasFrom) removed.push("from:");
  if (opts.undisclosedRecipients) removed.push("to:", "cc:");
  if (opts.undisclosedRecipients || opts.removeBcc) removed.push("bcc:");

  const head = encoder.encode(prepended.text);
  const kept: Uint8Array[] = [];
  let size = head.length;
  let skipping = false;
  for (const line of headerLines(header)) {
    if (!(skipping && isContinuation(line))) {
      skipping = removed.some((name) => startsWithName(line, name));
    }
    if (!skipping) {
      kept.push(line);
      size += line.length + 2;
    }
  }

  const out = new Uint8Array(size);
  out.set(head, 0);
  let o = head.length;
  for (const line of kept) {
    out.set(line, o);
    o += line.length;
    out.set(CRLF, o);
    o += 2;
  }
  return out;
}
