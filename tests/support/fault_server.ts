/**
 * A raw TCP SMTP server on 127.0.0.1 whose every stage can be made to misbehave, for driving
 * the real command line into faults: drop the connection, go silent, answer with any reply
 * (4xx, 5xx, malformed, overlong), or deliver its replies one byte per write. STARTTLS is
 * offered when a certificate is given; the handshake itself can be stalled.
 *
 * Stages: `greeting` (on connect), `ehlo` (EHLO/HELO/LHLO before TLS), `starttls`, `auth`
 * (the AUTH line and every SASL answer), `mail`, `rcpt`, `data` (the DATA command), `body`
 * (the first mail data bytes), `dot` (the end of the data) and `quit`.
 *
 * TLS after STARTTLS is served by `Deno.listenTls` (rustls): the plaintext connection is
 * bridged to an internal TLS listener and the dialogue goes on over the accepted TLS
 * connection. (`node:tls` server sockets under Deno do not finish handshakes with GnuTLS or
 * OpenSSL clients, so msmtp could not be compared against them.)
 *
 * @module
 */

/** Where in the dialogue a fault applies. */
export type FaultStage =
  | "greeting"
  | "ehlo"
  | "starttls"
  | "auth"
  | "mail"
  | "rcpt"
  | "data"
  | "body"
  | "dot"
  | "quit";

/**
 * What the server does at a stage:
 * - `drop`: close the connection at once;
 * - `silent`: say nothing and read nothing more, keeping the connection open;
 * - `stall-tls` (starttls only): answer 220, then never answer the TLS ClientHello;
 * - a string: send it as the reply (CRLF appended unless it ends with `\n`);
 * - bytes: send them exactly;
 * - a list of steps, done in order: the above, or `read` to wait for the client's next bytes
 *   (e.g. `["250-half a reply", "drop"]`, `["220 go ahead", "read", "not TLS", "drop"]`).
 */
export type Fault = FaultStep | FaultStep[];

/** One step of a {@linkcode Fault}. */
export type FaultStep = "drop" | "silent" | "stall-tls" | "read" | string | Uint8Array;

/** How the server behaves. */
export interface FaultServerOptions {
  /** Faults by stage; stages without one behave like a well-mannered server. */
  faults?: Partial<Record<FaultStage, Fault>>;
  /** EHLO keywords after the first line (STARTTLS is added while plaintext when TLS is set). */
  capabilities?: string[];
  /** Send every reply one byte per write. */
  bytewise?: boolean;
  /** Certificate and key (PEM file paths) for STARTTLS. */
  cert?: string;
  key?: string;
  /** Whether EHLO advertises STARTTLS while plaintext (default: when a certificate is set). */
  advertiseStartTls?: boolean;
  /** Bytes sent right after the STARTTLS 220, in the same write (response injection). */
  afterStartTls?: string;
}

/** One connection as the server saw it. */
export interface FaultSession {
  /** Every line received without its CRLF: commands and data lines alike, `.` included. */
  lines: string[];
  /** Lines received after the DATA 354 and before the final dot. */
  data: string[];
  /** Every line received, as bytes (CR LF stripped), for byte-exact checks. */
  rawLines: Uint8Array[];
  /** The final dot was received and answered with 250. */
  delivered: boolean;
  /** The TLS handshake completed. */
  tls: boolean;
  /**
   * When the server fell silent (`silent`, `stall-tls`: right after the last command it read,
   * or at once for the greeting), on this process's `performance.now()` clock.
   */
  silentAt?: number;
  /** When the client hung up after the server fell silent (same clock). */
  hungUpAt?: number;
  /**
   * When the server began its last write to the client (same clock); undefined while it has
   * written nothing. A client waiting for the answer to a command started its timer after
   * this: it sent the command only once it had read what the server last said.
   */
  lastSaidAt?: number;
}

