/**
 * The number-crunching half of `scripts/bench.sh`.
 *
 * - `times FILE.json`: prints the wall times of a hyperfine `--export-json` file, in
 *   seconds, comma separated.
 * - `report RESULTS.tsv BIG_BYTES`: prints docs/PERFORMANCE.md (Markdown) from the rows
 *   `id <TAB> wall seconds,… <TAB> peak RSS KB,…` that bench.sh recorded.
 *
 * @module
 */

/** One measured case: wall times in seconds and, when measured, peak RSS in KB. */
interface Sample {
  times: number[];
  rss: number[];
}

const NOTES = `## What each number means

- **Wall time** is the elapsed time of the whole process, as a sendmail caller (cron, PHP, git)
  waits for it: start-up, reading the mail, the SMTP dialogue, exit. Median of the runs, then
  the fastest and the slowest. Times under a second come from hyperfine (\`sh -c\` overhead
  subtracted), the big mail from GNU time (10 ms resolution).
- **The start-up floor** is \`deno run\` of an empty script: what any Deno program pays
  before its first line runs. postie cannot go below it; the target is a small distance above.
- **The throughput floors** copy bytes with \`socat\` and do nothing else. "The same SMTP
  bytes into smtp-sink" is exactly what postie writes (envelope, dot-stuffed CRLF data,
  final dot), into the same sink, so the sink's own speed is part of the floor; "into a
  discarding socket" is the kernel's loopback alone. There is no TLS floor; the STARTTLS rows
  are compared with msmtp only.
- **MB/s** is the mail's size (MiB) over the median wall time, start-up included.
- **Peak RSS** is GNU time's maximum resident set size of the process. For postie it is
  mostly the Deno runtime (V8 heap, snapshot, module code); the mail is streamed, so the
  big mail costs only the buffers in flight on top of the 1 KB mail.
- **Ratios** divide medians: postie ÷ msmtp below 1 means postie is faster.
- The machine is shared and noisy; compare ratios from the same run, not absolute times
  across runs.

## Sinks

- Plain SMTP: Postfix's \`smtp-sink\` on 127.0.0.1 (PIPELINING on).
- STARTTLS: \`scripts/bench_sink.ts\`, a small \`node:tls\` sink (smtp-sink cannot do TLS),
  with a throw-away P-256 certificate that both clients trust through \`tls_trust_file\`.
  The TLS handshake on the server side is Deno's, so the 1 KB STARTTLS rows are dominated
  by the sink, equally for both clients.

## Where the gaps come from (measured)

- **Start-up.** \`argv0\` is read only on the paths that print the program name (errors,
  \`--help\`): reading it boots Deno's Node compatibility layer, 12–15 ms that a mail going
  out no longer pays. Of what is left between the floor and \`postie --version\`: about 7 ms
  is loading and evaluating the ~45 modules of the static graph (lazy-loading the help,
  pretend, aliases and log modules is the next step), ~3 ms is \`scripts/postie\` itself
  (bash and sed reading the permissions; the compiled binary has no wrapper); the rest was not
  broken down further.
- **A 1 KB send** adds the TCP dialogue to the start-up. Before batching the data writes,
  every postie send also waited ~40 ms for smtp-sink's delayed ACK (Nagle's algorithm held
  the lone \`.\\r\\n\`); msmtp still pays that wait, which is why it is no faster than postie
  here despite its 4 ms start-up.
- **1 000 recipients** is start-up plus ten pipelined batches of 100 commands; postie's part
  of the difference to msmtp is its start-up (the reply parsing of 1 002 replies takes about
  1 ms, see \`deno bench\`).
- **Throughput against a discarding socket.** postie spends about 1.4 ms of CPU per MB in the
  dot-stuffer (\`deno bench\`: 10 MB in ~14 ms) and about as much again in the stream hops
  and socket writes; socat only copies. A byte-at-a-time stuffer measured the same as the
  \`indexOf\` one, so this is about what JavaScript does per byte.
- **msmtp's throughput** is low on this sink because it writes the data one line at a time
  (one \`send\` per 78 bytes); postie writes 64 KiB at a time.

Micro-benchmarks of the per-byte paths: \`deno task bench\` (dot-stuffing, header scan,
reply parsing).
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function parseList(text: string | undefined): number[] {
  return (text ?? "").split(",").filter((v) => v.trim() !== "").map(Number);
}

function readResults(path: string): Map<string, Sample> {
  const rows = new Map<string, Sample>();
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    if (line.trim() === "") continue;
    const [id, times, rss] = line.split("\t");
    rows.set(id, { times: parseList(times), rss: parseList(rss) });
  }
  return rows;
}

function ms(seconds: number): string {
  const v = seconds * 1000;
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
}

function span(sample: Sample | undefined): string {
  if (!sample || sample.times.length === 0) return "—";
  const t = sample.times;
  return `${ms(median(t))} (${ms(Math.min(...t))}–${ms(Math.max(...t))})`;
}

function ratio(a: Sample | undefined, b: Sample | undefined): string {
  if (!a || !b || a.times.length === 0 || b.times.length === 0) return "—";
  return `${(median(a.times) / median(b.times)).toFixed(2)}×`;
}

function mb(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MB`;
}

