/**
 * A scripted SMTP server for tests, in memory: {@linkcode ScriptedPeer.client} is the
 * {@linkcode Transport} handed to the code under test; the test scripts the replies.
 *
 * - per-command reply queues (`peer.on("RCPT", "250 ok", "550 no")`), byte-exact when a
 *   reply ends with `\n`, CRLF appended otherwise;
 * - `null` in a queue ends the stream there, an `Error` makes the next read fail;
 * - delivery split byte by byte (`bytewise`);
 * - held replies, to check what the client sends before it waits (`hold()` / `release()`);
 * - a record of every write, of the command lines, and of the mail data.
 *
 * @module
 */

import type { TlsInfo, TlsOptions, Transport } from "../../lib/net/transport.ts";

/**
 * A scripted reply: text (CRLF appended unless it ends with `\n`), bytes sent exactly as
 * given, end of stream (`null`), a read failure, or several of them
 * delivered together (e.g. half a reply, then end of stream).
 */
export type ScriptedReply = string | Uint8Array | null | Error | ScriptedReply[];

/** Options of {@linkcode ScriptedPeer}. */
export interface ScriptedPeerOptions {
  /** The greeting, sent at once; null sends nothing. @default {"220 peer.test ESMTP ready"} */
  greeting?: ScriptedReply;
  /** EHLO/LHLO keywords after the first line, e.g. `["PIPELINING", "SIZE 1000"]`. */
  capabilities?: string[];
  /** EHLO/LHLO keywords once TLS is active; defaults to `capabilities` without STARTTLS. */
  tlsCapabilities?: string[];
  /** Deliver every reply one byte per read. */
  bytewise?: boolean;
  /** Make `startTls` fail with this error. */
  startTlsError?: Error;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const DEFAULTS: Record<string, string> = {
  HELO: "250 peer.test",
  MAIL: "250 2.1.0 Ok",
  RCPT: "250 2.1.5 Ok",
  DATA: "354 End data with <CR><LF>.<CR><LF>",
  ".": "250 2.0.0 Ok: queued as ABC123",
  QUIT: "221 2.0.0 Bye",
  STARTTLS: "220 2.0.0 Ready to start TLS",
  ETRN: "250 Queuing started",
  AUTH: "235 2.7.0 Authentication successful",
  SASL: "235 2.7.0 Authentication successful",
  RSET: "250 2.0.0 Ok",
  NOOP: "250 2.0.0 Ok",
};

/**
 * The test side of an in-memory SMTP connection.
 *
 * @example Usage
 * ```ts ignore
 * const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
 * peer.on("RCPT", "550 5.1.1 no such user");
 * const session = new SmtpSession(peer.client);
 * ```
 */
export class ScriptedPeer {
  /** The client end: give this to the code under test. */
  readonly client: Transport;
  /** Every `write()` the client made, as text, in order. */
  readonly writes: string[] = [];
  /** Command lines the client sent (without CRLF), data lines excluded. */
  readonly commands: string[] = [];
  /** The TLS options of each `startTls()` call. */
  readonly tlsCalls: TlsOptions[] = [];
  /** Whether the client closed the connection. */
  closed = false;

  #queues = new Map<string, ScriptedReply[]>();
  #chunks: (Uint8Array | null | Error)[] = [];
  #readers: (() => void)[] = [];
  #writeWaiters: { count: number; resolve: () => void }[] = [];
  #input = "";
  #inData = false;
  #dataParts: string[] = [];
  #inSasl = false;
  #tls = false;
  #holding = false;
  #held: ScriptedReply[] = [];
  #options: ScriptedPeerOptions;

  constructor(options: ScriptedPeerOptions = {}) {
    this.#options = options;
    this.client = this.#makeClient();
    const greeting = "greeting" in options ? options.greeting : "220 peer.test ESMTP ready";
    if (greeting !== undefined) this.#deliver(greeting);
  }

