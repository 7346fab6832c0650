/**
 * Opens the connection an account describes — TCP (optionally from a source address),
 * a unix socket, or TCP through a SOCKS5 proxy; implicit TLS on top when asked — and
 * returns it as a {@linkcode Transport} whose every operation honours the timeout.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import {
  DeadlineExceeded,
  describeNetError,
  readError,
  TIMED_OUT,
  tlsReadError,
  tlsWriteError,
  writeError,
} from "./errors.ts";
import { type ByteStream, connectTcp, OperationDeadline } from "./tcp.ts";
import type { PreparedTls } from "./tls.ts";
import type { ReadOptions, TlsInfo, TlsOptions, Transport } from "./transport.ts";

/** Where to connect and how (msmtp's `host`, `port`, `socket`, `proxy_*`, `source_ip`, `timeout`, `tls*`). */
export interface ConnectOptions {
  /** Server host name or IP literal (also the SOCKS5 target, resolved by the proxy). */
  host: string;
  /** Server port (the SOCKS5 target port through a proxy). */
  port: number;
  /** A unix socket path; when set, host, port, proxy and source address are not used. */
  socket?: string | null;
  /** SOCKS5 proxy host; its port defaults to 1080. */
  proxyHost?: string | null;
  /** SOCKS5 proxy port; 1080 when unset. */
  proxyPort?: number | null;
  /** Local address to connect from. Not used through a proxy (as in msmtp). */
  sourceIp?: string | null;
  /** Network timeout in milliseconds for connect, each read, each write and the TLS handshake; 0 = none. */
  timeoutMs: number;
  /** The wait for the answer to the end of the mail, in milliseconds (default: `timeoutMs`). */
  endOfDataTimeoutMs?: number;
  /**
   * TLS settings. With `implicit` the handshake runs right after connecting (port 465);
   * otherwise the files are checked now and the session calls `startTls` after STARTTLS.
   */
  tls?: (TlsOptions & { implicit: boolean }) | null;
  /** Make the TLS layer report the server certificate (`--serverinfo`, `--debug`). */
  showCertificate?: boolean;
}

/** A {@linkcode Transport} that also tells what is known of its TLS session. */
export interface NetTransport extends Transport {
  /** Set once TLS is active (implicitly or by `startTls`). */
  readonly tlsInfo: TlsInfo | null;
  /** The server's IP address; null for unix sockets and through a proxy. */
  readonly peerAddress: string | null;
}

class SocketTransport implements NetTransport {
  #stream: ByteStream;
  readonly #timeoutMs: number;
  /** Set once connected: the wait for the answer to the end of the mail. */
  endOfDataTimeoutMs: number | undefined;
  readonly #showCertificate: boolean;
  #prepared: PreparedTls | null;
  #pending: Uint8Array | null = null;
  #tlsInfo: TlsInfo | null = null;
  #closed = false;
  readonly #peerAddress: string | null;
  readonly #readDeadline = new OperationDeadline();
  readonly #writeDeadline = new OperationDeadline();

  constructor(
    stream: ByteStream,
    timeoutMs: number,
    showCertificate: boolean,
    prepared: PreparedTls | null,
  ) {
    this.#stream = stream;
    this.#timeoutMs = timeoutMs;
    this.#showCertificate = showCertificate;
    this.#prepared = prepared;
    this.#peerAddress = stream.peerAddress ?? null;
  }

  get tls(): boolean {
    return this.#tlsInfo !== null;
  }

  get tlsInfo(): TlsInfo | null {
    return this.#tlsInfo;
  }

  get peerAddress(): string | null {
    return this.#peerAddress;
  }

  /** Bytes received ahead of their time (after a SOCKS5 reply) come first. */
  unread(bytes: Uint8Array): void {
    if (bytes.length) this.#pending = bytes;
  }

  async read(options: ReadOptions = {}): Promise<Uint8Array | null> {
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = null;
      return pending;
    }
    if (this.#closed) return null;
    try {
      const timeoutMs = options.endOfData && this.endOfDataTimeoutMs !== undefined
        ? this.endOfDataTimeoutMs
        : this.#timeoutMs;
      return await this.#readDeadline.run(this.#stream.read(), timeoutMs, () => this.close());
    } catch (error) {
      this.close();
      throw this.#ioError(error, "read");
    }
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#closed) throw this.#ioError(new Deno.errors.BrokenPipe("Broken pipe"), "write");
    try {
      await this.#writeDeadline.run(this.#stream.write(data), this.#timeoutMs, () => this.close());
    } catch (error) {
      this.close();
      throw this.#ioError(error, "write");
    }
  }

