/**
 * The library's transport, in the shape nodemailer users know: {@linkcode loadAccount}
 * reads an account exactly as the command line does, {@linkcode createTransport} makes a
 * transport from it (or from a plain object), and {@linkcode Transport.sendMail} sends raw
 * or composed mails over one reused connection, resolving to a per-recipient result.
 *
 * @module
 */

import type { ComposeOptions } from "./message/compose.ts";
import type { Settings } from "./config/account.ts";
import { realEnv, resolveAccount } from "./config/resolve.ts";
import { accountDsn, SmtpConnection } from "./delivery/connection.ts";
import { directFailure, sendWithoutRelay } from "./delivery/direct.ts";
import { prepareMail } from "./delivery/prepare.ts";
import { ConfigError, UsageError } from "./errors.ts";
import { buildEnvelope } from "./message/envelope.ts";
import { findHeader, splitHeaderFields, unfoldValue } from "./message/headers.ts";
import { readHeaderBlock } from "./message/read.ts";
import { formatMessageId, newMsgidHex } from "./message/rewrite.ts";
import { checkAddress } from "./smtp/command.ts";
import type { Reply } from "./smtp/reply.ts";

/** Options of {@linkcode loadAccount}. */
export interface LoadAccountOptions {
  /** The account's name (`-a`); by default `default` (msmtp's rules, EMAIL/SMTPSERVER last). */
  account?: string;
  /** The configuration file instead of `~/.msmtprc` (`-C`); `.toml` files are TOML. */
  configFile?: string;
  /**
   * The environment the configuration sees (`HOME`, `EMAIL`, `SMTPSERVER`, TOML's
   * `{ env = "NAME" }`, `passwordeval` commands, the keyring's session bus). When given, the
   * process environment is not read at all; by default it is the process's.
   */
  env?: Readonly<Record<string, string>>;
}

const accountSettings = new WeakMap<MailAccount, { settings: Settings; env?: Env }>();

type Env = Readonly<Record<string, string>>;

/**
 * An account loaded from the user's configuration, ready for {@linkcode createTransport}.
 * Its settings stay inside: printing an account never shows a password.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAccount } from "./transport.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/rc.toml`, [
 *   "[accounts.ci]",
 *   'host = "mail.example.org"',
 *   'from = "ci@example.org"',
 * ].join("\n"));
 * await Deno.chmod(`${dir}/rc.toml`, 0o600);
 * const account = await loadAccount({
 *   account: "ci",
 *   configFile: `${dir}/rc.toml`,
 *   env: { HOME: dir },
 * });
 * assert.equal(account.host, "mail.example.org");
 * assert.equal(account.port, 25);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class MailAccount {
  /** The account's name. */
  readonly name: string;
  /** The file the account comes from; undefined for accounts built from options. */
  readonly file: string | undefined;
  /** The server (or null with a unix socket). */
  readonly host: string | null;
  /** The server port (25, 465 or 587 usually; LMTP's as configured). */
  readonly port: number;
  /** The envelope-from address, when the account has one. */
  readonly from: string | null;

  /** Wraps resolved settings; use {@linkcode loadAccount} or {@linkcode createTransport}. */
  constructor(name: string, file: string | undefined, settings: Settings, env?: Env) {
    this.name = name;
    this.file = file;
    this.host = settings.host;
    this.port = settings.port;
    this.from = settings.from;
    accountSettings.set(this, { settings, ...(env === undefined ? {} : { env }) });
  }
}

/**
 * Loads an account from the user's configuration exactly as the command line chooses it:
 * the system file, then `~/.msmtprc` (or `configFile`), msmtp's defaults and checks.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError, loadAccount } from "./mod.ts";
 * // a HOME without ~/.msmtprc, and no EMAIL/SMTPSERVER: no account to be found
 * await assert.rejects(
 *   loadAccount({ env: { HOME: "/nonexistent", POSTIE_SYSCONFDIR: "/nonexistent" } }),
 *   (e: unknown) => e instanceof ConfigError && e.exitCode === 78,
 * );
 * ```
 *
 * @throws {ConfigError} no such account, a file error (with file and line), a bad value.
 */
