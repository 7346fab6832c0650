/**
 * A loopback SMTP sink for the benchmarks that also speaks STARTTLS, which Postfix's
 * `smtp-sink` cannot: it answers every command with success, offers PIPELINING (and
 * STARTTLS when given a certificate), discards the mail data and counts nothing.
 * Built on `node:net`/`node:tls` because `Deno.listenTls` cannot upgrade an accepted
 * connection.
 *
 * Usage: deno run --allow-net --allow-read scripts/bench_sink.ts PORT [CERT KEY]
 * Prints `ready` once listening; runs until killed.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";

const port: number = Number(Deno.args[0]);
const certFile: string | undefined = Deno.args[1];
const keyFile: string | undefined = Deno.args[2];
const context: tls.SecureContext | null = certFile && keyFile
  ? tls.createSecureContext({
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
  })
  : null;

const decoder: TextDecoder = new TextDecoder();

/** Where `\r\n.\r\n` ends in `bytes`, searching from `from`, or -1. */
function findEndOfData(bytes: Uint8Array, from: number): number {
  let i = bytes.indexOf(0x2e, from);
  while (i >= 0) {
    if (
      i >= 2 && bytes[i - 2] === 0x0d && bytes[i - 1] === 0x0a && bytes[i + 1] === 0x0d &&
      bytes[i + 2] === 0x0a
    ) return i + 3;
    i = bytes.indexOf(0x2e, i + 1);
  }
  return -1;
}

function serve(plain: net.Socket): void {
  let socket: net.Socket = plain;
  let secured = false;
  let inData = false;
  // command bytes not yet ending in a line; in data mode, the last 4 bytes seen
  let pending: Uint8Array = new Uint8Array(0);

  const reply = (text: string): void => {
    socket.write(text);
  };

  const command = (line: string): boolean => {
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === "EHLO" || verb === "LHLO") {
      reply(
        "250-bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n" +
          (context && !secured ? "250-STARTTLS\r\n" : "") + "250 SIZE 0\r\n",
      );
    } else if (verb === "DATA") {
      reply("354 go ahead\r\n");
      inData = true;
    } else if (verb === "QUIT") {
      socket.end("221 bye\r\n");
    } else if (verb === "STAR" && context && !secured) {
      // paused before the 220: a fast client's ClientHello must wait for the TLS layer
      socket.off("data", onData);
      socket.pause();
      socket.write("220 ready for TLS\r\n");
      const upgraded = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
      upgraded.on("error", () => upgraded.destroy());
      secured = true;
      socket = upgraded;
      pending = new Uint8Array(0);
      upgraded.once("secure", () => upgraded.on("data", onData));
      return false;
    } else {
      reply("250 ok\r\n");
    }
    return true;
  };

  const onData = (chunk: Uint8Array): void => {
    let bytes = pending.length > 0 ? concat(pending, chunk) : new Uint8Array(chunk);
    while (bytes.length > 0) {
      if (inData) {
        const end = findEndOfData(bytes, 0);
        if (end < 0) {
          pending = bytes.slice(Math.max(0, bytes.length - 4));
          return;
        }
        inData = false;
        reply("250 queued\r\n");
        bytes = bytes.subarray(end);
        continue;
      }
      const lf = bytes.indexOf(0x0a);
      if (lf < 0) break;
      const line = decoder.decode(bytes.subarray(0, lf)).replace(/\r$/, "");
      bytes = bytes.subarray(lf + 1);
      if (!command(line)) return;
    }
    pending = bytes.slice();
  };

  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
  reply("220 bench ESMTP\r\n");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}

const server: net.Server = net.createServer(serve);
server.listen(port, "127.0.0.1", () => console.log("ready"));
