/**
 * Errors of the SMTP layer. Each carries the stage it happened at and, when the server
 * answered, the reply; `details` holds msmtp's `server message: …` lines with control
 * characters replaced by `?`.
 *
 * @module
 */

import { PostieError, type PostieErrorOptions } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import type { Reply, SmtpStage } from "./types.ts";

export type { SmtpStage } from "./types.ts";

/** Options of {@linkcode SmtpError}. */
export interface SmtpErrorOptions extends PostieErrorOptions {
  /** The stage of the dialogue. */
  stage: SmtpStage;
  /** The offending reply, when there is one. */
  reply?: Reply;
  /**
   * Prefix of each detail line made from the reply.
   * @default {"server message: "}
   */
  detailPrefix?: string;
}

/**
 * Replaces control characters with `?`, as msmtp does before printing server text.
 *
 * @example Usage
 * ```ts
 * import { sanitizeServerText } from "./errors.ts";
 * console.log(sanitizeServerText("550 bad\x1b[31m")); // "550 bad?[31m"
 * ```
 */
export function sanitizeServerText(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, "?");
}

/**
 * The `server message: LINE` detail lines for a reply.
 *
 * @example Usage
 * ```ts
 * import { serverMessageLines } from "./errors.ts";
 * const lines = serverMessageLines({ code: 550, lines: ["no"], raw: ["550 no"] });
 * console.log(lines); // ["server message: 550 no"]
 * ```
 */
export function serverMessageLines(reply: Reply, prefix = "server message: "): string[] {
  return reply.raw.map((line) => prefix + sanitizeServerText(line));
}

/**
 * Base of the SMTP errors: a message in msmtp's words, the exit code msmtp uses, the
 * stage, and the reply when the server sent one.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SmtpError } from "./errors.ts";
 * const e = new SmtpError("command ETRN failed", 76, { stage: "etrn" });
 * assert.equal(e.stage, "etrn");
 * assert.equal(e.code, undefined);
 * ```
 */
export class SmtpError extends PostieError {
  /** The stage of the dialogue. */
  readonly stage: SmtpStage;
  /** The offending reply, when there is one (the log line's smtpstatus/smtpmsg). */
  readonly reply: Reply | undefined;
  /**
   * Whether the session may still send QUIT. msmtp says goodbye only when the dialogue is
   * in step (a missing capability); after a bad reply or an I/O error it just closes.
   */
  readonly quitAllowed: boolean;

  /** Builds the error; see the class description. */
  constructor(
    message: string,
    exitCode: ExitCode,
    options: SmtpErrorOptions,
    quitAllowed = false,
  ) {
    const details = options.details ??
      (options.reply ? serverMessageLines(options.reply, options.detailPrefix) : []);
    super(message, exitCode, { cause: options.cause, details });
    this.name = "SmtpError";
    this.stage = options.stage;
    this.reply = options.reply;
    this.quitAllowed = quitAllowed;
  }

  /** The reply code, when there is a reply. */
  get code(): number | undefined {
    return this.reply?.code;
  }

  /** The enhanced status code (RFC 3463) of the reply, when it has one. */
  get enhancedCode(): string | undefined {
    return this.reply?.enhanced;
  }
}

/**
 * The server answered with a reply msmtp does not accept at this stage.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SmtpReplyError } from "./errors.ts";
 * const reply = { code: 554, lines: ["5.7.1 rejected"], raw: ["554 5.7.1 rejected"], enhanced: "5.7.1" };
 * const e = new SmtpReplyError("the server did not accept the mail", 69, {
 *   stage: "end-of-data",
 *   reply,
 * });
 * assert.equal(e.code, 554);
 * assert.equal(e.enhancedCode, "5.7.1");
 * assert.deepEqual(e.details, ["server message: 554 5.7.1 rejected"]);
 * ```
 */
export class SmtpReplyError extends SmtpError {
  /** The offending reply. */
  override readonly reply: Reply;

  /** Builds the error; see the class description. */
  constructor(message: string, exitCode: ExitCode, options: SmtpErrorOptions & { reply: Reply }) {
    super(message, exitCode, options);
    this.name = "SmtpReplyError";
    this.reply = options.reply;
  }
}

/**
 * Authentication was refused (`authentication failed (method PLAIN)`, EX_NOPERM).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SmtpAuthError } from "./errors.ts";
 * const reply = { code: 535, lines: ["bad"], raw: ["535 bad"] };
 * const e = new SmtpAuthError("PLAIN", reply);
 * assert.equal(e.exitCode, 77);
 * assert.equal(e.message, "authentication failed (method PLAIN)");
 * ```
 */
export class SmtpAuthError extends SmtpReplyError {
  /** The SASL mechanism that failed. */
  readonly mechanism: string;