export async function loadAccount(options: LoadAccountOptions = {}): Promise<MailAccount> {
  const { account } = await resolveAccount({
    ...(options.account === undefined ? {} : { account: options.account }),
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    sending: true,
    requireFrom: false,
  }, realEnv(options.env));
  return new MailAccount(account.name, account.file, account.settings, options.env);
}

/** The credentials of a plain transport. */
export interface TransportAuth {
  /** The user name. */
  user: string;
  /** The password. */
  pass?: string;
  /** A command printing the password (`passwordeval`), run once when the transport is made. */
  passwordeval?: string;
  /** The SASL mechanism (`PLAIN`, `LOGIN`, `SCRAM-SHA-256`, …); chosen as msmtp does by default. */
  method?: string;
}

/** A transport described by plain options instead of a configuration file. */
export interface TransportOptions {
  /** The server's host name or address. */
  host?: string;
  /** The port; by default 25, or 465 with `tls` and no `starttls`. */
  port?: number;
  /** A unix socket to connect to instead of a host. */
  socket?: string;
  /** `smtp` (default) or `lmtp`. */
  protocol?: "smtp" | "lmtp";
  /** Use TLS (`tls`). */
  tls?: boolean;
  /** With `tls`: STARTTLS on a plain connection (true, the default), or TLS from the start (false, port 465). */
  starttls?: boolean;
  /** CA certificates to trust (PEM file); the system's by default. */
  tlsTrustFile?: string;
  /** Accept exactly this certificate (SHA-256 fingerprint, `AA:BB:…`). */
  tlsFingerprint?: string;
  /** Verify the server certificate (default true). */
  tlsCertcheck?: boolean;
  /** Authenticate. */
  auth?: TransportAuth;
  /** The envelope-from (and From header of mails without one). */
  from?: string;
  /** The EHLO name (default `localhost`). */
  domain?: string;
  /** Network timeout in milliseconds for connect, each read and write (default: none). */
  timeout?: number;
  /**
   * Any other msmtp setting by its config-file name, spelled as in the file
   * (`{ set_msgid_header: "off", dsn_notify: "failure" }`); the named options above win.
   */
  settings?: Readonly<Record<string, string>>;
  /**
   * Build each mail and send nothing: {@linkcode SentMessageInfo.message} holds it (as
   * nodemailer's `streamTransport` with `buffer`). No host is needed.
   */
  streamTransport?: boolean;
  /** The environment `passwordeval` and the keyring see; the process's by default. */
  env?: Readonly<Record<string, string>>;
}

/** A raw mail: the envelope and the message as it is (headers, empty line, body). */
export interface RawMail {
  /** The SMTP envelope; by default the account's from and the To, Cc and Bcc headers. */
  envelope?: {
    /** The envelope sender (when the account allows it, as with `-f`); `<>` is the null sender. */
    from?: string;
    /** The recipients; each entry may be an address list. */
    to?: string | string[];
  };
  /** The message: LF or CRLF line ends. A stream is sent as it is read, never held whole. */
  raw: string | Uint8Array | ReadableStream<Uint8Array>;
}

/** A recipient the server refused. */
export interface RejectedRecipient {
  /** The envelope recipient. */
  address: string;
  /**
   * The reply code (4xx: temporary, 5xx: permanent); 0 when no server answered for it (a
   * direct delivery that found no mail host).
   */
  code: number;
  /** The RFC 3463 enhanced status code (`5.1.1`), when the server sent one. */
  enhancedCode: string | undefined;
  /** The reply's text, its lines joined with a newline (or why it failed, without a reply). */
  text: string;
  /** Whether the failure is temporary: the mail may go through later. */
  temporary: boolean;
}

