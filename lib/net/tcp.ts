/**
 * TCP connections, and the raw byte streams every connection kind is built on.
 *
 * A {@linkcode ByteStream} is a connection without policy: no timeout, no msmtp wording.
 * `connect.ts` adds both. Two implementations exist: one over a `Deno.Conn` (the usual
 * path, and unix sockets) and one over a `node:net` socket, used only where Deno's own API
 * cannot do the job (binding a source address) and for TLS sockets made by `node:tls`.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import {
  bindFailed,
  connectFailed,
  DeadlineExceeded,
  describeNetError,
  hostNotFound,
  lookupTimedOut,
  TIMED_OUT,
} from "./errors.ts";

/**
 * A raw, unbuffered byte stream. Errors are thrown as the platform raised them.
 *
 * @example Usage
 * ```ts
 * import { connectTcp } from "./tcp.ts";
 * const stream = await connectTcp({ host: "127.0.0.1", port: 25, timeoutMs: 0 });
 * await stream.write(new TextEncoder().encode("QUIT\r\n"));
 * stream.close();
 * ```
 */
export interface ByteStream {
  /** The next chunk, or null at end of stream. */
  read(): Promise<Uint8Array | null>;
  /** Writes every byte. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the stream; safe to call twice. */
  close(): void;
  /** The TCP connection, when Deno's native TLS can upgrade this stream. */
  readonly tcpConn?: Deno.TcpConn;
  /** The peer's IP address, for TCP connections (`--serverinfo` prints it). */
  readonly peerAddress?: string;
  /**
   * Hands the stream over to `node:tls` as a Duplex. The ByteStream must not be used after.
   */
  toDuplex(): Promise<Duplex>;
}

/**
 * Runs `operation` with a deadline: after `ms` milliseconds (0 = never) `onTimeout` runs
 * (it should close the connection, so the pending operation settles) and the returned promise
 * rejects with {@linkcode DeadlineExceeded}.
 *
 * @example Usage
 * ```ts
 * import { withDeadline } from "./tcp.ts";
 * const value = await withDeadline(Promise.resolve(1), 1000, () => {});
 * console.log(value); // 1
 * ```
 */
export function withDeadline<T>(
  operation: Promise<T>,
  ms: number,
  onTimeout: () => void,
): Promise<T> {
  if (ms <= 0) return operation;
  return new Promise<T>((resolve, reject) => {
    const cancel = startTimer(ms, () => {
      // The operation will reject once the connection is closed; nobody waits for it.
      operation.catch(() => {});
      onTimeout();
      reject(new DeadlineExceeded());
    });
    operation.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error) => {
        cancel();
        reject(error);
      },
    );
  });
}

/**
 * Calls `onFire` once after `ms` milliseconds unless the returned function is called first.
 *
 * Built on `Atomics.waitAsync` rather than `setTimeout`: in Deno 2.9 the first `setTimeout`
 * of a process loads the Node compatibility timers (node:timers, async_hooks, util.inspect),
 * about 11 ms of CPU that every mail would pay for its first deadline. A wait on a cell of
 * shared memory is V8's own timer and wakes Deno's event loop like any timer, but it does not
 * keep the process alive; a message port with a listener does, as a pending `setTimeout`
 * would, until the timer fires or is cancelled (so a deadline on a promise that no I/O backs
 * still fires).
 */
function startTimer(ms: number, onFire: () => void): () => void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const keepAlive = new MessageChannel();
  keepAlive.port1.onmessage = () => {};
  let settled = false;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    keepAlive.port1.close();
    keepAlive.port2.close();
    return true;
  };
  const wait = Atomics.waitAsync(cell, 0, 0, ms);
  const fire = () => {
    if (settle()) onFire();
  };
  if (wait.async) void wait.value.then((outcome) => outcome === "timed-out" && fire());
  else queueMicrotask(fire);
  return () => {
    // wakes the waiter ("ok"), so no wait is left behind
    if (settle()) Atomics.notify(cell, 0);
  };
}

