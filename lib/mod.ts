/**
 * postie as a library for `deno run` scripts: send a mail with msmtp's configuration files
 * and account rules, without the command line.
 *
 * @example Send a mail through the account "default" of ~/.msmtprc
 * ```ts ignore
 * import { send } from "./mod.ts";
 * await send({
 *   to: ["alice@example.org"],
 *   message: "Subject: Build finished\n\nAll green.\n",
 * });
 * ```
 *
 * @module
 */

import { realEnv, resolveAccount } from "./config/resolve.ts";
import { SmtpConnection } from "./delivery/connection.ts";
import { type PreparedMail, prepareMail } from "./delivery/prepare.ts";
import type { Settings } from "./config/account.ts";
import { stuffMail } from "./message/data.ts";
import { PostieError } from "./errors.ts";
import { ExitCode } from "./exit.ts";
import { buildEnvelope } from "./message/envelope.ts";
import { readHeaderBlock } from "./message/read.ts";
import { checkAddress } from "./smtp/command.ts";
import type { Reply } from "./smtp/reply.ts";

export { ConfigError, PostieError, UsageError } from "./errors.ts";
export { ExitCode, exitCodeName } from "./exit.ts";
export type { Reply } from "./smtp/reply.ts";

/** The reply reported for mail that went only into mailboxes on this host. */
const LOCAL_REPLY: Reply = Object.freeze({
  code: 250,
  lines: ["delivered on this host"],
  raw: ["250 delivered on this host"],
}) as Reply;

/**
 * An account with `direct on`: the mail goes to local mailboxes and MX hosts
 * (docs/DIRECT.md). A failure names each recipient that did not get the mail; the exit code is
 * 75 when every failure is temporary.
 */
async function sendDirect(
  s: Settings,
  mail: PreparedMail,
  env: Readonly<Record<string, string>>,
): Promise<SendReport> {
  const { deliverWithoutRelay } = await import("./direct/route.ts");
  const { overallExitCode } = await import("./direct/outcome.ts");
  const payload = stuffMail(mail.message);
  const cacheBase = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : undefined);
  const result = await deliverWithoutRelay({
    settings: s,
    from: mail.from,
    recipients: mail.recipients,
    payload: payload.stream,
    dsn: {
      notify: s.dsn_notify === null ? null : s.dsn_notify.toUpperCase(),
      ret: s.dsn_return,
    },
    ...(cacheBase ? { stsCacheDir: `${cacheBase}/postie/mta-sts` } : {}),
  });
  const failed = result.outcomes.filter((o) => o.status !== "delivered");
  if (failed.length > 0) {
    const lines = failed.map((o) => `${o.recipient}: ${o.message ?? "not delivered"}`);
    const delivered = result.outcomes.filter((o) => o.status === "delivered");
    if (delivered.length > 0) {
      lines.push(`delivered to ${delivered.map((o) => o.recipient).join(", ")}`);
    }
    throw new PostieError(lines[0], overallExitCode(result.outcomes), { details: lines.slice(1) });
  }
  return {
    reply: result.transactions.at(-1)?.reply ?? LOCAL_REPLY,
    accepted: result.outcomes.map((o) => o.recipient),
    mailsize: payload.stuffer.mailsize,
  };
}

/** What to send and how. */
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

/** How a successful delivery went. */
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
 * Sends one mail. Resolves when the server accepted it; otherwise rejects with a
 * {@linkcode PostieError} whose `exitCode` is the sysexits code the command would end with
 * and whose message is msmtp's. An account with `direct on` delivers to the recipients'
 * mail hosts and local mailboxes itself (docs/DIRECT.md): then a failure's message and
 * `details` name each recipient that did not get the mail, and those that did.
 *
 * @example Usage
 * ```ts ignore
 * import { send } from "./mod.ts";
 * try {
 *   await send({ account: "ci", to: ["team@example.org"], message: "Subject: x\n\ny\n" });
 * } catch (e) {
 *   console.error(e.message, e.exitCode); // e.g. "cannot connect to …" 75
 * }
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
  if (s.direct) return await sendDirect(s, mail, options.env ?? Deno.env.toObject());
  const connection = await SmtpConnection.open(s, {
    env: options.env ?? Deno.env.toObject(),
    prompt: false,
  });
  try {
    const dsn = {
      notify: s.dsn_notify === null ? null : s.dsn_notify.toUpperCase(),
      ret: s.dsn_return,
    };
    const result = await connection.send(
      { from: mail.from, recipients: mail.recipients, dsn },
      mail.message,
    );
    await connection.quit();
    return { reply: result.reply, accepted: result.accepted, mailsize: result.mailsize };
  } finally {
    connection.close();
  }
}