/** How a mail went, as nodemailer's info object. */
export interface SentMessageInfo {
  /** The Message-ID header's value (generated when the mail had none and the account adds it). */
  messageId: string | undefined;
  /** The envelope used. */
  envelope: { from: string; to: string[] };
  /** The recipients the server accepted. */
  accepted: string[];
  /** The recipients the server refused, one entry each (the mail went to the others). */
  rejected: RejectedRecipient[];
  /** The server's last reply, e.g. `250 2.0.0 Ok: queued as 4FZ1x`. */
  response: string;
  /** With `streamTransport`: the message as it would have been sent (CRLF line ends). */
  message?: Uint8Array;
}

/** Options of one {@linkcode Transport.sendMail} call. */
export interface SendMailCallOptions {
  /** Abandons the mail: the connection is closed and the call rejects with the reason. */
  signal?: AbortSignal;
}

export type { ComposeOptions } from "./message/compose.ts";

/** A mail composed from parts; `envelope` replaces the one taken from the addresses. */
export type ComposedMailOptions = ComposeOptions & {
  /** The SMTP envelope, when it differs from the addresses of the mail. */
  envelope?: RawMail["envelope"];
  /** Absent: a mail with `raw` is sent as it is. */
  raw?: undefined;
};

/** A mail for {@linkcode Transport.sendMail}: raw, or composed from parts. */
export type MailOptions = RawMail | ComposedMailOptions;

function toStream(raw: RawMail["raw"]): ReadableStream<Uint8Array> {
  if (raw instanceof ReadableStream) return raw;
  return ReadableStream.from([typeof raw === "string" ? new TextEncoder().encode(raw) : raw]);
}

function onOff(value: boolean): string {
  return value ? "on" : "off";
}

/** The plain options as config commands, in the order the file would give them. */
function optionSettings(options: TransportOptions): Record<string, string> {
  const set: Record<string, string> = { ...options.settings };
  if (options.port !== undefined) set.port = String(options.port);
  if (options.socket !== undefined) set.socket = options.socket;
  if (options.protocol !== undefined) set.protocol = options.protocol;
  if (options.tls !== undefined) set.tls = onOff(options.tls);
  if (options.starttls !== undefined) set.tls_starttls = onOff(options.starttls);
  if (options.tlsTrustFile !== undefined) set.tls_trust_file = options.tlsTrustFile;
  if (options.tlsFingerprint !== undefined) set.tls_fingerprint = options.tlsFingerprint;
  if (options.tlsCertcheck !== undefined) set.tls_certcheck = onOff(options.tlsCertcheck);
  if (options.from !== undefined) set.from = options.from;
  if (options.domain !== undefined) set.domain = options.domain;
  if (options.timeout !== undefined) set.timeout = String(Math.ceil(options.timeout / 1000));
  if (options.auth !== undefined) {
    set.auth = options.auth.method?.toLowerCase() ?? "on";
    set.user = options.auth.user;
    if (options.auth.pass !== undefined) set.password = options.auth.pass;
    if (options.auth.passwordeval !== undefined) set.passwordeval = options.auth.passwordeval;
  }
  return set;
}

/**
 * Makes a transport from an account ({@linkcode loadAccount}) or from plain options.
 *
 * @example Build a mail without sending it
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTransport } from "./mod.ts";
 * const transport = await createTransport({ streamTransport: true, from: "ci@example.org" });
 * const info = await transport.sendMail({
 *   envelope: { to: ["team@example.org"] },
 *   raw: "Subject: Build finished\n\nAll green.\n",
 * });
 * assert.deepEqual(info.accepted, ["team@example.org"]);
 * const text = new TextDecoder().decode(info.message);
 * assert.match(text, /^From: ci@example\.org\r\n/);
 * assert.ok(text.includes(`Message-ID: ${info.messageId}\r\n`));
 * ```
 *
 * @throws {UsageError} an option with a value msmtp would refuse (`invalid argument …`).
 * @throws {ConfigError} the options describe no usable account (`host not set`).
 */