/**
 * The deadlines of a connection's reads (or writes), one operation at a time, for far less
 * than a timer per operation: a mail on a reused connection makes half a dozen reads and
 * writes, and {@linkcode withDeadline}'s timer (shared memory, a message port, a wait) cost
 * more than the operation itself. Here each operation only notes when it must end; one wait
 * on a cell of shared memory, started when none is pending, checks at its end whether the
 * operation then in progress is overdue and otherwise waits again for what is left.
 *
 * The wait does not keep the process alive: the operation it watches does (a socket read or
 * write in flight). Use {@linkcode withDeadline} for a promise that no I/O backs.
 *
 * @example Usage
 * ```ts
 * import { OperationDeadline } from "./tcp.ts";
 * const deadline = new OperationDeadline();
 * console.log(await deadline.run(Promise.resolve(1), 1000, () => {})); // 1
 * ```
 */
export class OperationDeadline {
  readonly #cell = new Int32Array(new SharedArrayBuffer(4));
  /** When the operation in progress must end (performance.now() ms); 0 when none runs. */
  #until = 0;
  /** When the pending wait ends; 0 when none is pending. */
  #waking = 0;
  #current: { reject: (error: unknown) => void; onTimeout: () => void } | null = null;

  /**
   * Runs `operation` with a deadline of `ms` milliseconds (0 = none): when it passes,
   * `onTimeout` runs (it should close the connection, so the operation settles) and the
   * result rejects with {@linkcode DeadlineExceeded}. One operation at a time: another
   * one while this one runs gets a timer of its own.
   */
  run<T>(operation: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
    if (ms <= 0) return operation;
    if (this.#current !== null) return withDeadline(operation, ms, onTimeout);
    const now = performance.now();
    this.#until = now + ms;
    if (this.#waking === 0 || this.#waking > this.#until) this.#wait(now, ms);
    return new Promise<T>((resolve, reject) => {
      const current = { reject, onTimeout };
      this.#current = current;
      operation.then(
        (value) => {
          if (this.#finish(current)) resolve(value);
        },
        (error) => {
          if (this.#finish(current)) reject(error);
        },
      );
    });
  }

  /** Ends the operation `current`; false when its deadline already ended it. */
  #finish(current: object): boolean {
    if (this.#current !== current) return false;
    this.#current = null;
    this.#until = 0;
    return true;
  }

  #wait(now: number, ms: number): void {
    const waking = now + ms;
    this.#waking = waking;
    const wait = Atomics.waitAsync(this.#cell, 0, 0, Math.ceil(ms));
    const woke = (): void => {
      // an older wait, overtaken by one that ends sooner, only clears its own mark
      if (this.#waking === waking) this.#waking = 0;
      this.#check();
    };
    if (wait.async) void wait.value.then(woke);
    else queueMicrotask(woke);
  }

  #check(): void {
    const current = this.#current;
    if (current === null) return;
    const now = performance.now();
    if (now < this.#until) {
      if (this.#waking === 0 || this.#waking > this.#until) this.#wait(now, this.#until - now);
      return;
    }
    this.#current = null;
    this.#until = 0;
    current.onTimeout();
    current.reject(new DeadlineExceeded());
  }
}

const READ_SIZE = 16 * 1024;

/**
 * A {@linkcode ByteStream} over a `Deno.Conn` (TCP or unix).
 *
 * @example Usage
 * ```ts
 * import { DenoConnStream } from "./tcp.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 25 });
 * const stream = new DenoConnStream(conn);
 * stream.close();
 * ```
 */
export class DenoConnStream implements ByteStream {
  readonly #conn: Deno.Conn;
  readonly #upgradable: boolean;
  #closed = false;
  #buffer: Uint8Array | null = null;

  /** `upgradable` is false for a connection that already speaks TLS. */
  constructor(conn: Deno.Conn, upgradable = true) {
    this.#conn = conn;
    this.#upgradable = upgradable;
  }

  get peerAddress(): string | undefined {
    const addr = this.#conn.remoteAddr;
    return addr.transport === "tcp" ? addr.hostname : undefined;
  }

  get tcpConn(): Deno.TcpConn | undefined {
    return this.#upgradable && this.#conn.remoteAddr.transport === "tcp"
      ? this.#conn as Deno.TcpConn
      : undefined;
  }

  async read(): Promise<Uint8Array | null> {
    // one buffer for every read (a fresh 16 KiB buffer each time costs page faults); what
    // was read is copied out, so the caller owns its chunk. A read still in flight (its
    // deadline passed) keeps its buffer: the next read gets another.
    const buffer = this.#buffer ?? new Uint8Array(READ_SIZE);
    this.#buffer = null;
    const n = await this.#conn.read(buffer);
    this.#buffer = buffer;
    return n === null ? null : buffer.slice(0, n);
  }

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) offset += await this.#conn.write(data.subarray(offset));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer side of a TLS upgrade: nothing left to release.
    }
  }

  async toDuplex(): Promise<Duplex> {
    const { Duplex } = await import("node:stream");
    const duplex: Duplex = new Duplex({
      read: () => {
        this.read().then(
          (chunk) => duplex.push(chunk),
          (error) => {
            if (!duplex.destroyed) duplex.destroy(this.#closed ? undefined : error);
          },
        );
      },
      write: (chunk: Uint8Array, _encoding, callback) => {
        this.write(chunk).then(() => callback(), (error) => callback(error));
      },
      final: (callback) => {
        this.close();
        callback();
      },
      destroy: (error, callback) => {
        this.close();
        callback(error);
      },
    });
    return duplex;
  }
}

/**
 * A {@linkcode ByteStream} over a `node:net` or `node:tls` socket.
 *
 * @example Usage
 * ```ts
 * import * as net from "node:net";
 * import { NodeSocketStream } from "./tcp.ts";
 * const stream = new NodeSocketStream(net.connect({ host: "127.0.0.1", port: 25 }));
 * stream.close();
 * ```
 */
export class NodeSocketStream implements ByteStream {
  readonly #socket: Socket;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #error: unknown = null;
  #waiter: (() => void) | null = null;
  #closed = false;
  readonly #onData = (chunk: Uint8Array): void => {
    this.#chunks.push(new Uint8Array(chunk));
    this.#wake();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };
  readonly #onError = (error: unknown): void => {
    this.#error ??= error;
    this.#wake();
  };

  /** Takes over reading from `socket` (a connected `node:net` or `node:tls` socket). */
  /** The peer's IP address. */
  readonly peerAddress: string | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.peerAddress = socket.remoteAddress;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  async read(): Promise<Uint8Array | null> {
    while (true) {
      const chunk = this.#chunks.shift();
      if (chunk) return chunk;
      if (this.#error) throw this.#error;
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => error ? reject(error) : resolve());
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#wake();
  }

  toDuplex(): Promise<Duplex> {
    // Bytes already received belong to the plaintext phase and must be discarded.
    this.#socket.off("data", this.#onData);
    this.#socket.off("end", this.#onEnd);
    this.#socket.off("close", this.#onEnd);
    this.#socket.off("error", this.#onError);
    this.#socket.pause();
    return Promise.resolve(this.#socket);
  }
}

/** Where and how to open a TCP connection. */
export interface TcpOptions {
  /** Host name or IP literal. */
  host: string;
  /** Port number. */
  port: number;
  /** Local address to bind (`source_ip`), or null/undefined for the system's choice. */
  sourceIp?: string | null;
  /** Connect timeout in milliseconds (name lookup included); 0 = the system's default. */
  timeoutMs: number;
  /**
   * Resolves the host for a `source_ip` connection; defaults to `node:dns`'s `lookup`
   * (getaddrinfo). A resolver that never answers is cut off by the timeout.
   */
  lookup?: (host: string) => Promise<{ address: string }[]>;
}

/** getaddrinfo's texts as Deno reports them: `failed to lookup address information: TEXT`. */
function lookupFailure(error: unknown): string | null {
  const message = error instanceof Error ? error.message : String(error);
  const match = /failed to lookup address information: (.*)$/.exec(message);
  return match ? match[1].replace(/\s*\(os error \d+\)$/, "") : null;
}

/**
 * Opens a TCP connection, trying every resolved address (IPv6 and IPv4) like msmtp.
 * Errors: `cannot locate host …` (68, 75 when temporary), `cannot connect to …` (75),
 * `cannot bind source ip …` (71).
 *
 * @example Usage
 * ```ts
 * import { connectTcp } from "./tcp.ts";
 * const stream = await connectTcp({ host: "localhost", port: 25, timeoutMs: 30_000 });
 * stream.close();
 * ```
 */
export async function connectTcp(options: TcpOptions): Promise<ByteStream> {
  if (options.sourceIp) return await connectTcpFrom(options, options.sourceIp);
  const controller = new AbortController();
  const attempt = Deno.connect({
    hostname: options.host,
    port: options.port,
    signal: controller.signal,
  });
  try {
    const conn = await withDeadline(attempt, options.timeoutMs, () => controller.abort());
    return new DenoConnStream(conn);
  } catch (error) {
    throw tcpConnectError(options, error);
  }
}

function tcpConnectError(options: TcpOptions, error: unknown): Error {
  const lookup = lookupFailure(error);
  if (lookup !== null) return hostNotFound(options.host, lookup, error);
  const detail = error instanceof DeadlineExceeded
    ? "Connection timed out"
    : describeNetError(error);
  return connectFailed(options.host, options.port, detail, error);
}

/**
 * `Deno.connect` cannot bind a local address, so `source_ip` goes through `node:net`, whose
 * `localAddress` does. Addresses are resolved once and tried in order, as msmtp does.
 */
async function connectTcpFrom(options: TcpOptions, sourceIp: string): Promise<ByteStream> {
  const net = await import("node:net");
  const dns = await import("node:dns/promises");
  if (net.isIP(sourceIp) === 0) throw bindFailed(sourceIp, "Invalid argument");
  // One deadline for the lookup and every connection attempt.
  const deadline = options.timeoutMs > 0 ? Date.now() + options.timeoutMs : 0;
  const lookup = options.lookup ??
    ((host: string) => dns.lookup(host, { all: true, verbatim: true }));
  let addresses: { address: string }[];
  try {
    addresses = await withDeadline(lookup(options.host), options.timeoutMs, () => {});
  } catch (error) {
    if (error instanceof DeadlineExceeded) throw lookupTimedOut(options.host, error);
    throw hostNotFound(options.host, describeNetError(error), error);
  }
  let lastError: unknown = new Error("Network is unreachable");
  for (const { address } of addresses) {
    const remaining = deadline ? Math.max(1, deadline - Date.now()) : 0;
    const socket = net.connect({ host: address, port: options.port, localAddress: sourceIp });
    try {
      await withDeadline(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", () => {
            socket.off("error", reject);
            resolve();
          });
          socket.once("error", reject);
        }),
        remaining,
        () => socket.destroy(),
      );
      return new NodeSocketStream(socket);
    } catch (error) {
      socket.destroy();
      if ((error as { syscall?: string }).syscall === "bind") {
        // Deno reports an address not present on this host as EINVAL; the kernel's word is
        // EADDRNOTAVAIL, which is what msmtp prints.
        const code = (error as { code?: string }).code;
        const detail = code === "EINVAL" || code === "EADDRNOTAVAIL"
          ? "Cannot assign requested address"
          : describeNetError(error);
        throw bindFailed(sourceIp, detail, error);
      }
      lastError = error;
      if (error instanceof DeadlineExceeded) break;
    }
  }
  const detail = lastError instanceof DeadlineExceeded
    ? "Connection timed out"
    : describeNetError(lastError);
  throw connectFailed(
    options.host,
    options.port,
    detail === TIMED_OUT ? "Connection timed out" : detail,
    lastError,
  );
}