function mbps(bytes: number, sample: Sample | undefined): string {
  if (!sample || sample.times.length === 0) return "—";
  return (bytes / 1048576 / median(sample.times)).toFixed(0);
}

function rss(sample: Sample | undefined): string {
  return sample && sample.rss.length > 0 ? mb(median(sample.rss)) : "—";
}

function report(rows: Map<string, Sample>, bigBytes: number): string {
  const get = (id: string): Sample | undefined => rows.get(id);
  const bigMb = Math.round(bigBytes / 1048576);
  const out: string[] = [];
  const line = (text = ""): void => void out.push(text);

  line("# Performance");
  line();
  line("Generated by `scripts/bench.sh` (do not edit by hand; run the script again).");
  line(
    `Machine: ${Deno.build.target}, ${navigator.hardwareConcurrency} cores, Deno ` +
      `${Deno.version.deno}. postie runs from source through \`scripts/postie\` ` +
      "(`deno run` with the compiled binary's permissions); msmtp is Debian's 1.8.23.",
  );
  line();
  line("## Time per invocation");
  line();
  line(
    "| case | postie median (min–max) | msmtp median (min–max) | floor median (min–max) " +
      "| postie ÷ msmtp | postie ÷ floor | postie − floor |",
  );
  line("|---|---|---|---|---|---|---|");
  const timeRow = (label: string, p: string, m: string, f: string | null): void => {
    const ps = get(p), fs = f === null ? undefined : get(f);
    const diff = ps && fs ? ms(median(ps.times) - median(fs.times)) : "—";
    line(
      `| ${label} | ${span(ps)} | ${span(get(m))} | ${span(fs)} | ${ratio(ps, get(m))} ` +
        `| ${ratio(ps, fs)} | ${diff} |`,
    );
  };
  timeRow("start-up (`--version`)", "startup.postie", "startup.msmtp", "startup.floor");
  timeRow("(a) 1 KB mail, plain", "small.plain.postie", "small.plain.msmtp", "startup.floor");
  timeRow("(a) 1 KB mail, STARTTLS", "small.tls.postie", "small.tls.msmtp", "startup.floor");
  timeRow("(c) 1 KB mail to 1 000 recipients", "rcpt.postie", "rcpt.msmtp", null);
  timeRow("(d) 200 mails of 4 KB, one process each", "batch.postie", "batch.msmtp", "batch.floor");
  line();
  line(`## (b) One ${bigMb} MB mail`);
  line();
  line("| case | wall median (min–max) | MB/s | peak RSS | RSS above the 1 KB mail |");
  line("|---|---|---|---|---|");
  const bigRow = (label: string, id: string, small: string | null): void => {
    const s = get(id), base = small === null ? undefined : get(small);
    const above = s && base && s.rss.length > 0 && base.rss.length > 0
      ? mb(median(s.rss) - median(base.rss))
      : "—";
    line(`| ${label} | ${span(s)} | ${mbps(bigBytes, s)} | ${rss(s)} | ${above} |`);
  };
  bigRow("postie, plain", "big.plain.postie", "smallrss.plain.postie");
  bigRow("msmtp, plain", "big.plain.msmtp", "smallrss.plain.msmtp");
  bigRow("postie, STARTTLS", "big.tls.postie", "smallrss.tls.postie");
  bigRow("msmtp, STARTTLS", "big.tls.msmtp", "smallrss.tls.msmtp");
  bigRow("floor: the same SMTP bytes, raw `socat` copy into smtp-sink", "big.floor.sink", null);
  bigRow("floor: the mail, raw `socat` copy into a discarding socket", "big.floor.null", null);
  line();
  line("Peak RSS of one 1 KB mail (for the last column):");
  line();
  line("| | plain | STARTTLS |");
  line("|---|---|---|");
  line(`| postie | ${rss(get("smallrss.plain.postie"))} | ${rss(get("smallrss.tls.postie"))} |`);
  line(`| msmtp | ${rss(get("smallrss.plain.msmtp"))} | ${rss(get("smallrss.tls.msmtp"))} |`);
  line();

  line("## Targets");
  line();
  const med = (id: string): number => median(get(id)?.times ?? [NaN]);
  const medRss = (id: string): number => median(get(id)?.rss ?? [NaN]);
  const verdict = (ok: boolean): string => (ok ? "**met**" : "**missed**");
  const startGap = (med("startup.postie") - med("startup.floor")) * 1000;
  const sendGap = (med("small.plain.postie") - med("startup.floor")) * 1000;
  const tlsGap = (med("small.tls.postie") - med("startup.floor")) * 1000;
  const vsMsmtp = med("big.plain.msmtp") / med("big.plain.postie");
  const vsSink = med("big.plain.postie") / med("big.floor.sink");
  const vsNull = med("big.plain.postie") / med("big.floor.null");
  const rssPlain = (medRss("big.plain.postie") - medRss("smallrss.plain.postie")) / 1024;
  const rssTls = (medRss("big.tls.postie") - medRss("smallrss.tls.postie")) / 1024;
  const rcpt = med("rcpt.postie") / med("rcpt.msmtp");
  line(
    `- Start-up within 15 ms of the \`deno run\` floor: ${verdict(startGap <= 15)} ` +
      `(\`--version\` ${startGap.toFixed(1)} ms above it).`,
  );
  line(
    `- A 1 KB send within 15 ms of the floor: ${verdict(sendGap <= 15)} ` +
      `(plain ${sendGap.toFixed(1)} ms above it; STARTTLS ${tlsGap.toFixed(1)} ms, which ` +
      "includes a TLS handshake the floor does not do).",
  );
  line(
    `- ${bigMb} MB throughput at least msmtp's: ${verdict(vsMsmtp >= 1)} ` +
      `(postie is ${vsMsmtp.toFixed(2)}× as fast, plain).`,
  );
  line(
    `- ${bigMb} MB within 2× of the raw socket copy: ${verdict(vsSink <= 2)} against the ` +
      `same sink (${vsSink.toFixed(2)}×); against a discarding socket ${vsNull.toFixed(2)}× ` +
      `(${verdict(vsNull <= 2)}).`,
  );
  line(
    `- Peak RSS for ${bigMb} MB no more than 20 MB above the 1 KB mail: ` +
      `${verdict(rssPlain <= 20 && rssTls <= 20)} (plain +${rssPlain.toFixed(1)} MB, ` +
      `STARTTLS +${rssTls.toFixed(1)} MB).`,
  );
  line(
    `- 1 000 recipients no slower than msmtp: ${verdict(rcpt <= 1)} ` +
      `(${rcpt.toFixed(2)}× msmtp's time).`,
  );
  line();
  line(NOTES.trimEnd());
  return out.join("\n") + "\n";
}

function times(path: string): string {
  const json = JSON.parse(Deno.readTextFileSync(path)) as { results: { times: number[] }[] };
  return json.results[0].times.map((t) => t.toFixed(6)).join(",");
}

const [mode, path, bytes] = Deno.args;
if (mode === "times" && path) {
  console.log(times(path));
} else if (mode === "report" && path && bytes) {
  console.log(report(readResults(path), Number(bytes)).trimEnd());
} else {
  console.error("usage: bench_report.ts times FILE.json | report RESULTS.tsv BIG_BYTES");
  Deno.exit(64);
}