export async function createTransport(
  options: MailAccount | TransportOptions,
): Promise<Transport> {
  if (options instanceof MailAccount) {
    const { settings, env } = accountSettings.get(options)!;
    return new Transport(settings, { ...(env === undefined ? {} : { env }) });
  }
  const stream = options.streamTransport === true;
  const host = options.host ?? (stream || options.socket !== undefined ? "localhost" : undefined);
  if (host === undefined) throw new ConfigError("host not set");
  const { account } = await resolveAccount(
    {
      host,
      overrides: optionSettings(options),
      sending: true,
      requireFrom: false,
      // plain options describe the whole account: POSTIE_* variables are for loadAccount
      environment: false,
    },
    realEnv(options.env),
  );
  return new Transport(account.settings, {
    ...(options.env === undefined ? {} : { env: options.env }),
    stream,
  });
}

/** A mail ready for the wire. */
interface Prepared {
  from: string;
  recipients: string[];
  message: ReadableStream<Uint8Array>;
  messageId: string | undefined;
}

/**
 * Sends mails for one account over one connection, opened at the first mail and reused
 * (RSET between mails, a new connection when the server closed it). Calls are served one
 * after another. {@linkcode Transport.close} ends the connection.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTransport } from "./mod.ts";
 * const transport = await createTransport({ streamTransport: true, from: "a@example.org" });
 * const info = await transport.sendMail({
 *   envelope: { to: "b@example.org, c@example.org" },
 *   raw: "Subject: hi\n\nhello\n",
 * });
 * assert.deepEqual(info.envelope, { from: "a@example.org", to: ["b@example.org", "c@example.org"] });
 * await transport.close();
 * ```
 */
export class Transport {
  readonly #settings: Settings;
  readonly #env: Env | undefined;
  readonly #stream: boolean;
  readonly #hostname: string;
  #connection: SmtpConnection | undefined;
  #used = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** Use {@linkcode createTransport}. */
  constructor(settings: Settings, options: { env?: Env; stream?: boolean } = {}) {
    this.#settings = settings;
    this.#env = options.env;
    this.#stream = options.stream ?? false;
    this.#hostname = realEnv(options.env).hostname();
  }

