/**
 * The SOCKS5 client handshake (RFC 1928): no authentication, CONNECT by domain name so the
 * proxy resolves the target, exactly as msmtp does.
 *
 * @module
 */

import { proxyFailure, readError } from "./errors.ts";
import type { ByteStream } from "./tcp.ts";

const REPLY_TEXT: Record<number, string> = {
  0x01: "general server failure",
  0x02: "connection not allowed",
  0x03: "network unreachable",
  0x04: "host unreachable",
  0x05: "connection refused",
  0x06: "time-to-live expired",
  0x07: "command not supported",
  0x08: "address type not supported",
};

/** The two operations the handshake needs; a Transport or a raw stream will do. */
export type SocksStream = Pick<ByteStream, "read" | "write">;

/** Reads exactly as many bytes as asked for, keeping what arrives beyond them. */
class ExactReader {
  readonly #stream: SocksStream;
  #buffer = new Uint8Array(0);

  constructor(stream: SocksStream) {
    this.#stream = stream;
  }

  async take(n: number): Promise<Uint8Array> {
    while (this.#buffer.length < n) {
      const chunk = await this.#stream.read();
      // msmtp's wording for a proxy that hangs up mid-reply: no detail.
      if (chunk === null) throw readError();
      const joined = new Uint8Array(this.#buffer.length + chunk.length);
      joined.set(this.#buffer);
      joined.set(chunk, this.#buffer.length);
      this.#buffer = joined;
    }
    const taken = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return taken;
  }

  get rest(): Uint8Array {
    return this.#buffer;
  }
}

/**
 * Asks the SOCKS5 proxy on `stream` to connect to `host`:`port`. Returns the bytes the
 * proxy already relayed from the target after its reply (usually none; the SMTP greeting
 * when it came in the same packet). Failures: `proxy failure: …` (69), `network read error` (74).
 *
 * @example Usage
 * ```ts
 * import { connectTcp } from "./tcp.ts";
 * import { socks5Connect } from "./socks.ts";
 * const stream = await connectTcp({ host: "127.0.0.1", port: 1080, timeoutMs: 0 });
 * const early = await socks5Connect(stream, "mail.example.org", 587);
 * console.log(early.length);
 * ```
 */
export async function socks5Connect(
  stream: SocksStream,
  host: string,
  port: number,
): Promise<Uint8Array> {
  const name = new TextEncoder().encode(host);
  if (name.length > 0xff) throw proxyFailure("host name too long");
  const reader = new ExactReader(stream);

  await stream.write(Uint8Array.of(0x05, 0x01, 0x00));
  const greeting = await reader.take(2);
  if (greeting[0] !== 0x05 || greeting[1] !== 0x00) throw proxyFailure("unexpected reply");

  const request = new Uint8Array(5 + name.length + 2);
  request.set([0x05, 0x01, 0x00, 0x03, name.length]);
  request.set(name, 5);
  request[5 + name.length] = port >> 8;
  request[6 + name.length] = port & 0xff;
  await stream.write(request);

  const head = await reader.take(5);
  if (head[0] !== 0x05 || head[2] !== 0x00 || ![0x01, 0x03, 0x04].includes(head[3])) {
    throw proxyFailure("unexpected reply");
  }
  // The fifth byte is the first of the bound address, or the domain name's length.
  const rest = (head[3] === 0x01 ? 3 : head[3] === 0x04 ? 15 : head[4]) + 2;
  await reader.take(rest);
  if (head[1] !== 0x00) throw proxyFailure(REPLY_TEXT[head[1]] ?? "unknown error");
  return reader.rest;
}
