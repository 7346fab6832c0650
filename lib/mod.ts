/**
 * postie as a library: send mail from `deno run` scripts with the accounts of the user's
 * msmtp (or TOML) configuration, or with plain options, in the shape nodemailer users know.
 *
 * @example Send through an account of ~/.msmtprc, reusing one connection
 * ```ts ignore
 * import { createTransport, loadAccount } from "@postie/postie";
 * const transport = await createTransport(await loadAccount({ account: "ci" }));
 * try {
 *   const info = await transport.sendMail({
 *     envelope: { to: ["team@example.org"] },
 *     raw: "Subject: Build finished\n\nAll green.\n",
 *   });
 *   console.log(info.accepted, info.rejected);
 * } finally {
 *   await transport.close();
 * }
 * ```
 *
 * @example Build the mail and send nothing
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTransport } from "./mod.ts";
 * const transport = await createTransport({ streamTransport: true, from: "ci@example.org" });
 * const info = await transport.sendMail({
 *   envelope: { to: "team@example.org" },
 *   raw: "Subject: Build finished\n\nAll green.\n",
 * });
 * assert.equal(info.envelope.from, "ci@example.org");
 * assert.match(new TextDecoder().decode(info.message), /\r\nSubject: Build finished\r\n/);
 * ```
 *
 * @module
 */

import { realEnv, resolveAccount } from "./config/resolve.ts";
import { accountDsn, SmtpConnection } from "./delivery/connection.ts";
import { directFailure, sendWithoutRelay } from "./delivery/direct.ts";
import { prepareMail } from "./delivery/prepare.ts";
import { PostieError } from "./errors.ts";
import { ExitCode } from "./exit.ts";
import { buildEnvelope } from "./message/envelope.ts";
import { readHeaderBlock } from "./message/read.ts";
import { checkAddress } from "./smtp/command.ts";
import type { Reply } from "./smtp/reply.ts";

export {
  type ComposedMailOptions,
  type ComposeOptions,
  createTransport,
  loadAccount,
  type LoadAccountOptions,
  MailAccount,
  type MailOptions,
  type RawMail,
  type RejectedRecipient,
  type SendMailCallOptions,
  type SentMessageInfo,
  Transport,
  type TransportAuth,
  type TransportOptions,
} from "./transport.ts";
export {
  type ComposeAddress,
  type ComposeAddresses,
  type ComposeAttachment,
  type ComposeContent,
  type ComposeContext,
  composeMail,
  type ComposeResult,
} from "./message/compose.ts";
export { ConfigError, PostieError, type PostieErrorOptions, UsageError } from "./errors.ts";
export { NetworkError, TlsError } from "./net/errors.ts";
export {
  SmtpAuthError,
  SmtpError,
  type SmtpErrorOptions,
  SmtpReplyError,
  type SmtpStage,
} from "./smtp/errors.ts";
export { ExitCode, exitCodeName } from "./exit.ts";
export type { Reply } from "./smtp/reply.ts";

/** What {@linkcode send} sends and how. */
export interface SendOptions {
  /**
   * The mail: headers, an empty line, the body. LF or CRLF line ends. A stream is sent as it
   * is read, never held whole.
   */
  message: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Recipients; each entry may be an address list (`"Joe <joe@x.org>, ann@y.org"`). */
  to?: string[];
  /** The envelope sender (`-f`); by default the account's `from`. */
  from?: string;
  /** Also send to the mail's To, Cc and Bcc (`-t`). */
  readRecipients?: boolean;
  /** The account (`-a`); by default chosen by the envelope-from, else `default`. */
  account?: string;
  /** The configuration file instead of `~/.msmtprc` (`-C`). */
  configFile?: string;
  /** Read no file: the account is this host and `overrides` (`--host`). */
  host?: string;
  /** Settings laid over the account, spelled as in the config file (`{ port: "587" }`). */
  overrides?: Readonly<Record<string, string>>;
  /**
   * The environment the configuration and the password lookup see (`HOME`, `EMAIL`, …);
   * the process's by default. When given, the process environment is not read.
   */
  env?: Readonly<Record<string, string>>;
}

/** How a successful {@linkcode send} went. */
export interface SendReport {
  /** The server's final reply. */
  reply: Reply;
  /** The recipients the server accepted. */
  accepted: string[];
  /** msmtp's `mailsize`. */
  mailsize: number;
}

function toStream(message: SendOptions["message"]): ReadableStream<Uint8Array> {
  if (message instanceof ReadableStream) return message;
  const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
  return ReadableStream.from([bytes]);
}

/**
 * Sends one mail over a connection of its own, with msmtp's rule that the mail fails when
 * any recipient is refused. Rejects with a {@linkcode PostieError} whose `exitCode` is the
 * sysexits code the command would end with and whose message is msmtp's. An account with
 * `direct on` delivers to the recipients' mail hosts and local mailboxes itself
 * (docs/DIRECT.md): then a failure's message and `details` name each recipient that did not
 * get the mail, and those that did.
 *
 * @deprecated Use {@linkcode createTransport} and {@linkcode Transport.sendMail}: one
 * connection for many mails, a result per recipient, composed mails.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { NetworkError, send } from "./mod.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * listener.close(); // nothing listens there any more
 * await assert.rejects(
 *   send({
 *     host: "127.0.0.1",
 *     overrides: { port: String(port) },
 *     from: "a@example.org",
 *     to: ["b@example.org"],
 *     message: "Subject: x\n\ny\n",
 *   }),
 *   (e: unknown) => e instanceof NetworkError && e.exitCode > 0,
 * );
 * ```
 */