  /**
   * Sends one mail. Resolves once the server took it for at least one recipient; refused
   * recipients are listed in `rejected`. Rejects when no recipient was accepted (with the
   * first refusal), or with the typed error of what failed.
   *
   * A raw mail goes through the account's header rules as with the command line: a From,
   * Date and Message-ID header are added when missing and Bcc is removed (unless the
   * account turns these off: `set_from_header`, `set_date_header`, `set_msgid_header`,
   * `remove_bcc_headers`).
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { createTransport } from "./mod.ts";
   * const transport = await createTransport({ streamTransport: true, from: "a@example.org" });
   * const info = await transport.sendMail({
   *   raw: "To: b@example.org\nBcc: hidden@example.org\nSubject: x\n\ny\n",
   * });
   * assert.deepEqual(info.accepted, ["b@example.org", "hidden@example.org"]);
   * assert.ok(!new TextDecoder().decode(info.message).includes("hidden@"));
   * ```
   *
   * @throws {SmtpReplyError} the server refused the sender, every recipient or the data.
   * @throws {SmtpAuthError} authentication was refused.
   * @throws {NetworkError} the server cannot be reached or the connection broke.
   * @throws {TlsError} TLS failed.
   * @throws {UsageError} the mail has no recipient.
   */
  sendMail(mail: MailOptions, options: SendMailCallOptions = {}): Promise<SentMessageInfo> {
    const run = this.#queue.then(() => this.#send(mail, options));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Opens a connection, authenticates and says goodbye: resolves true when the account
   * works, rejects with the typed error otherwise. The transport's own connection is not
   * used. A `streamTransport` and a `direct on` account (no relay to ask) resolve true.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { createTransport, NetworkError } from "./mod.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const port = (listener.addr as Deno.NetAddr).port;
   * listener.close(); // nothing listens there any more
   * const transport = await createTransport({ host: "127.0.0.1", port });
   * await assert.rejects(transport.verify(), (e: unknown) => e instanceof NetworkError);
   * ```
   */
  async verify(options: SendMailCallOptions = {}): Promise<true> {
    if (this.#stream || this.#settings.direct) return true;
    const connection = await SmtpConnection.open(this.#settings, this.#openOptions(options));
    try {
      await connection.quit();
    } finally {
      connection.close();
    }
    return true;
  }

  /**
   * Says goodbye to the server and closes the connection, after the mails under way.
   *
   * @example Usage
   * ```ts
   * import { createTransport } from "./mod.ts";
   * const transport = await createTransport({ streamTransport: true });
   * await transport.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#queue;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    try {
      await connection.quit();
    } finally {
      connection.close();
    }
  }

  #openOptions(options: SendMailCallOptions): Parameters<typeof SmtpConnection.open>[1] {
    return {
      ...(this.#env === undefined ? {} : { env: this.#env }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      // a script has no one at the terminal to ask
      prompt: false,
    };
  }

  /** The open connection, checked with RSET when it carried a mail; a new one otherwise. */
  async #acquire(options: SendMailCallOptions): Promise<SmtpConnection> {
    const current = this.#connection;
    if (current !== undefined && !current.closed) {
      if (!this.#used) return current;
      try {
        await current.reset();
        return current;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        // gone or out of step: no mail was started on it, so a new connection is safe
      }
    }
    current?.close();
    this.#connection = undefined;
    const connection = await SmtpConnection.open(this.#settings, this.#openOptions(options));
    this.#connection = connection;
    this.#used = false;
    return connection;
  }

  async #send(mail: MailOptions, options: SendMailCallOptions): Promise<SentMessageInfo> {
    options.signal?.throwIfAborted();
    const prepared = await this.#prepare(mail);
    const envelope = { from: prepared.from, to: prepared.recipients };
    if (this.#stream) {
      const message = crlf(new Uint8Array(await new Response(prepared.message).arrayBuffer()));
      return {
        messageId: prepared.messageId,
        envelope,
        accepted: [...prepared.recipients],
        rejected: [],
        response: "250 message built, not sent",
        message,
      };
    }
    if (this.#settings.direct) return await this.#sendDirect(prepared, envelope);
    let connection: SmtpConnection;
    try {
      connection = await this.#acquire(options);
    } catch (error) {
      await prepared.message.cancel().catch(() => {});
      throw error;
    }
    const s = this.#settings;
    const dsn = accountDsn(s);
    this.#used = true;
    const result = await connection.send(
      { from: prepared.from, recipients: prepared.recipients, dsn },
      prepared.message,
      { partial: true, ...(options.signal === undefined ? {} : { signal: options.signal }) },
    );
    return {
      messageId: prepared.messageId,
      envelope,
      accepted: result.accepted,
      rejected: result.rejected.map((r) => rejection(r.address, r.reply)),
      response: result.reply.raw.join("\n"),
    };
  }

  /**
   * `direct on` (docs/DIRECT.md): local mailboxes and the recipients' mail hosts, one
   * connection per host and mail; a recipient that did not get the mail is in `rejected`.
   */
  async #sendDirect(
    prepared: Prepared,
    envelope: SentMessageInfo["envelope"],
  ): Promise<SentMessageInfo> {
    const result = await sendWithoutRelay(
      this.#settings,
      prepared,
      this.#env ?? Deno.env.toObject(),
    );
    const delivered = result.outcomes.filter((o) => o.status === "delivered");
    if (delivered.length === 0) throw (await directFailure(result.outcomes))!;
    return {
      messageId: prepared.messageId,
      envelope,
      accepted: delivered.map((o) => o.recipient),
      rejected: result.outcomes.filter((o) => o.status !== "delivered").map((o) =>
        o.reply === undefined
          ? {
            address: o.recipient,
            code: 0,
            enhancedCode: undefined,
            text: o.message ?? "not delivered",
            temporary: o.status === "temporary",
          }
          : { ...rejection(o.recipient, o.reply), temporary: o.status === "temporary" }
      ),
      response: result.reply.raw.join("\n"),
    };
  }

  /**
   * Composes a mail from its parts (nodemailer's MailComposer, loaded only for composed
   * mails) and prepares it as a raw one: the account's `from` stands in for a missing From,
   * and the composed addresses (To, Cc, Bcc) are the envelope unless one is given.
   */
  async #prepareComposed(mail: ComposedMailOptions): Promise<Prepared> {
    const { composeMail } = await import("./message/compose.ts");
    const { envelope, raw: _raw, ...parts } = mail;
    const accountFrom = this.#settings.from;
    const withFrom = parts.from === undefined && accountFrom !== null && accountFrom !== ""
      ? { ...parts, from: accountFrom }
      : parts;
    const composed = await composeMail(withFrom, { hostname: this.#hostname });
    const from = envelope?.from ??
      (composed.envelope.from === "" ? undefined : composed.envelope.from);
    return await this.#prepare({
      envelope: {
        ...(from === undefined ? {} : { from }),
        to: envelope?.to ?? composed.envelope.to,
      },
      raw: composed.raw,
    });
  }

  async #prepare(mail: MailOptions): Promise<Prepared> {
    if (mail.raw === undefined) return await this.#prepareComposed(mail);
    const raw = mail as RawMail;
    const block = await readHeaderBlock(toStream(raw.raw));
    const to = raw.envelope?.to;
    let scanned;
    try {
      scanned = buildEnvelope({
        headerBlock: block.header,
        hasSeparator: block.hasSeparator,
        cliRecipients: to === undefined ? [] : typeof to === "string" ? [to] : to,
        readRecipients: to === undefined,
      });
    } catch (error) {
      await block.body.cancel().catch(() => {});
      throw error;
    }
    const s = this.#settings;
    const given = raw.envelope?.from;
    const from = given !== undefined && s.allow_from_override
      ? (given === "<>" ? "" : given)
      : s.from;
    if (scanned.recipients.length === 0 || from === null) {
      await block.body.cancel().catch(() => {});
      if (from === null) throw new ConfigError("envelope-from address is missing");
      throw new UsageError("no recipients found");
    }
    const msgidHex = newMsgidHex(this.#hostname);
    const prepared = await prepareMail({ ...s, from }, { block, envelope: scanned }, {
      hostname: this.#hostname,
      msgidHex,
    });
    try {
      checkAddress(prepared.from, "mail");
      for (const recipient of prepared.recipients) checkAddress(recipient, "rcpt");
    } catch (error) {
      await prepared.message.cancel().catch(() => {});
      throw error;
    }
    const existing = findHeader(splitHeaderFields(block.header), "message-id");
    const messageId = existing !== undefined
      ? unfoldValue(existing).trim()
      : s.set_msgid_header === "auto"
      ? formatMessageId(msgidHex, from, this.#hostname)
      : undefined;
    return { ...prepared, messageId };
  }
}

/** Every line end as CRLF, as the mail goes on the wire (bare CR and bare LF both end a line). */
function crlf(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0d) {
      out.push(0x0d, 0x0a);
      if (bytes[i + 1] === 0x0a) i++;
    } else if (b === 0x0a) {
      out.push(0x0d, 0x0a);
    } else {
      out.push(b);
    }
  }
  return Uint8Array.from(out);
}

function rejection(address: string, reply: Reply): RejectedRecipient {
  return {
    address,
    code: reply.code,
    enhancedCode: reply.enhanced,
    text: reply.lines.join("\n"),
    temporary: reply.code >= 400 && reply.code <= 499,
  };
}