/** A running fault server. */
export interface FaultServer {
  /** The port on 127.0.0.1. */
  port: number;
  /** One entry per accepted connection. */
  sessions: FaultSession[];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 0x0a;
const CR = 0x0d;

function bytesOf(reply: string | Uint8Array): Uint8Array {
  if (typeof reply !== "string") return reply;
  return encoder.encode(reply.endsWith("\n") ? reply : reply + "\r\n");
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Reads lines from a connection; `buffered()` hands over what was read but not used. */
class LineReader {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes received and not yet returned as lines. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** The bytes of the last line returned. */
  lastRaw: Uint8Array = new Uint8Array(0);

  /** The next line without its line end, or null at end of stream. */
  async line(): Promise<string | null> {
    while (true) {
      const lf = this.#buffer.indexOf(LF);
      if (lf >= 0) {
        const end = lf > 0 && this.#buffer[lf - 1] === CR ? lf - 1 : lf;
        this.lastRaw = this.#buffer.slice(0, end);
        const line = decoder.decode(this.lastRaw);
        this.#buffer = this.#buffer.subarray(lf + 1);
        return line;
      }
      if (!(await this.fill())) return null;
    }
  }

  /** Drops the bytes received and not yet returned. */
  discard(): void {
    this.#buffer = new Uint8Array(0);
  }

  /** Reads one more chunk; false at end of stream. */
  async fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch {
      return false;
    }
    if (n === null) return false;
    const merged = new Uint8Array(this.#buffer.length + n);
    merged.set(this.#buffer);
    merged.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = merged;
    return true;
  }
}

/**
 * Starts a fault server on 127.0.0.1, port 0.
 *
 * @example Usage
 * ```ts ignore
 * const server = await startFaultServer({ faults: { rcpt: "drop" } });
 * // run the client against 127.0.0.1:server.port
 * await server.close();
 * ```
 */
export async function startFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const faults = options.faults ?? {};
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tlsListener = options.cert && options.key
    ? Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(options.cert),
      key: await Deno.readTextFile(options.key),
    })
    : null;
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const sessions: FaultSession[] = [];
  let closing = false;

  const spawn = (task: Promise<void>): void => {
    const p = task.catch(() => {}).finally(() => tasks.delete(p));
    tasks.add(p);
  };
  const own = (conn: Deno.Conn): Deno.Conn => {
    conns.add(conn);
    return conn;
  };

