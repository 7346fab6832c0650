/**
 * Load benchmark of the relay listener: N concurrent SMTP clients each send M mails of
 * 2 KB over one connection (MAIL, RCPT, DATA pipelined, waiting for each final reply),
 * first into `postie -bd` (spool fsynced before every 250), then into a private Postfix's
 * smtpd (its queue fsynced too) on the same machine. Prints a Markdown section with
 * accepted mails per second and the median and p99 time from MAIL to the final 250.
 * Everything listens on 127.0.0.1 and is stopped by PID. Postfix needs root; without it,
 * only postie is measured and the section says so.
 *
 *   deno run -A scripts/bench_relay.ts [CLIENTS] [MAILS_PER_CLIENT]   (default 10 × 100)
 *
 * @module
 */

import { postfixUnavailable, startPostfix } from "../tests/support/postfix.ts";
import { startRelayProcess } from "../tests/support/relay.ts";
import { freePort } from "../tests/support/process.ts";

const clients = Number(Deno.args[0] ?? 10);
const perClient = Number(Deno.args[1] ?? 100);
if (!(clients >= 1 && clients <= 200 && perClient >= 1 && perClient <= 10_000)) {
  console.error("usage: bench_relay.ts [CLIENTS 1-200] [MAILS_PER_CLIENT 1-10000]");
  Deno.exit(64);
}

const encoder = new TextEncoder();
const body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n".repeat(34);
const mail = encoder.encode(
  "From: bench@example.org\r\nTo: sink@postie.test\r\nSubject: bench\r\n" +
    "Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\n" + body + ".\r\n",
);
const envelope = encoder.encode(
  "MAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@postie.test>\r\nDATA\r\n",
);

/** Reads replies; resolves each awaited final reply code in order. */
class Replies {
  #buffer = "";
  #conn: Deno.TcpConn;
  #chunk = new Uint8Array(16384);
  #decoder = new TextDecoder();
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }
  async next(): Promise<number> {
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(this.#buffer);
      if (m) {
        this.#buffer = this.#buffer.slice(m[0].length);
        return Number(m[1]);
      }
      const n = await this.#conn.read(this.#chunk);
      if (n === null) throw new Error(`connection closed after: ${this.#buffer}`);
      this.#buffer += this.#decoder.decode(this.#chunk.subarray(0, n));
    }
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

/** One client: connect, EHLO, M mails, QUIT; returns each mail's latency in ms. */
async function client(port: number): Promise<number[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const replies = new Replies(conn);
  const times: number[] = [];
  try {
    if ((await replies.next()) !== 220) throw new Error("no greeting");
    await writeAll(conn, encoder.encode("EHLO bench.example\r\n"));
    if ((await replies.next()) !== 250) throw new Error("EHLO refused");
    for (let i = 0; i < perClient; i++) {
      const start = performance.now();
      await writeAll(conn, envelope);
      for (const want of [250, 250, 354]) {
        const code = await replies.next();
        if (code !== want) throw new Error(`expected ${want}, got ${code}`);
      }
      await writeAll(conn, mail);
      const code = await replies.next();
      if (code !== 250) throw new Error(`mail refused with ${code}`);
      times.push(performance.now() - start);
    }
    await writeAll(conn, encoder.encode("QUIT\r\n"));
  } finally {
    conn.close();
  }
  return times;
}

interface Result {
  name: string;
  rate: number;
  p50: number;
  p99: number;
}

async function measure(name: string, port: number): Promise<Result> {
  // a short warm-up, not counted
  await Promise.all(Array.from({ length: Math.min(clients, 4) }, () => client(port)));
  const start = performance.now();
  const all = (await Promise.all(Array.from({ length: clients }, () => client(port)))).flat();
  const seconds = (performance.now() - start) / 1000;
  all.sort((a, b) => a - b);
  const at = (q: number) => all[Math.min(all.length - 1, Math.floor(q * all.length))];
  return { name, rate: all.length / seconds, p50: at(0.5), p99: at(0.99) };
}

const results: Result[] = [];
// the upstream is a closed port: accepted mails stay in the queue, as Postfix keeps its own
// until its delivery agents get to them; only acceptance is measured
const relay = await startRelayProcess({
  config: `account default\nhost 127.0.0.1\nport ${freePort()}\nfrom bench@example.org\n` +
    "queue_dir %SPOOL%\nlisten_max_connections 500\n",
});
try {
  results.push(await measure("postie -bd (queue fsynced per mail)", relay.port));
} catch (error) {
  console.error(relay.stderr());
  throw error;
} finally {
  await relay.stop();
  await Deno.remove(relay.dir, { recursive: true }).catch(() => {});
}
const unavailable = postfixUnavailable();
if (unavailable === undefined) {
  const postfix = await startPostfix({ tls: false });
  try {
    results.push(await measure("Postfix smtpd (queue fsynced per mail)", postfix.port));
  } finally {
    await postfix.stop();
  }
}

const cpu = (() => {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const model = /model name\s*:\s*(.*)/.exec(info)?.[1] ?? "unknown CPU";
    return `${model}, ${navigator.hardwareConcurrency} cores`;
  } catch {
    return `${navigator.hardwareConcurrency} cores`;
  }
})();
const lines = [
  "## Relay listener under load",
  "",
  `${clients} concurrent clients × ${perClient} mails of 2 KB each, one connection per client,`,
  "MAIL/RCPT/DATA pipelined, each mail waiting for its final 250, on loopback " +
  `(${cpu}; Deno ${Deno.version.deno}). Latency is from MAIL to the final 250. ` +
  "Generated by `scripts/bench_relay.ts`.",
  "",
  "| receiver | mails/s | median ms | p99 ms |",
  "| --- | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| ${r.name} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`
  ),
  "",
];
if (unavailable !== undefined) lines.push(`Postfix was not measured: ${unavailable}.`, "");
console.log(lines.join("\n"));
