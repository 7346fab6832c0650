/**
 * A mail made ready for an account, as msmtp prepares it: aliases expanded in the
 * recipients, and the header block rewritten by the account's `set_from_header`,
 * `set_date_header`, `set_msgid_header`, `remove_bcc_headers` and `undisclosed_recipients`.
 * The body stays a stream (or pending bytes: sendmail mode's standard input).
 *
 * @module
 */

import type { Settings } from "../config/account.ts";
import type { ByteInput } from "../byte_source.ts";
import { joinMail } from "../message/data.ts";
import type { Envelope as MailEnvelope } from "../message/envelope.ts";
import type { HeaderBlock } from "../message/read.ts";
import { rewriteHeaders } from "../message/rewrite.ts";

/** A mail split at its header block, with what its headers tell (see `buildEnvelope`). */
export interface IncomingMail<Body extends ByteInput = ReadableStream<Uint8Array>> {
  /** The header block and the streamed body. */
  block: HeaderBlock<Body>;
  /** The recipients and the From, Date and Message-ID the headers already have. */
  envelope: MailEnvelope;
}

/** Options of {@linkcode prepareMail}. */
export interface PrepareOptions {
  /** `-F`: the full name of a generated From header. */
  fullName?: string;
  /** The host name, for Message-IDs of senders without a domain. */
  hostname: string;
  /** The time of a generated Date header (default: now). */
  now?: Date;
  /** The 32 hex digits of a generated Message-ID (default: a fresh unique value). */
  msgidHex?: string;
}

/** A mail ready for {@linkcode SmtpConnection.send}. */
export interface PreparedMail<Body extends ByteInput = ReadableStream<Uint8Array>> {
  /** The envelope sender: the account's `from` (`""` for the null sender). */
  from: string;
  /** The envelope recipients after alias expansion. */
  recipients: string[];
  /** The rewritten header block (CRLF line ends), the separator, then the body. */
  message: Body;
}

/**
 * Applies the account's aliases and header rules to a mail.
 *
 * @example Usage
 * ```ts
 * import { prepareMail } from "./prepare.ts";
 * import { DEFAULT_SETTINGS } from "../config/account.ts";
 * const header = new TextEncoder().encode("Subject: hi\n");
 * const prepared = await prepareMail({ ...DEFAULT_SETTINGS, from: "me@example.org" }, {
 *   block: { header, hasSeparator: true, body: ReadableStream.from([]) },
 *   envelope: {
 *     recipients: ["you@example.org"], fromHeaderAddress: null,
 *     hasFrom: false, hasDate: true, hasMsgid: true,
 *   },
 * }, { hostname: "box" });
 * console.log(await new Response(prepared.message).text());
 * // "From: me@example.org\r\nSubject: hi\r\n\r\n"
 * ```
 */
export async function prepareMail<Body extends ByteInput = ReadableStream<Uint8Array>>(
  s: Settings,
  mail: IncomingMail<Body>,
  options: PrepareOptions,
): Promise<PreparedMail<Body>> {
  const from = s.from ?? "";
  // The aliases module loads only for an account that has an aliases file.
  const recipients = s.aliases
    ? await (await import("../message/aliases.ts")).applyAliases(
      s.aliases,
      mail.envelope.recipients,
    )
    : mail.envelope.recipients;
  const header = rewriteHeaders(mail.block.header, {
    envelopeFrom: from,
    ...(options.fullName === undefined ? {} : { fullName: options.fullName }),
    setFromHeader: s.set_from_header,
    setDateHeader: s.set_date_header,
    setMsgidHeader: s.set_msgid_header,
    removeBcc: s.remove_bcc_headers,
    undisclosedRecipients: s.undisclosed_recipients,
    hasFrom: mail.envelope.hasFrom,
    hasDate: mail.envelope.hasDate,
    hasMsgid: mail.envelope.hasMsgid,
    hostname: options.hostname,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.msgidHex === undefined ? {} : { msgidHex: options.msgidHex }),
  });
  return {
    from,
    recipients,
    message: joinMail(header, mail.block.hasSeparator, mail.block.body as ByteInput) as Body,
  };
}
