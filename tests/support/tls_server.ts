/**
 * A loopback SMTP server speaking just enough for connection tests: a greeting, EHLO
 * (offering STARTTLS while plaintext), STARTTLS, NOOP and QUIT; optionally implicit TLS and a
 * required client certificate. Built on `node:tls` because `Deno.listenTls` can neither
 * upgrade an accepted connection nor ask for a client certificate.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";

/** How the test server behaves. */
export interface TestServerOptions {
  /** Server certificate and key (PEM file paths); without them there is no TLS. */
  cert?: string;
  key?: string;
  /** Speak TLS from the first byte (port 465 style). */
  implicit?: boolean;
  /** Require a client certificate signed by this CA (PEM file path). */
  clientCa?: string;
  /** Accept connections and never say anything (for timeout tests). */
  silent?: boolean;
  /** Accept TCP, then never answer the TLS ClientHello (for handshake timeouts). */
  stallTls?: boolean;
}

/** A running test server; {@linkcode TestServer.close} ends it and every connection. */
export interface TestServer {
  /** The port on 127.0.0.1. */
  port: number;
  /** Every line received, across connections, without CRLF. */
  lines: string[];
  /** Client certificate subjects (CN) seen on TLS connections. */
  clientNames: string[];
  close(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1, port 0.
 *
 * @example Usage
 * ```ts
 * import { startTestServer } from "./tls_server.ts";
 * const server = await startTestServer({});
 * console.log(server.port);
 * await server.close();
 * ```
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const context = options.cert && options.key
    ? tls.createSecureContext({
      cert: await Deno.readTextFile(options.cert),
      key: await Deno.readTextFile(options.key),
      ca: options.clientCa ? await Deno.readTextFile(options.clientCa) : undefined,
    })
    : null;
  const sockets = new Set<net.Socket>();
  const lines: string[] = [];
  const clientNames: string[] = [];

  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const secure = (socket: net.Socket, then: (secured: tls.TLSSocket) => void): void => {
    const secured = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context!,
      requestCert: Boolean(options.clientCa),
      rejectUnauthorized: Boolean(options.clientCa),
    });
    track(secured);
    secured.once("secure", () => {
      const cn = secured.getPeerCertificate()?.subject?.CN;
      if (cn) clientNames.push(String(cn));
      then(secured);
    });
  };

  const converse = (socket: net.Socket, isTls: boolean): void => {
    const say = (text: string): void => void socket.write(text);
    say(`220 test.local ESMTP ready${isTls ? " (TLS)" : ""}\r\n`);
    let buffer = "";
    const onData = (chunk: Uint8Array): void => {
      buffer += new TextDecoder().decode(chunk);
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        lines.push(line);
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO") {
          say(isTls || !context ? "250 test.local\r\n" : "250-test.local\r\n250 STARTTLS\r\n");
        } else if (verb === "STARTTLS" && context && !isTls) {
          socket.off("data", onData);
          say("220 ready to start TLS\r\n");
          secure(socket, (secured) => converse(secured, true));
          return;
        } else if (verb === "QUIT") {
          say("221 bye\r\n");
          socket.end();
          return;
        } else {
          say("250 ok\r\n");
        }
      }
    };
    socket.on("data", onData);
  };

  const server = net.createServer((socket) => {
    track(socket);
    if (options.silent || options.stallTls) return;
    if (options.implicit && context) secure(socket, (secured) => converse(secured, true));
    else converse(socket, false);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    lines,
    clientNames,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
