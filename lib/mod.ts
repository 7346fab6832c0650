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
import { prepareMail } from "./delivery/prepare.ts";
import { PostieError } from "./errors.ts";
import { ExitCode } from "./exit.ts";
import { buildEnvelope } from "./message/envelope.ts";
import { readHeaderBlock } from "./message/read.ts";
import { checkAddress } from "./smtp/command.ts";
import type { Reply } from "./smtp/reply.ts";

export { ConfigError, PostieError, UsageError } from "./errors.ts";
export { ExitCode, exitCodeName } from "./exit.ts";
export type { Reply } from "./smtp/reply.ts";

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
 * and whose message is msmtp's.
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
