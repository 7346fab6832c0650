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

import { createTransport, loadAccount, type SentMessageInfo, type Transport } from "./transport.ts";

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
  /** The mail: headers, an empty line, the body. LF or CRLF line ends. */
  message: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Recipients; each entry may be an address list. By default the To, Cc and Bcc headers. */
  to?: string[];
  /** The envelope sender; by default the account's `from`. */
  from?: string;
  /** The account of the configuration file; by default `default`. */
  account?: string;
  /** The configuration file instead of `~/.msmtprc`. */
  configFile?: string;
  /** Read no file: the account is this host and `overrides`. */
  host?: string;
  /** With `host`: settings spelled as in the config file (`{ port: "587" }`). */
  overrides?: Readonly<Record<string, string>>;
  /** The environment the configuration sees; the process's by default. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Sends one mail over a connection of its own.
 *
 * @deprecated Use {@linkcode createTransport} and {@linkcode Transport.sendMail}, which
 * reuse the connection and take composed mails.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { NetworkError, send } from "./mod.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * listener.close(); // nothing listens there any more
 * await assert.rejects(
 *   send({ host: "127.0.0.1", overrides: { port: String(port) }, from: "a@example.org",
 *     to: ["b@example.org"], message: "Subject: x\n\ny\n" }),
 *   (e: unknown) => e instanceof NetworkError && e.exitCode > 0,
 * );
 * ```
 */
export async function send(options: SendOptions): Promise<SentMessageInfo> {
  const env = options.env === undefined ? {} : { env: options.env };
  const transport: Transport = options.host !== undefined
    ? await createTransport({ host: options.host, settings: options.overrides ?? {}, ...env })
    : await createTransport(
      await loadAccount({
        ...(options.account === undefined ? {} : { account: options.account }),
        ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
        ...env,
      }),
    );
  try {
    return await transport.sendMail({
      envelope: {
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.to === undefined ? {} : { to: options.to }),
      },
      raw: options.message,
    });
  } finally {
    await transport.close();
  }
}
