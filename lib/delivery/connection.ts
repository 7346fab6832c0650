/**
 * One connection to an account's server, ready for mail: connect (TCP, unix socket,
 * SOCKS5, implicit TLS), greeting, EHLO/LHLO, STARTTLS and EHLO again, AUTH as the account
 * says; then any number of mails, each with its per-recipient result. The command line,
 * the queue, the relay and scripts all deliver through it.
 *
 * @module
 */

import { type Account, DEFAULT_END_OF_DATA_TIMEOUT, type Settings } from "../config/account.ts";
import { formatCertificateInfo, formatTlsParameters } from "../net/cert_info.ts";
import { connect, type NetTransport } from "../net/connect.ts";
import type { ReadOptions, TlsInfo, TlsOptions, Transport } from "../net/transport.ts";
import { DotStuffer } from "../message/dot_stuff.ts";
import type { ByteInput } from "../byte_source.ts";
import type { Capabilities } from "../smtp/capabilities.ts";
import type { DsnOptions } from "../smtp/command.ts";
import { SmtpError } from "../smtp/errors.ts";
import type { Reply } from "../smtp/reply.ts";
import { SmtpSession } from "../smtp/session.ts";

/** How to open a connection. */
export interface ConnectionOptions {
  /** Receives the `--debug` transcript and TLS details, each piece ending in a newline. */
  debug?: (text: string) => void;
  /** Ask the TLS layer for the server certificate (`--serverinfo`). */
  showCertificate?: boolean;
  /**
   * The environment password lookup sees (`HOME` for `~/.netrc`, the keyring's session
   * bus); the process's when not given.
   */
  env?: Readonly<Record<string, string>>;
  /** Abandons the attempt: the connection is closed and the promise rejects with the reason. */
  signal?: AbortSignal;
  /**
   * Authenticate as the account says (`auth`) before resolving. False leaves it to the
   * caller ({@linkcode SmtpConnection.authenticate}), who may check capabilities first.
   * @default {true}
   */
  authenticate?: boolean;
  /**
   * How long the answer to the end of a mail may take, in seconds (default: `timeout`); see
   * {@linkcode endOfDataTimeout} for what an account gets.
   */
  endOfDataTimeout?: number;
  /**
   * Whether a password prompt on the terminal may be the last resort.
   * @default {true}
   */
  prompt?: boolean;
}

/** The envelope of one mail. */
export interface DeliveryEnvelope {
  /** The envelope sender; `""` or `<>` for the null sender. */
  from: string;
  /** The envelope recipients, in order. */
  recipients: string[];
  /** DSN parameters (`dsn_notify`, `dsn_return`); they require the DSN capability. */
  dsn?: DsnOptions;
}

/** Options of {@linkcode SmtpConnection.send}. */
export interface SendMailOptions {
  /**
   * Deliver to the recipients the server accepts and report the refused ones, instead of
   * msmtp's rule that one refused recipient fails the whole mail. With none accepted the
   * mail still fails, with the first refusal.
   * @default {false}
   */
  partial?: boolean;
  /** Abandons the mail: the connection is closed and the promise rejects with the reason. */
  signal?: AbortSignal;
  /** The last mail on this connection failed: begin with RSET (see `SmtpSession.send`). */
  reset?: boolean;
  /**
   * The envelope of the mail that will follow, sent behind this one's data when the server
   * pipelines (see `SmtpSession.send`); the next call must send that mail, or close.
   */
  next?: DeliveryEnvelope;
}

/** A recipient the server refused, with its reply (code, enhanced code, text). */
export interface RecipientRejection {
  /** The envelope recipient. */
  address: string;
  /** The reply that refused it (to RCPT, or LMTP's after the data). */
  reply: Reply;
}

/** How one mail went. */
export interface DeliveryResult {
  /**
   * The server's final reply: the reply to the end of data (SMTP), or LMTP's reply for the
   * first recipient delivered.
   */
  reply: Reply;
  /** The recipients the server took the mail for, in envelope order. */
  accepted: string[];
  /** With `partial`, the recipients refused, in envelope order; otherwise empty. */
  rejected: RecipientRejection[];
  /** msmtp's `mailsize`: bytes of mail, each line end counting one, stuffing excluded. */
  mailsize: number;
}

