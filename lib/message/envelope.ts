/**
 * The envelope of a mail in sendmail mode: its recipients (command line first, then the
 * headers with `-t`), the From address for `--read-envelope-from`, and what the header block
 * already has (From, Date, Message-ID) for the header rewriting.
 *
 * @module
 */

import { parseRecipientArguments, scanHeaders } from "./addresses.ts";

/** Input of {@linkcode buildEnvelope}. */
export interface EnvelopeInput {
  /** The raw header block (`HeaderBlock.header`). */
  headerBlock: Uint8Array;
  /** The header block ended at an empty line (`HeaderBlock.hasSeparator`). */
  hasSeparator: boolean;
  /** The recipient words of the command line, each an address list. */
  cliRecipients: readonly string[];
  /** `-t`: add the recipients of the headers. */
  readRecipients: boolean;
}

/** What the sendmail flow needs to know about a mail before it picks an account. */
export interface Envelope {
  /** Command-line recipients, then header recipients (with `-t`); before alias expansion. */
  recipients: string[];
  /**
   * The first From address, for `--read-envelope-from`: `null` without one (msmtp:
   * "envelope-from address is missing"), `""` for the null sender.
   */
  fromHeaderAddress: string | null;
  /** The mail has a From address, so `set_from_header auto` adds none. */
  hasFrom: boolean;
  /** The mail has a Date header. */
  hasDate: boolean;
  /** The mail has a Message-ID header. */
  hasMsgid: boolean;
}

/**
 * Builds the envelope of a mail. Throws an `AddressError` for an address with a control
 * character (EX_USAGE from the command line, EX_DATAERR from the headers).
 *
 * @example Usage
 * ```ts
 * import { buildEnvelope } from "./envelope.ts";
 * const env = buildEnvelope({
 *   headerBlock: new TextEncoder().encode("From: me@x.org\nTo: a@x.org\n"),
 *   hasSeparator: true,
 *   cliRecipients: ["extra@x.org"],
 *   readRecipients: true,
 * });
 * console.log(env.recipients, env.fromHeaderAddress); // ["extra@x.org", "a@x.org"] "me@x.org"
 * ```
 */
export function buildEnvelope(input: EnvelopeInput): Envelope {
  const cli = parseRecipientArguments(input.cliRecipients);
  const scan = scanHeaders(input.headerBlock, {
    recipients: input.readRecipients,
    fromAndFlags: true,
    terminated: input.hasSeparator,
  });
  return {
    recipients: input.readRecipients ? [...cli, ...scan.recipients] : cli,
    fromHeaderAddress: scan.from,
    hasFrom: scan.from !== null,
    hasDate: scan.hasDate,
    hasMsgid: scan.hasMsgid,
  };
}
