/**
 * The floor of the benchmarks: the least a Deno program does to send a mail on standard input
 * to an SMTP server. EHLO, STARTTLS when a CA file is given (`Deno.startTls`), then MAIL, every
 * RCPT and DATA pipelined in one write, the mail dot-stuffed with CRLF line ends (postie's own
 * stuffer, so the per-byte work is the same), the final dot and QUIT. No configuration, no
 * checks, no log: what is left is Deno's start-up, the socket and the TLS handshake.
 *
 * Usage: deno run --allow-net --allow-read scripts/bench_deno_client.ts HOST PORT CA|- RCPT…
 *
 * @module
 */

import { DotStuffer } from "../lib/message/dot_stuff.ts";

const [host, port, ca, ...recipients] = Deno.args;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let conn: Deno.Conn = await Deno.connect({ hostname: host, port: Number(port) });
let buffered = "";

/** Reads replies until `count` final lines (`NNN ` rather than `NNN-`) have arrived. */
async function replies(count: number): Promise<void> {
  const chunk = new Uint8Array(16384);
  while (count > 0) {
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line[0] !== "2" && line[0] !== "3") throw new Error(`server said: ${line}`);
      if (line[3] !== "-" && --count === 0) return;
    }
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection closed");
    buffered += decoder.decode(chunk.subarray(0, n));
  }
}

async function write(bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

await replies(1);
await write(encoder.encode("EHLO localhost\r\n"));
await replies(1);
if (ca !== "-") {
  await write(encoder.encode("STARTTLS\r\n"));
  await replies(1);
  conn = await Deno.startTls(conn as Deno.TcpConn, {
    hostname: host,
    caCerts: [await Deno.readTextFile(ca)],
  });
  await write(encoder.encode("EHLO localhost\r\n"));
  await replies(1);
}
const envelope = "MAIL FROM:<bench@example.org>\r\n" +
  recipients.map((r) => `RCPT TO:<${r}>\r\n`).join("") + "DATA\r\n";
await write(encoder.encode(envelope));
await replies(recipients.length + 2);
const stuffer = new DotStuffer();
for await (const chunk of Deno.stdin.readable) await write(stuffer.push(chunk));
await write(stuffer.end());
await write(encoder.encode(".\r\nQUIT\r\n"));
await replies(2);
conn.close();