  /** Copies bytes one way until either side ends, then closes both. */
  const pump = async (from: Deno.Conn, to: Deno.Conn): Promise<void> => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        let offset = 0;
        while (offset < n) offset += await to.write(buffer.subarray(offset, n));
      }
    } catch {
      // either side closed
    }
    closeQuietly(from);
    closeQuietly(to);
  };

  /** Bridges the plaintext connection to the internal TLS listener; returns the TLS side. */
  const upgrade = async (raw: Deno.Conn): Promise<Deno.TlsConn> => {
    const listenerAddr = tlsListener!.addr as Deno.NetAddr;
    const accepted = tlsListener!.accept();
    const inner = own(await Deno.connect({ hostname: "127.0.0.1", port: listenerAddr.port }));
    const tlsConn = own(await accepted) as Deno.TlsConn;
    spawn(pump(raw, inner));
    spawn(pump(inner, raw));
    return tlsConn;
  };

  const converse = async (
    conn: Deno.Conn,
    session: FaultSession,
    isTls: boolean,
  ): Promise<void> => {
    const say = async (reply: string | Uint8Array): Promise<void> => {
      const bytes = bytesOf(reply);
      session.lastSaidAt = performance.now();
      try {
        if (!options.bytewise) {
          for (let o = 0; o < bytes.length;) o += await conn.write(bytes.subarray(o));
          return;
        }
        for (let i = 0; i < bytes.length; i++) {
          await conn.write(bytes.subarray(i, i + 1));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } catch {
        // the client went away
      }
    };
    /** Applies the stage's fault: "stop" ends the dialogue, "done" replaced the answer. */
    const fault = async (stage: FaultStage): Promise<"stop" | "done" | undefined> => {
      const f = faults[stage];
      if (f === undefined) return undefined;
      if (Array.isArray(f)) {
        for (const step of f) {
          if (step === "read") {
            if (!(await reader.fill())) return "stop";
          } else if ((await apply(step)) === "stop") {
            return "stop";
          }
        }
        return "done";
      }
      return await apply(f);
    };
    const apply = async (f: FaultStep): Promise<"stop" | "done"> => {
      if (f === "drop") {
        closeQuietly(conn);
        return "stop";
      }
      if (f === "silent") return await silence();
      if (f === "stall-tls") {
        await say("220 2.0.0 Ready to start TLS");
        return await silence();
      }
      await say(f);
      return "done";
    };

    /**
     * Says nothing more and notes when the client gives up: its timeout, as the server sees
     * it, without the client's start-up (which a loaded machine can stretch by seconds).
     * What the client still sends meanwhile is read and dropped.
     */
    const silence = async (): Promise<"stop"> => {
      session.silentAt = performance.now();
      while (await reader.fill()) reader.discard();
      session.hungUpAt = performance.now();
      return "stop";
    };

    const reader = new LineReader(conn);
    if (!isTls) {
      const f = await fault("greeting");
      if (f === "stop") return;
      if (f === undefined) await say("220 fault.test ESMTP");
    }
    let saslRounds = 0;
    while (true) {
      const line = await reader.line();
      if (line === null) return;
      session.lines.push(line);
      session.rawLines.push(reader.lastRaw);
      if (saslRounds > 0) {
        const f = await fault("auth");
        if (f === "stop") return;
        saslRounds = f ? 0 : saslRounds - 1;
        if (f) continue;
        // LOGIN asks for the user name, then for the password
        if (saslRounds > 0) await say("334 UGFzc3dvcmQ6");
        else await say("235 2.7.0 Authentication successful");
        continue;
      }
      const verb = line.split(" ")[0].toUpperCase();
      if (verb === "EHLO" || verb === "HELO" || verb === "LHLO") {
        const f = isTls ? undefined : await fault("ehlo");
        if (f === "stop") return;
        if (f) continue;
        const advertise = options.advertiseStartTls ?? tlsListener !== null;
        const caps = [
          "fault.test",
          ...(options.capabilities ?? []),
          ...(!isTls && advertise ? ["STARTTLS"] : []),
        ];
        await say(caps.map((c, i) => `250${i === caps.length - 1 ? " " : "-"}${c}\r\n`).join(""));
      } else if (verb === "STARTTLS") {
        const f = await fault("starttls");
        if (f === "stop") return;
        if (f) continue;
        if (!tlsListener || isTls) {
          await say("454 4.7.0 TLS not available");
          continue;
        }
        await say("220 2.0.0 Ready to start TLS\r\n" + (options.afterStartTls ?? ""));
        const tlsConn = await upgrade(conn);
        try {
          await tlsConn.handshake();
        } catch {
          closeQuietly(tlsConn);
          return;
        }
        session.tls = true;
        return await converse(tlsConn, session, true);
      } else if (verb === "AUTH") {
        const f = await fault("auth");
        if (f === "stop") return;
        if (f) continue;
        if (line.split(" ").length > 2) {
          await say("235 2.7.0 Authentication successful");
        } else {
          const login = line.split(" ")[1]?.toUpperCase() === "LOGIN";
          saslRounds = login ? 2 : 1;
          await say(login ? "334 VXNlcm5hbWU6" : "334 ");
        }
      } else if (verb === "MAIL" || verb === "RCPT") {
        const f = await fault(verb === "MAIL" ? "mail" : "rcpt");
        if (f === "stop") return;
        if (!f) await say(verb === "MAIL" ? "250 2.1.0 Ok" : "250 2.1.5 Ok");
      } else if (verb === "DATA") {
        const f = await fault("data");
        if (f === "stop") return;
        if (f) continue;
        await say("354 End data with <CR><LF>.<CR><LF>");
        if (reader.pending === 0 && !(await reader.fill())) return;
        if ((await fault("body")) === "stop") return;
        while (true) {
          const data = await reader.line();
          if (data === null) return;
          session.lines.push(data);
          session.rawLines.push(reader.lastRaw);
          if (data === ".") break;
          session.data.push(data);
        }
        const end = await fault("dot");
        if (end === "stop") return;
        if (end) continue;
        session.delivered = true;
        await say("250 2.0.0 Ok: queued");
      } else if (verb === "QUIT") {
        const f = await fault("quit");
        if (f === "stop") return;
        if (!f) await say("221 2.0.0 Bye");
        closeQuietly(conn);
        return;
      } else if (verb === "ETRN" && options.capabilities?.includes("ETRN")) {
        await say("250 2.0.0 Queuing started");
      } else {
        await say("502 5.5.2 Error: command not recognized");
      }
    }
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        if (closing) {
          closeQuietly(conn);
          continue;
        }
        own(conn);
        // replies go out one write each; without this, Nagle and delayed ACKs add 40 ms per batch
        (conn as Deno.TcpConn).setNoDelay(true);
        const session: FaultSession = {
          lines: [],
          data: [],
          rawLines: [],
          delivered: false,
          tls: false,
        };
        sessions.push(session);
        spawn(converse(conn, session, false));
      }
    } catch {
      // the listener was closed
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    sessions,
    close: async () => {
      closing = true;
      listener.close();
      tlsListener?.close();
      for (const conn of conns) closeQuietly(conn);
      await accepting;
      await Promise.allSettled([...tasks]);
    },
  };
}
