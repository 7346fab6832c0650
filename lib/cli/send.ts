/**
 * Sendmail mode after the account is chosen: aliases, header rewriting, the SMTP/LMTP
 * dialogue with the body streamed from standard input, the log line and the exit code.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import { accountDsn, endOfDataTimeout, SmtpConnection } from "../delivery/connection.ts";
import type { ByteInput } from "../byte_source.ts";
import { type IncomingMail, prepareMail } from "../delivery/prepare.ts";
import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { checkAddress } from "../smtp/command.ts";
import { LmtpDeliveryError, SmtpError } from "../smtp/errors.ts";
import type { Reply } from "../smtp/reply.ts";
import type { ParsedArgs } from "./args.ts";

export type { IncomingMail } from "../delivery/prepare.ts";

/** What sending needs from the outside world. */
export interface SendIo {
  /** The program name for error lines (`postie`, `sendmail`). */
  name: string;
  stdout(text: string): Promise<void>;
  stderr(text: string): Promise<void>;
  /** The host name, for Message-IDs of senders without a domain. */
  hostname(): string;
  /** Whether a terminal is there to prompt for a password on. */
  env: Readonly<Record<string, string>>;
}

/** How a delivery attempt ended, for the log line. */
interface Outcome {
  exitCode: number;
  reply?: Reply;
  error?: string;
  mailsize?: number;
}

/** msmtp's last line after a failed delivery. */
function couldNotSend(account: Account, lmtp: boolean): string {
  const what = lmtp ? "could not send mail to all recipients" : "could not send mail";
  return account.file === undefined
    ? what
    : `${what} (account ${account.name} from ${account.file})`;
}

/**
 * Sends the mail with the account's settings and returns the exit code. Errors are printed
 * (msmtp's lines, then `could not send mail …`) and logged; nothing is thrown for a failed
 * delivery.
 */
export async function sendMail(
  inv: ParsedArgs,
  account: Account,
  mail: IncomingMail<ByteInput>,
  io: SendIo,
): Promise<number> {
  const s = account.settings;
  const { from, recipients, message } = await prepareMail(s, mail, {
    ...(inv.fullName === undefined ? {} : { fullName: inv.fullName }),
    hostname: io.hostname(),
  });

  // --debug lines are buffered per call and written in order with the rest of stdout.
  let pending = Promise.resolve();
  const debug = inv.debug
    ? (text: string) => void (pending = pending.then(() => io.stdout(text)))
    : undefined;

  if (s.direct) {
    // MX lookup, MTA-STS, DANE and local mailboxes load only for accounts that use them
    try {
      checkAddress(from, "mail");
      for (const recipient of recipients) checkAddress(recipient, "rcpt");
    } catch (error) {
      if (!(error instanceof PostieError)) throw error;
      await io.stderr(
        `${io.name}: ${error.message}\n${io.name}: ${couldNotSend(account, false)}\n`,
      );
      return error.exitCode;
    }
    const { sendDirect } = await import("./direct.ts");
    const code = await sendDirect(
      account,
      {
        from,
        recipients,
        message,
        dsn: {
          notify: s.dsn_notify === null ? null : s.dsn_notify.toUpperCase(),
          ret: s.dsn_return,
        },
      },
      io,
      debug,
    );
    await pending;
    return code;
  }

  const outcome: Outcome = { exitCode: ExitCode.OK };
  let connection: SmtpConnection | undefined;
  let lmtpFailure = false;
  try {
    // refused before connecting: such an address must never reach the wire
    checkAddress(from, "mail");
    for (const recipient of recipients) checkAddress(recipient, "rcpt");
    // msmtp checks DSN support before it authenticates
    connection = await SmtpConnection.open(s, {
      endOfDataTimeout: endOfDataTimeout(account),
      ...(debug ? { debug } : {}),
      env: io.env,
      authenticate: false,
    });
    const dsn = accountDsn(s);
    connection.checkDsn(dsn);
    await connection.authenticate();
    const result = await connection.send({ from, recipients, dsn }, message);
    // msmtp logs no reply for LMTP
    if (s.protocol !== "lmtp") outcome.reply = result.reply;
    outcome.mailsize = result.mailsize;
    await connection.quit();
  } catch (error) {
    if (!(error instanceof PostieError)) throw error;
    if (connection && error instanceof SmtpError && error.quitAllowed) await connection.quit();
    lmtpFailure = error instanceof LmtpDeliveryError;
    outcome.exitCode = error.exitCode;
    outcome.error = error instanceof LmtpDeliveryError ? error.logMessage : error.message;
    if (error instanceof SmtpError && error.reply && !lmtpFailure) outcome.reply = error.reply;
    await pending;
    const { hintLines } = await import("./hints.ts");
    await io.stderr(
      [
        error.message,
        ...error.details,
        couldNotSend(account, lmtpFailure),
        ...hintLines(error, { settings: s, env: io.env }),
      ]
        .map((line) => `${io.name}: ${line}\n`).join(""),
    );
  } finally {
    connection?.close();
    await pending;
  }
  await log(account, from, recipients, outcome, io);
  return outcome.exitCode;
}

/** Writes the delivery record to the log file and syslog, as configured. */
async function log(
  account: Account,
  from: string,
  recipients: string[],
  outcome: Outcome,
  io: SendIo,
): Promise<void> {
  const s = account.settings;
  if (!s.logfile && !s.syslog) return;
  // Loaded only for an account that logs: most sends write no log line.
  const { formatLogLine } = await import("../log/log_line.ts");
  const line = formatLogLine({
    host: s.host ?? undefined,
    socket: s.socket ?? undefined,
    tls: s.tls,
    auth: s.auth !== "off",
    user: s.user,
    from,
    recipients,
    ...(outcome.mailsize === undefined ? {} : { mailsize: outcome.mailsize }),
    ...(outcome.reply ? { reply: { code: outcome.reply.code, raw: outcome.reply.raw } } : {}),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
    exitCode: outcome.exitCode,
  });
  if (s.logfile) {
    const { appendLogLine, LogError } = await import("../log/logfile.ts");
    try {
      await appendLogLine(s.logfile, s.logfile_time_format, line, new Date(), {
        write: (text) => io.stdout(text),
      });
    } catch (error) {
      if (!(error instanceof LogError)) throw error;
      await io.stderr(`${io.name}: ${error.message}\n${io.name}: log info was: ${line}\n`);
    }
  }
  // syslog(3) never reports a failure to msmtp, so a missing log daemon is silent here too
  if (s.syslog) {
    const { logToSyslog } = await import("../log/syslog.ts");
    await logToSyslog(s.syslog, line, outcome.exitCode !== ExitCode.OK);
  }
}
