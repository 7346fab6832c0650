/**
 * SMTP command lines in msmtp's exact syntax, with the checks that keep a caller from
 * injecting commands.
 *
 * @module
 */

import { SmtpCommandError, type SmtpStage } from "./errors.ts";

/**
 * msmtp's limit on a command line without its CRLF (SMTP_MAXCMDLEN), in bytes.
 */
export const SMTP_MAXCMDLEN = 4094;

/** DSN parameters (RFC 3461), already in their wire form. */
export interface DsnOptions {
  /** `NOTIFY=` value, e.g. `FAILURE,DELAY` or `NEVER`. */
  notify?: string | null;
  /** `RET=` value. */
  ret?: "HDRS" | "FULL" | null;
}

/** Options of {@linkcode formatMailFrom}. */
export interface MailFromOptions {
  /** `RET=` value. */
  ret?: "HDRS" | "FULL" | null;
  /** Append ` SMTPUTF8` (RFC 6531). */
  smtputf8?: boolean;
}

const encoder = new TextEncoder();

/**
 * Checks a command line against msmtp's length limit.
 *
 * @throws {SmtpCommandError} msmtp's `Cannot send command because it is longer than 4094
 * characters. Increase SMTP_MAXCMDLEN.` (EX_DATAERR)
 *
 * @example Usage
 * ```ts
 * import { checkCommandLength } from "./command.ts";
 * console.log(checkCommandLength("NOOP", "mail")); // "NOOP"
 * ```
 */
export function checkCommandLength(line: string, stage: SmtpStage): string {
  // A UTF-16 code unit is at most 3 bytes of UTF-8, so a short line needs no encoding: that
  // spares every RCPT of a big envelope a copy of its bytes (measured with callgrind).
  if (line.length * 3 > SMTP_MAXCMDLEN && encoder.encode(line).length > SMTP_MAXCMDLEN) {
    throw new SmtpCommandError(
      `Cannot send command because it is longer than ${SMTP_MAXCMDLEN} characters. ` +
        "Increase SMTP_MAXCMDLEN.",
      stage,
    );
  }
  return line;
}

/**
 * Refuses an envelope address holding CR, LF or any other control character, so it can
 * never end a command early and start another (msmtp passes such addresses through).
 *
 * @throws {SmtpCommandError} EX_DATAERR, naming the address with `?` for each control
 * character.
 *
 * @example Usage
 * ```ts
 * import { checkAddress } from "./command.ts";
 * checkAddress("user@example.org", "rcpt"); // fine
 * ```
 */
export function checkAddress(address: string, stage: SmtpStage): void {
  if (CONTROL.test(address)) {
    const role = stage === "mail" ? "envelope from address" : "recipient address";
    throw new SmtpCommandError(
      `invalid ${role} ${address.replaceAll(CONTROLS, "?")}: it contains a control character`,
      stage,
    );
  }
}

/**
 * A control character; made once, without the `g` flag, whose `lastIndex` would make `test`
 * stateful (the check runs once or twice per recipient).
 */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
/** Every control character, for the message. */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x1f\x7f]/g;

/**
 * Whether a string has a character outside ASCII (an address that needs SMTPUTF8).
 *
 * @example Usage
 * ```ts
 * import { isAscii } from "./command.ts";
 * console.log(isAscii("jose@example.org"), isAscii("josé@example.org")); // true false
 * ```
 */
export function isAscii(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text);
}

/**
 * The empty reverse path for the null sender: `-f '<>'`, an empty address, or
 * MAILER-DAEMON in any case, as msmtp does.
 *
 * @example Usage
 * ```ts
 * import { reversePath } from "./command.ts";
 * console.log(reversePath("MAILER-DAEMON"), reversePath("a@b.example")); // "" "a@b.example"
 * ```
 */
export function reversePath(from: string): string {
  if (from === "<>" || from.toUpperCase() === "MAILER-DAEMON") return "";
  return from;
}

/**
 * `MAIL FROM:<addr>[ RET=…][ SMTPUTF8]`. Never `SIZE=` or `BODY=`: msmtp sends none.
 *
 * @example Usage
 * ```ts
 * import { formatMailFrom } from "./command.ts";
 * console.log(formatMailFrom("a@example.org", { ret: "HDRS" })); // "MAIL FROM:<a@example.org> RET=HDRS"
 * ```
 */
export function formatMailFrom(from: string, options: MailFromOptions = {}): string {
  checkAddress(from, "mail");
  let line = `MAIL FROM:<${reversePath(from)}>`;
  if (options.ret) line += ` RET=${options.ret}`;
  if (options.smtputf8) line += " SMTPUTF8";
  return checkCommandLength(line, "mail");
}

/**
 * `RCPT TO:<addr>[ NOTIFY=…]`.
 *
 * @example Usage
 * ```ts
 * import { formatRcptTo } from "./command.ts";
 * console.log(formatRcptTo("b@example.org", { notify: "FAILURE" })); // "RCPT TO:<b@example.org> NOTIFY=FAILURE"
 * ```
 */
export function formatRcptTo(recipient: string, options: { notify?: string | null } = {}): string {
  checkAddress(recipient, "rcpt");
  let line = `RCPT TO:<${recipient}>`;
  if (options.notify) line += ` NOTIFY=${options.notify}`;
  return checkCommandLength(line, "rcpt");
}

/**
 * Whether MAIL FROM must carry SMTPUTF8: an address is not ASCII and the server offers
 * it (msmtp 1.8.28). Without the offer the addresses go as they are, as msmtp does.
 *
 * @example Usage
 * ```ts
 * import { needsSmtputf8 } from "./command.ts";
 * console.log(needsSmtputf8("a@example.org", ["ü@example.org"], true)); // true
 * ```
 */
export function needsSmtputf8(
  from: string,
  recipients: readonly string[],
  offered: boolean,
): boolean {
  return offered && (!isAscii(from) || recipients.some((r) => !isAscii(r)));
}

/**
 * The MAIL, RCPT… and DATA lines of one mail, every check done before anything is sent.
 *
 * @example Usage
 * ```ts
 * import { envelopeCommands } from "./command.ts";
 * console.log(envelopeCommands("a@x.example", ["b@y.example"], {}, false));
 * // ["MAIL FROM:<a@x.example>", "RCPT TO:<b@y.example>", "DATA"]
 * ```
 */
export function envelopeCommands(
  from: string,
  recipients: readonly string[],
  dsn: DsnOptions,
  smtputf8Offered: boolean,
): string[] {
  const commands = [
    formatMailFrom(from, {
      ret: dsn.ret,
      smtputf8: needsSmtputf8(from, recipients, smtputf8Offered),
    }),
  ];
  // a loop rather than spreading a map: no iterator and no second array per envelope
  const rcpt = { notify: dsn.notify };
  for (const recipient of recipients) commands.push(formatRcptTo(recipient, rcpt));
  commands.push("DATA");
  return commands;
}