/**
 * The TLS options of an account (`tls_host_override` names the certificate's host).
 *
 * @example Usage
 * ```ts
 * import { tlsOptions } from "./connection.ts";
 * import { DEFAULT_SETTINGS } from "../config/account.ts";
 * console.log(tlsOptions({ ...DEFAULT_SETTINGS, host: "mx" }).hostname); // "mx"
 * ```
 */
export function tlsOptions(s: Settings): TlsOptions {
  return {
    hostname: s.tls_host_override ?? s.host ?? "",
    trustFile: s.tls_trust_file,
    certcheck: s.tls_certcheck,
    fingerprint: s.tls_fingerprint,
    certFile: s.tls_cert_file,
    keyFile: s.tls_key_file,
    crlFile: s.tls_crl_file,
  };
}

/**
 * msmtp's TLS block of `--debug` and `--serverinfo`.
 *
 * @example Usage
 * ```ts
 * import { tlsInfoLines } from "./connection.ts";
 * console.log(tlsInfoLines({}).length > 0); // true
 * ```
 */
export function tlsInfoLines(info: TlsInfo): string[] {
  return [
    ...formatTlsParameters(info),
    ...(info.certificate ? formatCertificateInfo(info.certificate) : []),
  ];
}

/**
 * The DSN parameters an account asks for (`dsn_notify`, `dsn_return`).
 *
 * @example Usage
 * ```ts
 * import { accountDsn } from "./connection.ts";
 * import { DEFAULT_SETTINGS } from "../config/account.ts";
 * console.log(accountDsn({ ...DEFAULT_SETTINGS, dsn_notify: "failure" })); // { notify: "FAILURE", ret: null }
 * ```
 */
export function accountDsn(s: Settings): DsnOptions {
  return { notify: s.dsn_notify === null ? null : s.dsn_notify.toUpperCase(), ret: s.dsn_return };
}

/** `stuffMail` (message/data.ts) for a mail held whole: its DATA bytes and the stuffer. */
function stuffWhole(message: Uint8Array): { stream: Uint8Array; stuffer: DotStuffer } {
  const stuffer = new DotStuffer();
  const body = stuffer.push(message);
  const end = stuffer.end();
  if (end.length === 0) return { stream: body, stuffer };
  const all = new Uint8Array(body.length + end.length);
  all.set(body);
  all.set(end, body.length);
  return { stream: all, stuffer };
}

/** The socket seen by the session, noting when the server ended the connection. */
class WatchedTransport implements Transport {
  readonly inner: NetTransport;
  closed = false;

  constructor(inner: NetTransport) {
    this.inner = inner;
  }

  get tls(): boolean {
    return this.inner.tls;
  }

  async read(options?: ReadOptions): Promise<Uint8Array | null> {
    try {
      const chunk = await this.inner.read(options);
      if (chunk === null) this.closed = true;
      return chunk;
    } catch (error) {
      this.closed = true;
      throw error;
    }
  }

  async write(data: Uint8Array): Promise<void> {
    try {
      await this.inner.write(data);
    } catch (error) {
      this.closed = true;
      throw error;
    }
  }

  startTls(options: TlsOptions): Promise<TlsInfo> {
    return this.inner.startTls(options);
  }

  close(): void {
    this.closed = true;
    this.inner.close();
  }
}

/**
 * Runs `work`; when `signal` aborts first, `onAbort` runs (it closes the connection, which
 * ends any read or write in flight) and the result is the signal's reason.
 */
async function abortable<T>(
  signal: AbortSignal | undefined,
  onAbort: () => void,
  work: () => Promise<T>,
): Promise<T> {
  if (signal === undefined) return await work();
  signal.throwIfAborted();
  let abort!: (reason: unknown) => void;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  const listener = (): void => {
    onAbort();
    abort(signal.reason);
  };
  signal.addEventListener("abort", listener, { once: true });
  const running = work();
  // whichever loses, its rejection is expected and must not go unhandled
  running.catch(() => {});
  aborted.catch(() => {});
  try {
    return await Promise.race([running, aborted]);
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  } finally {
    signal.removeEventListener("abort", listener);
  }
}

/**
 * An open SMTP/LMTP connection for an account.
 *
 * @example Usage
 * ```ts ignore
 * import { SmtpConnection } from "./connection.ts";
 * const connection = await SmtpConnection.open(account.settings);
 * const body = ReadableStream.from([new TextEncoder().encode("Subject: hi\n\nhello\n")]);
 * const result = await connection.send({ from: "a@example.org", recipients: ["b@example.org"] }, body);
 * await connection.quit();
 * connection.close();
 * ```
 */
