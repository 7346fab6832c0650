/**
 * Standard input and output as the socket-like Node stream smtp-server serves (`-bs`,
 * inetd, systemd socket activation), with the idle timer a socket has.
 *
 * @module
 */

import { Duplex } from "node:stream";

/** How long a session whose input has ended waits for its last replies, in ms. */
const END_GRACE_MS = 5000;

/** The stream and a promise that resolves when the session is over. */
export interface StdioDuplex {
  stream: Duplex;
  /** Resolves once the reply side is finished or the stream is destroyed. */
  closed: Promise<void>;
}

/**
 * Wraps a byte source and sink (standard input and output by default).
 *
 * @example Usage
 * ```ts ignore
 * const { stream, closed } = stdioDuplex();
 * relay.serve(stream, "127.0.0.1");
 * await closed;
 * ```
 */
export function stdioDuplex(
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
  output: WritableStream<Uint8Array> = Deno.stdout.writable,
): StdioDuplex {
  const reader = input.getReader();
  const writer = output.getWriter();
  let done!: () => void;
  const closed = new Promise<void>((resolve) => done = resolve);
  let idle: ReturnType<typeof setTimeout> | undefined;
  let idleMs = 0;
  let onIdle: (() => void) | undefined;
  const rearm = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    idle = idleMs > 0 && onIdle ? setTimeout(() => onIdle?.(), idleMs) : undefined;
  };
  // Input is read only after the greeting is out: a script or inetd client that writes
  // at once is no early talker.
  let greeted!: () => void;
  const greeting = new Promise<void>((resolve) => greeted = resolve);
  // After the end of input the commands already read are still answered (a script pipes
  // its whole session at once); once no reply has been written for a while, or QUIT was
  // answered, the session is over.
  let inputEnded = false;
  let drain: ReturnType<typeof setTimeout> | undefined;
  const rearmDrain = (): void => {
    if (!inputEnded) return;
    if (drain !== undefined) clearTimeout(drain);
    drain = setTimeout(() => stream.end(), END_GRACE_MS);
  };
  const stream = new Duplex({
    read() {
      greeting.then(() => reader.read()).then(({ value, done: end }) => {
        rearm();
        if (end) {
          inputEnded = true;
          rearmDrain();
        }
        this.push(end ? null : value);
      }, (error) => this.destroy(error));
    },
    write(chunk: Uint8Array, _encoding, callback) {
      greeted();
      rearmDrain();
      writer.write(chunk).then(() => callback(), (error) => callback(error));
    },
    final(callback) {
      writer.close().then(() => callback(), () => callback());
    },
    destroy(error, callback) {
      if (idle !== undefined) clearTimeout(idle);
      if (drain !== undefined) clearTimeout(drain);
      reader.cancel().catch(() => {});
      done();
      callback(error);
    },
  });
  stream.on("finish", () => {
    if (idle !== undefined) clearTimeout(idle);
    if (drain !== undefined) clearTimeout(drain);
    done();
  });
  Object.assign(stream, {
    readyState: "open",
    remoteAddress: "127.0.0.1",
    remotePort: 0,
    localAddress: "127.0.0.1",
    localPort: 0,
    setTimeout(ms: number, callback?: () => void): Duplex {
      idleMs = ms;
      if (callback) onIdle = callback;
      rearm();
      return stream;
    },
  });
  return { stream, closed };
}
