/**
 * Where the listener puts an accepted mail: a {@linkcode MailSink}. The listener answers
 * 250 only after {@linkcode MailSink.accept} resolved, which must mean "on disk"
 * (written, fsynced, renamed into the queue, directory fsynced). A sink that cannot take
 * the mail throws a {@linkcode SinkError}: the client is told to try again later (451,
 * or 452 when the disk is full), never that the mail was refused.
 *
 * @module
 */

/** DSN parameters (RFC 3461) the client gave, passed on to the upstream. */
export interface RelayDsn {
  /** `RET=FULL|HDRS` of MAIL FROM. */
  ret: "FULL" | "HDRS" | null;
  /** `ENVID=` of MAIL FROM, xtext-decoded (printable US-ASCII). */
  envid: string | null;
}

/** One recipient with its DSN parameters. */
export interface RelayRecipient {
  /** The address as given in RCPT TO. */
  address: string;
  /** `NOTIFY=` conditions, upper case (`SUCCESS`, `FAILURE`, `DELAY`, `NEVER`). */
  notify: string[] | null;
  /** `ORCPT=` as `TYPE;ADDRESS`, the address xtext-decoded (`rfc822;b@example.org`). */
  orcpt: string | null;
}

/** The envelope of an accepted mail, and who handed it in. */
export interface RelayEnvelope {
  /** MAIL FROM; `""` for the null sender. */
  from: string;
  /** RCPT TO, in order, without duplicates. */
  recipients: RelayRecipient[];
  dsn: RelayDsn;
  /** `BODY=8BITMIME` was given. */
  eightBit: boolean;
  /** `SMTPUTF8` was given. */
  smtpUtf8: boolean;
  /** The client's address. */
  clientAddress: string;
  /** The name the client gave in HELO/EHLO. */
  clientHelo: string;
  /** The authenticated user, if any. */
  user: string | null;
  /** When the final dot arrived. */
  receivedAt: Date;
}

/**
 * Why a sink could not take a mail: `full` (452) and `unavailable` (451) tell the client
 * to try again; `rejected` (554) is final (a delivery command refused the mail).
 */
export type SinkTrouble = "full" | "unavailable" | "rejected";

/**
 * The sink could not store the mail; the client should try again later.
 *
 * @example Usage
 * ```ts
 * import { SinkError } from "./sink.ts";
 * const e = new SinkError("full", "no space left on device");
 * console.log(e.trouble, e.message); // full no space left on device
 * ```
 */
export class SinkError extends Error {
  /** `full` (452), `unavailable` (451) or `rejected` (554). */
  readonly trouble: SinkTrouble;

  constructor(trouble: SinkTrouble, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SinkError";
    this.trouble = trouble;
  }
}

/** What the listener hands accepted mail to. */
export interface MailSink {
  /**
   * Stores the mail and resolves with its queue id once it is durably on disk. Reads
   * `message` to its end; throws {@linkcode SinkError} when it cannot store it (the
   * stream may then be left unread: the caller drains it).
   */
  accept(envelope: RelayEnvelope, message: ReadableStream<Uint8Array>): Promise<string>;
  /** Whether a mail could be stored now (for health checks). */
  writable(): Promise<boolean>;
}
