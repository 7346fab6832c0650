/**
 * Turns a mail on standard input into the bytes an SMTP client puts on the wire for it
 * (EHLO, MAIL, RCPT, DATA, the dot-stuffed CRLF data, the final dot, QUIT), so that the
 * throughput floor copies exactly those bytes into the same sink with a plain socket tool.
 *
 * Usage: deno run scripts/bench_wire.ts < mail > wire
 *
 * @module
 */

import { DotStuffer } from "../lib/message/dot_stuff.ts";

const encoder: TextEncoder = new TextEncoder();

async function writeAll(bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}

await writeAll(
  encoder.encode(
    "EHLO localhost\r\nMAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@example.org>\r\nDATA\r\n",
  ),
);
const stuffer: DotStuffer = new DotStuffer();
for await (const chunk of Deno.stdin.readable) await writeAll(stuffer.push(chunk));
await writeAll(stuffer.end());
await writeAll(encoder.encode(".\r\nQUIT\r\n"));