export async function send(options: SendOptions): Promise<SendReport> {
  const block = await readHeaderBlock(toStream(options.message));
  const envelope = buildEnvelope({
    headerBlock: block.header,
    hasSeparator: block.hasSeparator,
    cliRecipients: options.to ?? [],
    readRecipients: options.readRecipients ?? false,
  });
  if (envelope.recipients.length === 0) {
    await block.body.cancel();
    throw new PostieError("no recipients found", ExitCode.USAGE);
  }
  const configEnv = realEnv(options.env);
  const { account } = await resolveAccount({
    ...(options.account === undefined ? {} : { account: options.account }),
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.from === undefined ? {} : { from: options.from }),
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
    sending: true,
  }, configEnv);
  const s = account.settings;
  const mail = await prepareMail(s, { block, envelope }, { hostname: configEnv.hostname() });
  checkAddress(mail.from, "mail");
  for (const recipient of mail.recipients) checkAddress(recipient, "rcpt");
  const env = options.env ?? Deno.env.toObject();
  if (s.direct) {
    const result = await sendWithoutRelay(s, mail, env);
    const failure = await directFailure(result.outcomes);
    if (failure !== undefined) throw failure;
    return {
      reply: result.reply,
      accepted: result.outcomes.map((o) => o.recipient),
      mailsize: result.mailsize,
    };
  }
  const connection = await SmtpConnection.open(s, { env, prompt: false });
  try {
    const result = await connection.send(
      { from: mail.from, recipients: mail.recipients, dsn: accountDsn(s) },
      mail.message,
    );
    await connection.quit();
    return { reply: result.reply, accepted: result.accepted, mailsize: result.mailsize };
  } finally {
    connection.close();
  }
}

/** Options of {@linkcode runQueue}: the account whose queue to run, and which mails. */
export interface RunQueueOptions {
  /** The queue directory; by default the account's `queue_dir`, else the default one. */
  queueDir?: string;
  /** The account (`-a`) whose `queue_dir` is used; by default `default`. */
  account?: string;
  /** The configuration file instead of `~/.msmtprc` (`-C`). */
  configFile?: string;
  /** Read no file: the account is this host (`--host`). */
  host?: string;
  /** Only mails whose id, a recipient or the sender contains these (`-qI`, `-qR`, `-qS`). */
  select?: { id?: string; recipient?: string; sender?: string };
  /** Send mails still waiting for their back-off too (as `postie -q`). Default true. */
  force?: boolean;
  /** The environment the configuration and the password lookup see; the process's by default. */
  env?: Readonly<Record<string, string>>;
  /** Receives one line per event (delivered, deferred, bounced, moved aside). */
  log?: (line: string) => void;
}

/** What a queue run did, by queue id. */
export interface QueueRunReport {
  /** Mails delivered and removed. */
  delivered: string[];
  /** Mails still queued after a temporary failure. */
  deferred: string[];
  /** Mails that bounced, wholly or for some recipients. */
  bounced: string[];
  /** Notifications (bounces, delay warnings) queued by this run. */
  notifications: string[];
  /** Entries that could not be read (moved aside when corrupt). */
  problems: string[];
}

/**
 * Runs the queue once, as `postie -q` does: every mail of the queue goes out, one connection
 * per account, with retries, bounces and failover as configured (docs/QUEUE.md). Mails are
 * queued by the command line with `queue fallback` or `queue always`.
 *
 * @example Run an empty queue
 * ```ts
 * import { runQueue } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const queueDir = await Deno.makeTempDir();
 * const report = await runQueue({ queueDir, host: "127.0.0.1" });
 * assert.deepEqual(report.delivered, []);
 * await Deno.remove(queueDir, { recursive: true });
 * ```
 */
export async function runQueue(options: RunQueueOptions = {}): Promise<QueueRunReport> {
  const configEnv = realEnv(options.env);
  const { Spool, defaultQueueDirectory } = await import("./queue/spool.ts");
  const { flushQueue } = await import("./queue/runner.ts");
  const { SmtpDeliverer } = await import("./queue/smtp_deliverer.ts");
  let dir = options.queueDir;
  if (dir === undefined) {
    const { account } = await resolveAccount({
      ...(options.account === undefined ? {} : { account: options.account }),
      ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
      ...(options.host === undefined ? {} : { host: options.host }),
    }, configEnv);
    dir = account.settings.queue_dir ??
      defaultQueueDirectory(configEnv.uid(), configEnv.home(), configEnv.getenv("XDG_STATE_HOME"));
  }
  const report = await flushQueue(
    new Spool(dir),
    new SmtpDeliverer({ configEnv, env: options.env ?? Deno.env.toObject() }),
    {
      ...(options.select ? { select: options.select } : {}),
      force: options.force ?? true,
      ...(options.log ? { log: options.log } : {}),
    },
  );
  return {
    delivered: report.delivered,
    deferred: report.deferred,
    bounced: report.bounced,
    notifications: report.notifications,
    problems: report.problems,
  };
}
