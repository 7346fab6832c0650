/**
 * A raw SMTP client for tests of the relay: writes exactly the bytes a test gives (bare
 * LF, floods, half a message) and reads replies one at a time, multi-line replies whole.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One reply: the code and its lines' text. */
export interface RawReply {
  code: number;
  text: string;
}

/** A connection to an SMTP server on 127.0.0.1. */
export class RawSmtp {
  #conn: Deno.TcpConn;
  #buffer = "";
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects; the greeting is left to {@linkcode RawSmtp.reply}. */
  static async connect(port: number): Promise<RawSmtp> {
    return new RawSmtp(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text (or bytes) as given. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** The next whole reply; null when the server closed the connection first. */
  async reply(timeoutMs = 10_000): Promise<RawReply | null> {
    const deadline = Date.now() + timeoutMs;
    const chunk = new Uint8Array(65536);
    for (;;) {
      const m = /^((?:\d{3}-[^\n]*\n)*)(\d{3})(?: [^\n]*)?\r?\n/.exec(this.#buffer);
      if (m) {
        this.#buffer = this.#buffer.slice(m[0].length);
        return { code: Number(m[2]), text: m[0].trimEnd() };
      }
      if (this.#closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; have ${this.#buffer}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#conn.read(chunk).catch(() => null),
        new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (n === "timeout") continue;
      if (n === null) this.#closed = true;
      else this.#buffer += decoder.decode(chunk.subarray(0, n));
    }
  }

  /** Sends a command line (CRLF added) and returns its reply. */
  async command(line: string): Promise<RawReply | null> {
    await this.send(line + "\r\n");
    return await this.reply();
  }

  /** Whether the server has closed the connection (reads until the end, bounded). */
  async closedByServer(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) {
      try {
        await this.reply(Math.max(1, deadline - Date.now()));
      } catch {
        break;
      }
    }
    return this.#closed;
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