  /** The mail data received between DATA's 354 and the final `.` (raw, still stuffed). */
  get data(): string {
    return this.#dataParts.join("");
  }

  /** Everything the client wrote, as one string. */
  get written(): string {
    return this.writes.join("");
  }

  /**
   * Queues replies for a command verb (`EHLO`, `MAIL`, `RCPT`, `DATA`, `.` for the end of
   * data, `SASL` for an answer to a 334 challenge, `*` for anything). Each command takes
   * the next queued reply; when the queue is empty the default applies.
   */
  on(verb: string, ...replies: ScriptedReply[]): this {
    const key = verb.toUpperCase();
    this.#queues.set(key, [...(this.#queues.get(key) ?? []), ...replies]);
    return this;
  }

  /** Sends bytes to the client now, exactly as given. */
  send(text: string | Uint8Array): void {
    this.#push(typeof text === "string" ? encoder.encode(text) : text);
  }

  /** Ends the stream: the client's next read (after what is queued) gets null. */
  end(): void {
    this.#enqueue(null);
  }

  /** Makes the client's next read (after what is queued) fail with `error`. */
  fail(error: Error): void {
    this.#enqueue(error);
  }

  /** From now on, replies are kept back until {@linkcode ScriptedPeer.release}. */
  hold(): void {
    this.#holding = true;
  }

  /** Sends every held reply and stops holding. */
  release(): void {
    this.#holding = false;
    const held = this.#held;
    this.#held = [];
    for (const reply of held) this.#deliver(reply);
  }

  /** Resolves once the client has made at least `count` writes. */
  waitForWrites(count: number): Promise<void> {
    if (this.writes.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#writeWaiters.push({ count, resolve }));
  }

  #makeClient(): Transport {
    // deno-lint-ignore no-this-alias
    const peer = this;
    return {
      get tls(): boolean {
        return peer.#tls;
      },
      read(): Promise<Uint8Array | null> {
        return peer.#read();
      },
      write(data: Uint8Array): Promise<void> {
        if (peer.closed) return Promise.reject(new Error("Broken pipe (os error 32)"));
        peer.#received(data);
        return Promise.resolve();
      },
      startTls(options: TlsOptions): Promise<TlsInfo> {
        peer.tlsCalls.push(options);
        if (peer.#options.startTlsError) return Promise.reject(peer.#options.startTlsError);
        // Whatever the server sent in clear text is gone once TLS starts.
        peer.#chunks = peer.#chunks.filter((c) => !(c instanceof Uint8Array));
        peer.#tls = true;
        return Promise.resolve({ protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" });
      },
      close(): void {
        peer.closed = true;
      },
    };
  }

  async #read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      await new Promise<void>((resolve) => this.#readers.push(resolve));
    }
    const chunk = this.#chunks[0];
    if (chunk instanceof Uint8Array) this.#chunks.shift();
    if (chunk instanceof Error) {
      this.#chunks.shift();
      throw chunk;
    }
    return chunk;
  }

  #enqueue(chunk: Uint8Array | null | Error): void {
    this.#chunks.push(chunk);
    const readers = this.#readers;
    this.#readers = [];
    for (const wake of readers) wake();
  }

  #push(bytes: Uint8Array): void {
    if (this.#options.bytewise) {
      for (let i = 0; i < bytes.length; i++) this.#enqueue(bytes.slice(i, i + 1));
    } else {
      this.#enqueue(bytes);
    }
  }