/**
 * How long the answer to the end of a mail may take for an account, in seconds, whoever
 * sends (command line, library, queue): RFC 5321 §4.5.3.2.6's 10 minutes when the account
 * leaves `timeout` at postie's default, as a server may scan the mail before it answers and
 * giving up early would report a mail failed that the server then delivers; else the
 * account's own `timeout` (msmtp's one limit for every step; 0 is none).
 *
 * @example Usage
 * ```ts ignore
 * const connection = await SmtpConnection.open(account.settings, {
 *   endOfDataTimeout: endOfDataTimeout(account),
 * });
 * ```
 */
export function endOfDataTimeout(account: Pick<Account, "set" | "settings">): number {
  return "timeout" in account.set ? account.settings.timeout : DEFAULT_END_OF_DATA_TIMEOUT;
}

export class SmtpConnection {
  /** The server's greeting (220). */
  readonly greeting: Reply;
  /** The capabilities of the last EHLO/LHLO (after STARTTLS when it was used). */
  capabilities: Capabilities;
  /** The capabilities of the EHLO before STARTTLS, when STARTTLS was used. */
  readonly capabilitiesBeforeTls: Capabilities | undefined;
  /** The TLS session, when TLS is active. */
  readonly tls: TlsInfo | null;
  /** The SMTP dialogue, for what this class does not wrap (ETRN). */
  readonly session: SmtpSession;
  readonly #settings: Settings;
  readonly #transport: WatchedTransport;
  readonly #options: ConnectionOptions;

  private constructor(
    settings: Settings,
    options: ConnectionOptions,
    transport: WatchedTransport,
    session: SmtpSession,
    opened: {
      greeting: Reply;
      capabilities: Capabilities;
      before: Capabilities | undefined;
      tls: TlsInfo | null;
    },
  ) {
    this.#settings = settings;
    this.#options = options;
    this.#transport = transport;
    this.session = session;
    this.greeting = opened.greeting;
    this.capabilities = opened.capabilities;
    this.capabilitiesBeforeTls = opened.before;
    this.tls = opened.tls;
  }

  /**
   * Connects, greets, says EHLO (LHLO), runs STARTTLS when the account asks for it and
   * authenticates as the account says (unless `authenticate: false`). On failure the
   * connection is closed, after QUIT when the dialogue was still in step, as msmtp does.
   *
   * @throws {NetworkError} the server cannot be reached.
   * @throws {TlsError} TLS failed.
   * @throws {SmtpError} the server refused a step; {@linkcode SmtpAuthError} for AUTH.
   */
  static async open(
    settings: Settings,
    options: ConnectionOptions = {},
  ): Promise<SmtpConnection> {
    const s = settings;
    const debug = options.debug;
    const tls = s.tls ? { ...tlsOptions(s), implicit: !s.tls_starttls } : null;
    let transport: WatchedTransport | undefined;
    let closed = false;
    const closeAll = (): void => {
      closed = true;
      transport?.close();
    };
    return await abortable(options.signal, closeAll, async () => {
      const net = await connect({
        host: s.host ?? "",
        port: s.port,
        socket: s.socket,
        proxyHost: s.proxy_host,
        proxyPort: s.proxy_port || null,
        sourceIp: s.source_ip,
        timeoutMs: s.timeout * 1000,
        ...(options.endOfDataTimeout === undefined
          ? {}
          : { endOfDataTimeoutMs: options.endOfDataTimeout * 1000 }),
        tls,
        showCertificate: options.showCertificate === true || debug !== undefined,
      });
      transport = new WatchedTransport(net);
      // aborted while connecting: the socket that arrived late is closed at once
      if (closed) transport.close();
      const session = new SmtpSession(transport, debug ? { debug } : {});
      try {
        if (tls?.implicit && debug && net.tlsInfo) {
          debug(tlsInfoLines(net.tlsInfo).map((l) => l + "\n").join(""));
        }
        const greeting = await session.greet();
        let capabilities = await session.ehlo(s.domain, s.protocol === "lmtp");
        let tlsInfo = net.tlsInfo;
        const before = capabilities;
        if (tls && !tls.implicit) {
          tlsInfo = await session.startTls(tls, {
            onHandshake: (info) => debug?.(tlsInfoLines(info).map((l) => l + "\n").join("")),
          });
          capabilities = session.capabilities;
        }
        const connection = new SmtpConnection(s, options, transport, session, {
          greeting,
          capabilities,
          before: tls && !tls.implicit ? before : undefined,
          tls: tlsInfo,
        });
        if (options.authenticate !== false) await connection.authenticate();
        return connection;
      } catch (error) {
        // msmtp says goodbye when the dialogue is still in step (STARTTLS not offered)
        if (error instanceof SmtpError && error.quitAllowed && !closed) await session.quit();
        transport.close();
        throw error;
      }
    });
  }

