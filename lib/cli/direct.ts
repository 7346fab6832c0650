/**
 * Sendmail mode for an account with `direct on`: the mail goes to local mailboxes and to the
 * recipients' mail hosts (lib/direct/route.ts); this file prints what failed in msmtp's
 * manner, writes a log line per transaction and per failure, and picks the exit code.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import { deliverWithoutRelay } from "../direct/route.ts";
import { overallExitCode, type RecipientOutcome } from "../direct/outcome.ts";
import { ExitCode } from "../exit.ts";
import { type DeliveryRecord, formatLogLine } from "../log/log_line.ts";
import { appendLogLine, LogError } from "../log/logfile.ts";
import { logToSyslog } from "../log/syslog.ts";
import { type ByteInput, byteStream } from "../byte_source.ts";
import { stuffMail } from "../message/data.ts";
import { serverMessageLines } from "../smtp/errors.ts";
import type { DsnOptions } from "../smtp/command.ts";

/** What sending needs from the outside world (the same as sendMail's). */
export interface DirectIo {
  /** The program name for error lines. */
  name: string;
  stdout(text: string): Promise<void>;
  stderr(text: string): Promise<void>;
  env: Readonly<Record<string, string>>;
}

/** The mail as prepared by sendMail: addresses checked, headers rewritten. */
export interface DirectMail {
  from: string;
  recipients: string[];
  /** Headers, empty line, body (LF or CRLF line ends), streamed. */
  message: ByteInput;
  dsn?: DsnOptions;
}

/**
 * Delivers without a relay and returns the exit code: 0 when every recipient got the mail,
 * EX_TEMPFAIL when the failures are all temporary, else the first permanent failure's code.
 */
export async function sendDirect(
  account: Account,
  mail: DirectMail,
  io: DirectIo,
  debug: ((text: string) => void) | undefined,
): Promise<number> {
  const s = account.settings;
  const notes: string[] = [];
  const payload = stuffMail(byteStream(mail.message));
  const result = await deliverWithoutRelay({
    settings: s,
    from: mail.from,
    recipients: mail.recipients,
    payload: payload.stream,
    ...(mail.dsn ? { dsn: mail.dsn } : {}),
    ...(debug ? { debug } : {}),
    ...(stsCacheDir(io.env) ? { stsCacheDir: stsCacheDir(io.env) } : {}),
    note: (text) => {
      notes.push(text);
      debug?.(`postie: ${text}\n`);
    },
  });
  const failed = result.outcomes.filter((o) => o.status !== "delivered");
  const code = overallExitCode(result.outcomes);
  if (failed.length > 0) {
    const lines = failed.flatMap((o) => [
      `${o.recipient}: ${o.message ?? "not delivered"}${
        o.status === "temporary" ? " (temporary failure)" : ""
      }`,
      ...(o.reply ? serverMessageLines(o.reply) : []),
    ]);
    const what = failed.length === result.outcomes.length
      ? "could not send mail"
      : "could not send mail to all recipients";
    lines.push(
      account.file === undefined ? what : `${what} (account ${account.name} from ${account.file})`,
    );
    await io.stderr(lines.map((l) => `${io.name}: ${l}\n`).join(""));
  }
  await log(account, mail.from, payload.stuffer.mailsize, result.outcomes, result.transactions, io);
  return code;
}

/** Where MTA-STS policies are cached: `$XDG_CACHE_HOME/postie/mta-sts` or `~/.cache/…`. */
function stsCacheDir(env: Readonly<Record<string, string>>): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : undefined);
  return base === undefined ? undefined : `${base}/postie/mta-sts`;
}

async function log(
  account: Account,
  from: string,
  mailsize: number,
  outcomes: RecipientOutcome[],
  transactions: {
    host: string;
    address: string;
    tls: boolean;
    recipients: string[];
    reply?: { code: number; raw: string[] };
  }[],
  io: DirectIo,
): Promise<void> {
  const s = account.settings;
  if (!s.logfile && !s.syslog) return;
  const base = { tls: false, auth: false, from, socket: undefined };
  const records: DeliveryRecord[] = [];
  for (const t of transactions) {
    records.push({
      ...base,
      host: `${t.host}[${t.address}]`,
      tls: t.tls,
      recipients: t.recipients,
      mailsize,
      ...(t.reply ? { reply: { code: t.reply.code, raw: t.reply.raw } } : {}),
      exitCode: ExitCode.OK,
    });
  }
  for (const o of outcomes) {
    if (o.status === "delivered" && o.via?.startsWith("m")) {
      // a local mailbox: `mbox PATH` or `maildir PATH`
      records.push({
        ...base,
        host: "localhost",
        recipients: [o.recipient],
        mailsize,
        exitCode: ExitCode.OK,
      });
    } else if (o.status !== "delivered") {
      records.push({
        ...base,
        host: o.via?.split(" ")[0] ?? "localhost",
        tls: o.via?.endsWith(" TLS") ?? false,
        recipients: [o.recipient],
        ...(o.reply ? { reply: { code: o.reply.code, raw: o.reply.raw } } : {}),
        error: o.message ?? "not delivered",
        exitCode: o.status === "temporary" ? ExitCode.TEMPFAIL : o.exitCode,
      });
    }
  }
  for (const record of records) {
    const line = formatLogLine(record);
    if (s.logfile) {
      try {
        await appendLogLine(s.logfile, s.logfile_time_format, line, new Date(), {
          write: (text) => io.stdout(text),
        });
      } catch (error) {
        if (!(error instanceof LogError)) throw error;
        await io.stderr(`${io.name}: ${error.message}\n${io.name}: log info was: ${line}\n`);
      }
    }
    if (s.syslog) await logToSyslog(s.syslog, line, record.exitCode !== ExitCode.OK);
  }
}