  #deliver(reply: ScriptedReply): void {
    if (this.#holding) {
      this.#held.push(reply);
    } else if (Array.isArray(reply)) {
      for (const part of reply) this.#deliver(part);
    } else if (reply instanceof Uint8Array) {
      this.send(reply);
    } else if (reply === null) {
      this.end();
    } else if (reply instanceof Error) {
      this.fail(reply);
    } else {
      this.send(reply.endsWith("\n") ? reply : reply + "\r\n");
    }
  }

  #received(data: Uint8Array): void {
    const text = decoder.decode(data);
    this.writes.push(text);
    this.#input += text;
    for (let eol = this.#input.indexOf("\r\n"); eol >= 0; eol = this.#input.indexOf("\r\n")) {
      const line = this.#input.slice(0, eol);
      this.#input = this.#input.slice(eol + 2);
      if (this.#inData && line !== ".") {
        this.#dataParts.push(line + "\r\n");
        continue;
      }
      this.#inData = false;
      this.commands.push(line);
      this.#respond(line);
    }
    const waiters = this.#writeWaiters;
    this.#writeWaiters = [];
    for (const w of waiters) {
      if (this.writes.length >= w.count) w.resolve();
      else this.#writeWaiters.push(w);
    }
  }

  #respond(line: string): void {
    const verb = line === "." ? "." : this.#inSasl ? "SASL" : line.split(" ")[0].toUpperCase();
    const queue = this.#queues.get(verb);
    const anyQueue = this.#queues.get("*");
    let reply: ScriptedReply | undefined = queue?.length ? queue.shift() : undefined;
    if (reply === undefined && anyQueue?.length) reply = anyQueue.shift();
    if (reply === undefined) reply = this.#defaultReply(verb);
    const first = Array.isArray(reply) ? reply[0] : reply;
    const code = typeof first === "string" ? first.slice(0, 3) : "";
    this.#inSasl = code === "334";
    if (verb === "DATA" && code.startsWith("3")) this.#inData = true;
    this.#deliver(reply);
  }

  #defaultReply(verb: string): string {
    if (verb === "EHLO" || verb === "LHLO") {
      const caps = this.#tls
        ? this.#options.tlsCapabilities ??
          (this.#options.capabilities ?? []).filter((c) => c !== "STARTTLS")
        : this.#options.capabilities ?? [];
      const lines = ["peer.test", ...caps];
      return lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}\r\n`).join("");
    }
    return DEFAULTS[verb] ?? "500 5.5.2 Error: command not recognized";
  }
}

/** A scripted peer listening on 127.0.0.1 for code that opens real sockets. */
export interface ScriptedTcpServer {
  /** The port chosen by the system. */
  readonly port: number;
  /** One peer per accepted connection, in order. */
  readonly peers: ScriptedPeer[];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1, port 0, and answers each connection with a fresh
 * {@linkcode ScriptedPeer}; `setup` scripts it before the greeting is read.
 *
 * @example Usage
 * ```ts ignore
 * const server = listenScriptedPeer({ capabilities: ["PIPELINING"] });
 * // connect to 127.0.0.1:server.port, then inspect server.peers[0].commands
 * await server.close();
 * ```
 */
export function listenScriptedPeer(
  options: ScriptedPeerOptions = {},
  setup?: (peer: ScriptedPeer) => void,
): ScriptedTcpServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peers: ScriptedPeer[] = [];
  const conns: Deno.Conn[] = [];
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const peer = new ScriptedPeer(options);
        setup?.(peer);
        peers.push(peer);
        conns.push(conn);
        tasks.push(bridge(conn, peer));
      }
    } catch {
      // The listener was closed.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    peers,
    async close(): Promise<void> {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed by the bridge.
        }
      }
      await accepting;
      await Promise.allSettled(tasks);
    },
  };
}

async function bridge(conn: Deno.Conn, peer: ScriptedPeer): Promise<void> {
  const inbound = (async () => {
    const buffer = new Uint8Array(16384);
    try {
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        await peer.client.write(buffer.slice(0, n));
      }
    } catch {
      // Connection closed.
    }
    peer.end();
  })();
  try {
    for (let chunk = await peer.client.read(); chunk; chunk = await peer.client.read()) {
      await conn.write(chunk);
    }
  } catch {
    // A scripted failure or a closed connection ends the session.
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
  await inbound;
}