  /** The server's IP address; null for unix sockets and through a proxy. */
  get peerAddress(): string | null {
    return this.#transport.inner.peerAddress;
  }

  /**
   * Whether the connection is gone: the server closed it (end of stream, a read or write
   * error) or {@linkcode SmtpConnection.close} was called. A connection that is not known
   * to be closed may still turn out closed at the next command.
   */
  get closed(): boolean {
    return this.#transport.closed;
  }

  /**
   * Authenticates as the account says (`auth`, `user`, the password sources); nothing
   * when `auth` is off.
   *
   * @throws {SmtpAuthError} the server refused the credentials (exit code 77).
   * @throws {SmtpUnsupportedError} the server offers no (suitable) mechanism.
   */
  async authenticate(): Promise<void> {
    if (this.#settings.auth === "off") return;
    // SASL code and password sources load only for accounts that authenticate
    const { authenticate } = await import("./auth.ts");
    await authenticate(
      this.#settings,
      { session: this.session, capabilities: this.capabilities, tlsActive: this.tls !== null },
      this.#options.env ?? Deno.env.toObject(),
      { prompt: this.#options.prompt ?? true },
    );
  }

  /**
   * Requires the DSN capability when DSN parameters are set.
   *
   * @throws {SmtpUnsupportedError} `the server does not support DSN`.
   */
  checkDsn(dsn: DsnOptions | undefined): void {
    this.session.checkDsn(dsn);
  }

  /**
   * Sends one mail: the message (headers, empty line, body; LF or CRLF line ends) is
   * dot-stuffed and streamed, never held whole (unless it is given whole, as bytes). By
   * default one refused recipient fails the mail (msmtp); with `partial` the refused ones
   * are reported in the result.
   *
   * @throws {SmtpReplyError} a refusal (its `code`, `enhancedCode` and `stage` say which).
   * @throws {LmtpDeliveryError} LMTP without `partial`: some recipients refused after data.
   */
  async send(
    envelope: DeliveryEnvelope,
    message: ByteInput | Uint8Array,
    options: SendMailOptions = {},
  ): Promise<DeliveryResult> {
    // a mail held whole is stuffed in one go; a stream is stuffed by the session as it
    // writes, from a reused buffer
    const whole = message instanceof Uint8Array ? stuffWhole(message) : null;
    const stuffer = whole?.stuffer ?? new DotStuffer();
    return await abortable(options.signal, () => this.close(), async () => {
      try {
        const result = await this.session.send(
          envelope,
          whole ? whole.stream : message,
          {
            partial: options.partial ?? false,
            ...(whole ? {} : { stuffer }),
            ...(options.reset ? { reset: true } : {}),
            ...(options.next ? { next: options.next } : {}),
          },
        );
        const lmtpFirst = result.recipients.find((r) => r.reply.code === 250)?.reply;
        return {
          reply: result.reply ?? lmtpFirst ?? { code: 250, lines: [], raw: [] },
          accepted: result.accepted,
          rejected: result.rejected,
          mailsize: stuffer.mailsize,
        };
      } catch (error) {
        this.#noteClosing(error);
        throw error;
      }
    });
  }

  /**
   * `RSET`: ends any transaction, so that the next mail starts clean; also tells whether
   * an idle connection is still alive.
   *
   * @throws {SmtpReplyError} `command RSET failed`.
   */
  async reset(): Promise<void> {
    try {
      await this.session.reset();
    } catch (error) {
      this.#noteClosing(error);
      throw error;
    }
  }

  /** Sends QUIT and reads the reply; nothing that happens here is an error. */
  async quit(): Promise<void> {
    if (this.closed) return;
    await this.session.quit();
  }

  /** Closes the connection; safe to call twice. */
  close(): void {
    this.#transport.close();
  }

  /** A 421 reply means the server is closing the channel (RFC 5321 §3.8). */
  #noteClosing(error: unknown): void {
    if (error instanceof SmtpError && error.reply?.code === 421) this.#transport.closed = true;
  }
}