  /** Builds the error; see the class description. */
  constructor(mechanism: string, reply: Reply) {
    super(`authentication failed (method ${mechanism})`, ExitCode.NOPERM, {
      stage: "auth",
      reply,
    });
    this.name = "SmtpAuthError";
    this.mechanism = mechanism;
  }
}

/**
 * The server sent something that is not an SMTP reply (EX_PROTOCOL).
 *
 * @example Usage
 * ```ts
 * import { SmtpProtocolError } from "./errors.ts";
 * const e = new SmtpProtocolError("the server sent an invalid reply", { stage: "greeting" });
 * console.log(e.exitCode); // 76
 * ```
 */
export class SmtpProtocolError extends SmtpError {
  /** Builds the error; see the class description. */
  constructor(message: string, options: SmtpErrorOptions) {
    super(message, ExitCode.PROTOCOL, options);
    this.name = "SmtpProtocolError";
  }
}

/**
 * The server lacks a capability the account needs (EX_UNAVAILABLE); QUIT is still sent.
 *
 * @example Usage
 * ```ts
 * import { SmtpUnsupportedError } from "./errors.ts";
 * const e = new SmtpUnsupportedError("the server does not support DSN", "mail");
 * console.log(e.exitCode, e.quitAllowed); // 69 true
 * ```
 */
export class SmtpUnsupportedError extends SmtpError {
  /** Builds the error; see the class description. */
  constructor(message: string, stage: SmtpStage) {
    super(message, ExitCode.UNAVAILABLE, { stage }, true);
    this.name = "SmtpUnsupportedError";
  }
}

/**
 * Reading from or writing to the connection failed (`network read error: …`, EX_IOERR).
 *
 * @example Usage
 * ```ts
 * import { SmtpIoError } from "./errors.ts";
 * const e = new SmtpIoError("network read error: Connection reset by peer", { stage: "mail" });
 * console.log(e.exitCode); // 74
 * ```
 */
export class SmtpIoError extends SmtpError {
  /** Builds the error; see the class description. */
  constructor(message: string, options: SmtpErrorOptions) {
    super(message, ExitCode.IOERR, options);
    this.name = "SmtpIoError";
  }
}

/**
 * A command could not be sent as asked: an address with control characters, or a line
 * longer than msmtp's limit (EX_DATAERR).
 *
 * @example Usage
 * ```ts
 * import { SmtpCommandError } from "./errors.ts";
 * console.log(new SmtpCommandError("bad", "rcpt").exitCode); // 65
 * ```
 */
export class SmtpCommandError extends SmtpError {
  /** Builds the error; see the class description. */
  constructor(message: string, stage: SmtpStage) {
    super(message, ExitCode.DATAERR, { stage });
    this.name = "SmtpCommandError";
  }
}

/** One recipient an LMTP server refused after the end of data. */
export interface LmtpFailure {
  /** The envelope recipient. */
  recipient: string;
  /** The server's reply for it. */
  reply: Reply;
}

/**
 * An LMTP server refused some recipients after the data (EX_UNAVAILABLE). The others were
 * delivered. The message is the first refusal; `details` continue with msmtp's lines
 * (`LMTP server message: …`, then the next refusal …). The caller ends with msmtp's
 * `could not send mail to all recipients` and logs {@linkcode LmtpDeliveryError.logMessage}.
 *
 * @example Usage
 * ```ts
 * import { LmtpDeliveryError } from "./errors.ts";
 * const reply = { code: 552, lines: ["full"], raw: ["552 full"] };
 * const e = new LmtpDeliveryError([{ recipient: "b@example.org", reply }], ["a@example.org"]);
 * console.log(e.message); // "the server refuses to send the mail to b@example.org"
 * ```
 */
export class LmtpDeliveryError extends SmtpError {
  /** The refused recipients with their replies, in envelope order. */
  readonly failures: LmtpFailure[];
  /** The recipients that were delivered. */
  readonly delivered: string[];
  /** What msmtp writes as `errormsg` in the log line. */
  readonly logMessage: string = "delivery to one or more recipients failed";

  /** Builds the error; see the class description. */
  constructor(failures: LmtpFailure[], delivered: string[]) {
    const lines = failures.flatMap((f) => [
      refusal(f.recipient),
      ...serverMessageLines(f.reply, "LMTP server message: "),
    ]);
    super(lines[0] ?? "", ExitCode.UNAVAILABLE, { stage: "end-of-data", details: lines.slice(1) });
    this.name = "LmtpDeliveryError";
    this.failures = failures;
    this.delivered = delivered;
  }
}

function refusal(recipient: string): string {
  return `the server refuses to send the mail to ${sanitizeServerText(recipient)}`;
}