  #ioError(error: unknown, operation: "read" | "write"): PostieError {
    if (error instanceof PostieError) return error;
    if (this.tls) {
      const detail = error instanceof DeadlineExceeded
        ? TIMED_OUT
        : error instanceof Deno.errors.UnexpectedEof ||
            /close_notify|UnexpectedEof/i.test(String(error))
        ? "The TLS connection was non-properly terminated."
        : describeNetError(error);
      return operation === "read" ? tlsReadError(detail, error) : tlsWriteError(detail, error);
    }
    const detail = describeNetError(error);
    return operation === "read" ? readError(detail, error) : writeError(detail, error);
  }

  async startTls(options: TlsOptions): Promise<TlsInfo> {
    if (this.tls) throw new PostieError("TLS is already active", ExitCode.SOFTWARE);
    // Plaintext the caller has not read must never be parsed as if it came over TLS.
    this.#pending = null;
    // TLS, SOCKS and unix sockets load only for the connections that use them.
    const { prepareTls, startTlsSession } = await import("./tls.ts");
    const prepared = this.#prepared && sameTlsOptions(this.#prepared.options, options)
      ? this.#prepared
      : await prepareTls(options);
    this.#prepared = null;
    try {
      const session = await startTlsSession(this.#stream, prepared, {
        timeoutMs: this.#timeoutMs,
        showCertificate: this.#showCertificate,
      });
      this.#stream = session.stream;
      this.#tlsInfo = session.info;
      return session.info;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.close();
  }
}

function sameTlsOptions(a: TlsOptions, b: TlsOptions): boolean {
  return a.hostname === b.hostname && a.trustFile === b.trustFile &&
    a.certcheck === b.certcheck && a.fingerprint === b.fingerprint &&
    a.certFile === b.certFile && a.keyFile === b.keyFile;
}

function splitTls(
  tls: ConnectOptions["tls"],
): { options: TlsOptions; implicit: boolean } | null {
  if (!tls) return null;
  const { implicit, ...options } = tls;
  return { options, implicit };
}

/**
 * Connects as the account says and returns the byte pipe the SMTP session speaks through.
 *
 * TLS files are read before connecting (as msmtp does), so a bad trust file is reported
 * even when the server is down. Errors are {@linkcode PostieError}s in msmtp's words:
 * `cannot locate host …` (68/75), `cannot connect to …` (75), `proxy failure: …` (69),
 * `TLS handshake failed: …` (76), `TLS certificate verification failed: …` (69),
 * unreadable TLS files (66).
 *
 * @example Usage
 * ```ts
 * import { connect } from "./connect.ts";
 * const transport = await connect({
 *   host: "mail.example.org",
 *   port: 465,
 *   timeoutMs: 30_000,
 *   tls: {
 *     implicit: true, hostname: "mail.example.org", trustFile: "system", certcheck: true,
 *     fingerprint: null, certFile: null, keyFile: null,
 *   },
 * });
 * console.log(await transport.read());
 * transport.close();
 * ```
 */
export async function connect(options: ConnectOptions): Promise<NetTransport> {
  const tls = splitTls(options.tls);
  const prepared = tls ? await (await import("./tls.ts")).prepareTls(tls.options) : null;
  const showCertificate = options.showCertificate ?? false;

  let transport: SocketTransport;
  if (options.socket) {
    const { connectUnix } = await import("./unix.ts");
    const stream = await connectUnix(options.socket, options.timeoutMs);
    transport = new SocketTransport(stream, options.timeoutMs, showCertificate, prepared);
  } else if (options.proxyHost) {
    const stream = await connectTcp({
      host: options.proxyHost,
      port: options.proxyPort ?? 1080,
      timeoutMs: options.timeoutMs,
    });
    transport = new SocketTransport(stream, options.timeoutMs, showCertificate, prepared);
    try {
      const { socks5Connect } = await import("./socks.ts");
      transport.unread(await socks5Connect(transport, options.host, options.port));
    } catch (error) {
      transport.close();
      throw error;
    }
  } else {
    const stream = await connectTcp({
      host: options.host,
      port: options.port,
      sourceIp: options.sourceIp,
      timeoutMs: options.timeoutMs,
    });
    transport = new SocketTransport(stream, options.timeoutMs, showCertificate, prepared);
  }
  transport.endOfDataTimeoutMs = options.endOfDataTimeoutMs;
  if (tls?.implicit) await transport.startTls(tls.options);
  return transport;
}
