/**
 * Writes a test mail for the benchmarks to standard output: a few headers, then body lines
 * of 76 characters (LF endings), every 16th starting with a dot so the dot-stuffer works.
 *
 * Usage: deno run scripts/bench_mail.ts BYTES
 *
 * @module
 */

const size: number = Number(Deno.args[0] ?? "1024");
if (!Number.isInteger(size) || size < 0) throw new Error(`bad size ${Deno.args[0]}`);

const encoder: TextEncoder = new TextEncoder();
const header: string = "From: bench@example.org\nTo: sink@example.org\nSubject: benchmark\n" +
  "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <bench@example.org>\n\n";
const plain: string = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+*/abcdefg";
const dotted: string = "." + plain.slice(1);
const block: string = Array.from({ length: 16 }, (_, i) => (i === 0 ? dotted : plain) + "\n")
  .join("");

async function writeAll(bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}

const head: Uint8Array = encoder.encode(header);
await writeAll(head);
const LINE = plain.length + 1;
const big: Uint8Array = encoder.encode(block.repeat(Math.ceil(65536 / block.length)));
// whole lines only (rounded up), so the body always ends with a line ending
let lines: number = Math.ceil(Math.max(0, size - head.length) / LINE);
const perWrite: number = big.length / LINE;
while (lines > 0) {
  const n = Math.min(lines, perWrite);
  await writeAll(big.subarray(0, n * LINE));
  lines -= n;
}
