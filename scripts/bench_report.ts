/**
 * The number-crunching half of `scripts/bench.sh`:
 * `report RESULTS.tsv BIG_BYTES POSTIE VERSIONS` prints docs/PERFORMANCE.md (Markdown) from the
 * rows `id <TAB> wall seconds,… <TAB> peak RSS KB,… <TAB> CPU seconds,…` that
 * scripts/bench_run.ts recorded
 * (VERSIONS: one line naming the peers' versions).
 *
 * @module
 */

/** One measured case: wall times in seconds, peak RSS in KB, CPU (user + system) seconds. */
interface Sample {
  times: number[];
  rss: number[];
  cpu: number[];
}

/** The four clients of every send case, in the tables' order. */
const CLIENTS = [
  ["postie", "postie"],
  ["msmtp", "msmtp"],
  ["deno", "minimal Deno client"],
  ["nodemailer", "nodemailer (Node.js)"],
] as const;

const NOTES = `## What each number means

- **Wall time** is the elapsed time of the whole process, as a sendmail caller (cron, PHP, git)
  waits for it: start-up, reading the mail, the SMTP dialogue, exit. Median of the runs, then
  the fastest and the slowest. The runner's own cost (\`sh\` and GNU time around each run,
  measured by running \`true\` the same way) is subtracted.
- **Interleaved**: within a group (a table row's cases), every case runs once per round, in a
  rotating order, so a busy moment of the shared machine falls on all of them alike. Compare
  ratios from this page, not absolute times across runs.
- **postie** is the installed command (\`deno task build\`, as \`scripts/install.sh\` installs
  it): the bundle, its launcher and its read-only compiled-code cache.
- **The minimal Deno client** (\`scripts/bench_deno_client.ts\`) is the floor for a Deno
  program: connect, EHLO, STARTTLS with \`Deno.startTls\`, MAIL/RCPT/DATA pipelined, the mail
  dot-stuffed by postie's own stuffer, QUIT; no configuration, no checks, no log.
- **nodemailer** is the JavaScript peer: its SMTP transport under Node.js, sending the mail on
  standard input as \`raw\` (installed from npm for the benchmark only).
- **The start-up floor** is \`deno run\` of an empty file; **the launcher** is postie's own
  \`#!\` line (its flags, permission set and cache) on an empty module.
- **The throughput floors** copy bytes with \`socat\`: "the same SMTP bytes into the sink" is
  exactly what postie writes (envelope, dot-stuffed CRLF data, final dot) into the same fast
  sink; "into a discarding socket" is the kernel's loopback alone.
- **MB/s** is the mail's size (MiB) over the median wall time, start-up included.
- **Peak RSS** is GNU time's maximum resident set size of the process.

## Sinks

- 1 KB plain, 1 000 recipients, 200 mails: Postfix's \`smtp-sink\` on 127.0.0.1 (PIPELINING).
- STARTTLS: \`scripts/bench_sink.ts\`, a small \`node:tls\` sink (smtp-sink cannot do TLS)
  with a throw-away P-256 certificate signed by a throw-away CA that every client trusts
  (\`tls_trust_file\`). The server side of the handshake is the same for every client.
- The big plain mail: \`scripts/bench_sink.ts\` without TLS, which scans the data for the final
  dot and discards it (smtp-sink parses every line and is slower than every client but msmtp).
`;

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function parseList(text: string | undefined): number[] {
  return (text ?? "").split(",").filter((v) => v.trim() !== "").map(Number);
}

/** The rows, with the runner's own cost (the case `overhead`) taken off every time. */
function readResults(path: string): Map<string, Sample> {
  const rows = new Map<string, Sample>();
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    if (line.trim() === "") continue;
    const [id, times, rss, cpu] = line.split("\t");
    rows.set(id, { times: parseList(times), rss: parseList(rss), cpu: parseList(cpu) });
  }
  const overhead = median(rows.get("overhead")?.times ?? []) || 0;
  const overheadCpu = median(rows.get("overhead")?.cpu ?? []) || 0;
  for (const [id, sample] of rows) {
    if (id === "overhead") continue;
    sample.times = sample.times.map((t) => Math.max(0, t - overhead));
    sample.cpu = sample.cpu.map((t) => Math.max(0, t - overheadCpu));
  }
  return rows;
}

function ms(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  const v = seconds * 1000;
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
}

function span(sample: Sample | undefined): string {
  if (!sample || sample.times.length === 0) return "—";
  const t = sample.times;
  return `${ms(median(t))} (${ms(Math.min(...t))}–${ms(Math.max(...t))})`;
}

function ratio2(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(1)}×` : "—";
}

function mib(kb: number): string {
  return Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MiB` : "—";
}

function report(rows: Map<string, Sample>, bigBytes: number, postie: string, versions: string) {
  const get = (id: string): Sample | undefined => rows.get(id);
  const med = (id: string): number => median(get(id)?.times ?? []);
  const medRss = (id: string): number => median(get(id)?.rss ?? []);
  const cpuMed = (id: string): number => median(get(id)?.cpu ?? []);
  const cpuRatio = (a: string, b: string): string => {
    const r = cpuMed(a) / cpuMed(b);
    return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
  };
  const ratio = (a: string, b: string): string => {
    const r = med(a) / med(b);
    return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
  };
  const bigMb = Math.round(bigBytes / 1048576);
  const out: string[] = [];
  const line = (text = ""): void => void out.push(text);

  line("# Performance");
  line();
  line("Generated by `scripts/bench.sh` (do not edit by hand; run the script again).");
  line(
    `Machine: ${Deno.build.target}, ${navigator.hardwareConcurrency} cores, Deno ` +
      `${Deno.version.deno}; ${versions}. postie: the installed command (\`${postie}\`).`,
  );
  line();

  line("## Start-up");
  line();
  line("| case | wall median (min–max) | above the floor | CPU median | CPU above the floor |");
  line("|---|---|---|---|---|");
  const startRow = (label: string, id: string): void => {
    line(
      `| ${label} | ${span(get(id))} | ${ms(med(id) - med("startup.floor"))} | ` +
        `${ms(cpuMed(id))} | ${ms(cpuMed(id) - cpuMed("startup.floor"))} |`,
    );
  };
  startRow("`deno run` of an empty file (the floor)", "startup.floor");
  startRow("postie's launcher on an empty module", "startup.launcher");
  startRow("`postie --version`", "startup.postie");
  startRow("`msmtp --version`", "startup.msmtp");
  startRow("`node -e ''` (nodemailer's runtime)", "startup.node");
  line();

  line("## Time per mail");
  line();
  line(
    "| case | " + CLIENTS.map(([, name]) => name).join(" | ") + " | postie ÷ msmtp | " +
      "Deno client ÷ msmtp | nodemailer ÷ msmtp |",
  );
  line("|---|---|---|---|---|---|---|---|");
  const sendRow = (label: string, group: string): void => {
    const cells = CLIENTS.map(([id]) => span(get(`${group}.${id}`)));
    const ratios = ["postie", "deno", "nodemailer"].map((id) =>
      ratio(`${group}.${id}`, `${group}.msmtp`)
    );
    line(`| ${label} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`);
  };
  sendRow("(a) 1 KB mail, plain", "small.plain");
  sendRow("(a) 1 KB mail, STARTTLS", "small.tls");
  sendRow("(c) 1 KB mail to 1 000 recipients", "rcpt");
  sendRow(`(b) ${bigMb} MB mail, plain (fast sink)`, "big.plain");
  sendRow(`(b) ${bigMb} MB mail, STARTTLS`, "big.tls");
  line(
    `| (d) 200 mails of 4 KB, one process each | ${span(get("batch.postie"))} | ` +
      `${span(get("batch.msmtp"))} | — | — | ${ratio("batch.postie", "batch.msmtp")} | — | — |`,
  );
  // QUEUE AND RELAY ROWS GO HERE: the rows of the queue benchmarks ("200 queued mails flushed
  // with -q") and the relay's load benchmarks that scripts/bench.sh records (marked there too).
  line();
  line("CPU time (user + system, median) of the same runs:");
  line();
  line(
    "| case | " + CLIENTS.map(([, name]) => name).join(" | ") + " | postie ÷ msmtp | " +
      "Deno client ÷ msmtp | nodemailer ÷ msmtp |",
  );
  line("|---|---|---|---|---|---|---|---|");
  for (
    const [label, group] of [
      ["(a) 1 KB mail, plain", "small.plain"],
      ["(a) 1 KB mail, STARTTLS", "small.tls"],
      ["(c) 1 KB mail to 1 000 recipients", "rcpt"],
      [`(b) ${bigMb} MB mail, plain (fast sink)`, "big.plain"],
      [`(b) ${bigMb} MB mail, STARTTLS`, "big.tls"],
    ]
  ) {
    const cells = CLIENTS.map(([id]) => ms(cpuMed(`${group}.${id}`)));
    const ratios = ["postie", "deno", "nodemailer"].map((id) =>
      cpuRatio(`${group}.${id}`, `${group}.msmtp`)
    );
    line(`| ${label} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`);
  }
  line();

  line(`## The ${bigMb} MB mail: throughput and memory`);
  line();
  line(
    "| case | MB/s, plain | MB/s, STARTTLS | peak RSS, 1 KB | peak RSS, big, plain | " +
      "peak RSS, big, STARTTLS |",
  );
  line("|---|---|---|---|---|---|");
  const rate = (id: string): string => {
    const v = bigBytes / 1048576 / med(id);
    return Number.isFinite(v) ? v.toFixed(0) : "—";
  };
  for (const [id, name] of CLIENTS) {
    line(
      `| ${name} | ${rate(`big.plain.${id}`)} | ${rate(`big.tls.${id}`)} | ` +
        `${mib(medRss(`small.plain.${id}`))} | ${mib(medRss(`big.plain.${id}`))} | ` +
        `${mib(medRss(`big.tls.${id}`))} |`,
    );
  }
  line(
    `| floor: the same SMTP bytes, raw \`socat\` copy into the sink | ${rate("big.floor.sink")} ` +
      "| — | — | — | — |",
  );
  line(
    `| floor: the mail, raw \`socat\` copy into a discarding socket | ${rate("big.floor.null")} ` +
      "| — | — | — | — |",
  );
  line();

  line("## Targets");
  line();
  const verdict = (ok: boolean): string => (ok ? "**met**" : "**missed**");
  const startGap = (med("startup.postie") - med("startup.floor")) * 1000;
  const ratioOf = (group: string): number => med(`${group}.postie`) / med(`${group}.msmtp`);
  const cpuRatioOf = (group: string): number =>
    cpuMed(`${group}.postie`) / cpuMed(`${group}.msmtp`);
  const startCpuGap = (cpuMed("startup.postie") - cpuMed("startup.floor")) * 1000;
  const peak = Math.max(
    ...["small.plain", "small.tls", "rcpt", "big.plain", "big.tls"].map((g) =>
      medRss(`${g}.postie`)
    ),
  ) / 1024;
  const target = (text: string, ok: boolean, seen: string): void =>
    line(`- ${text}: ${verdict(ok)} (${seen}).`);
  target(
    "`--version` within 8 ms of `deno run` of an empty file",
    startGap <= 8,
    `${startGap.toFixed(1)} ms above it in wall time, ${startCpuGap.toFixed(1)} ms in CPU time`,
  );
  for (
    const [text, group, limit] of [
      ["1 KB plain ≤ 0.7× msmtp", "small.plain", 0.7],
      ["1 KB STARTTLS ≤ 0.9× msmtp", "small.tls", 0.9],
      ["1 000 recipients ≤ 0.9× msmtp", "rcpt", 0.9],
      [`${bigMb} MB into a fast sink ≤ 0.12× msmtp`, "big.plain", 0.12],
    ] as const
  ) {
    target(
      text,
      ratioOf(group) <= limit,
      `wall ${ratioOf(group).toFixed(2)}×; CPU time ${cpuRatioOf(group).toFixed(2)}×`,
    );
  }
  target(
    "peak RSS ≤ 50 MiB whatever the mail's size",
    peak <= 50,
    `at most ${peak.toFixed(1)} MiB, the ${bigMb} MB mail included`,
  );
  line();

  line("## Where the time goes (this run)");
  line();
  line(
    "In CPU time (user + system), which a loaded machine distorts less than wall time; the " +
      "minimal Deno client is the floor any Deno program pays for the same dialogue.",
  );
  line();
  const gap = (a: string, b: string): string => ms(cpuMed(a) - cpuMed(b));
  line(
    `- **Start-up**: the empty \`deno run\` takes ${ms(cpuMed("startup.floor"))}; postie's ` +
      `launcher (its configuration with the permission set, the shipped cache) adds ` +
      `${gap("startup.launcher", "startup.floor")}; postie's start-up modules and \`--version\` ` +
      `${gap("startup.postie", "startup.launcher")}. msmtp starts in ` +
      `${ms(cpuMed("startup.msmtp"))}: the Deno runtime alone is ` +
      `${ratio2(cpuMed("startup.floor"), cpuMed("startup.msmtp"))} msmtp's whole start.`,
  );
  line(
    `- **A 1 KB plain mail**: the minimal Deno client ${ms(cpuMed("small.plain.deno"))}, ` +
      `postie ${gap("small.plain.postie", "small.plain.deno")} more (configuration, envelope, ` +
      `headers, its larger module graph), msmtp ${ms(cpuMed("small.plain.msmtp"))} in all.`,
  );
  line(
    `- **STARTTLS**: the handshake adds ${gap("small.tls.deno", "small.plain.deno")} to the ` +
      `minimal Deno client, ${gap("small.tls.postie", "small.plain.postie")} to postie, ` +
      `${gap("small.tls.msmtp", "small.plain.msmtp")} to msmtp (the sinks differ, see below).`,
  );
  line(
    `- **1 000 recipients**: postie ${gap("rcpt.postie", "rcpt.deno")} above the minimal client, ` +
      "which pipelines the same 1 002 commands without checking or logging any address.",
  );
  line(
    `- **The big mail**: postie ${ms(cpuMed("big.plain.postie"))}, the minimal client ` +
      `${ms(cpuMed("big.plain.deno"))} (postie reads standard input straight into one reused ` +
      "buffer and dot-stuffs it in place; the client stuffs each chunk of Deno's stream into a " +
      `new one), msmtp ${ms(cpuMed("big.plain.msmtp"))} (one write per line).`,
  );
  line(
    `- **Memory**: postie's peak RSS is ${mib(medRss("small.plain.postie"))} for 1 KB and ` +
      `${mib(medRss("big.plain.postie"))} for ${bigMb} MB (${mib(medRss("big.tls.postie"))} ` +
      `with STARTTLS); the minimal Deno client's ${mib(medRss("small.plain.deno"))} and ` +
      `${mib(medRss("big.plain.deno"))}: the Deno runtime is most of it. What a big mail adds ` +
      "to postie is its 1 MiB buffer, the pages of V8's optimizing compiler (the stuffing loop " +
      "gets optimized) and, with TLS, the encrypted copies of each write.",
  );
  line();
  line(FINDINGS.trimEnd());
  line();
  line(NOTES.trimEnd());
  return out.join("\n") + "\n";
}

/**
 * What was measured apart from this table, by hand, to explain it (kept here so a regenerated
 * page keeps it; re-measure when the code changes).
 */
const FINDINGS = `## Measured apart (how postie got here)

Measured by hand on the same machine while it was shared (load average 10-20 on 2 cores), with
hyperfine, 15-25 runs each; wall times were unusable then, so these are CPU times (user +
system, medians), which the load inflates less. Re-measure when the code changes.

- **What users run.** A bundle made by \`deno bundle\` (npm packages inlined) starts as fast as
  the sources run with a warm Deno cache (\`postie --version\`: 144 ms against 141 ms; an empty
  \`deno run\` 121 ms), but needs no npm registry and no cache of its own. One bundle file
  is worse: dotenv is CommonJS, and the bundler then makes every start import \`node:module\`
  for its \`require\` shim, booting Node compatibility (189 ms). So the bundle is split into
  chunks (one per \`import()\`), the CommonJS packages (dotenv, dns-packet) bundled apart and mapped by the installed
  \`deno.json\`. Vendoring (\`"vendor": true\`) ships the TypeScript sources and npm packages
  instead, which must still be compiled at each start by a user who cannot write a cache.
- **The cache.** A user who cannot write a Deno cache (no home, \`nobody\`) compiles every
  module at every start: \`--version\` 198 ms against 122 ms with the cache the install fills
  and ships read-only (\`PREFIX/lib/postie/cache\`; Deno keeps its caches as SQLite files in
  WAL mode, and a reader without write access needs the \`-wal\` and \`-shm\` files, which
  the build leaves in place, emptied).
- **The launcher.** A \`#!/usr/bin/env -S\` line runs Deno directly; a bash wrapper that
  execs Deno (as \`scripts/postie\` did) costs a bash start more (about 2 ms of CPU here, and
  the ~12 ms wall measured before, with its \`sed\` over deno.json). The name it was invoked
  by (a \`sendmail\` link) reaches postie as Deno's main module, the launcher's path as run,
  which costs nothing; \`process.argv0\` would boot Node compatibility. The launcher's own
  flags cost nothing measurable: an empty module run with its \`#!\` line (configuration file,
  permission set, shipped cache), with the permissions as flags and no configuration, or with
  no cache at all took 101-107 ms of CPU against 100 ms for a plain \`deno run\` (25 runs each).
- **No network.** Deno looks for a newer Deno at every start in the background when it cannot
  note the time of its last look (a read-only cache): strace showed a connection attempt to
  the configured proxy. The launcher sets \`DENO_NO_UPDATE_CHECK=1\`;
  \`tests/cli/installed_test.ts\` shows a send as nobody connects to nothing but the server.
- **STARTTLS.** With a trust file (the usual configuration), postie used \`node:tls\`, because
  Deno's \`caCerts\` add to Deno's default roots while msmtp's trust file replaces them. That
  cost a send 137 ms of CPU over the plain one, against 62 ms for a minimal
  \`Deno.startTls\` client: booting Node compatibility is 40 ms, loading \`node:tls\`,
  \`node:net\` and \`node:stream\` 27 ms more. Reading the trust file is negligible (one
  small file and a regular expression). postie now empties Deno's default roots before its
  first connection when it has a trust file (\`lib/net/roots.ts\`), so \`Deno.startTls\`
  trusts the file alone (\`tests/cli/trust_file_test.ts\`): 47 ms of CPU over the plain send.
  What is left is Deno's first handshake in a process, the same for any Deno program: a
  10-line \`Deno.startTls\` script spends 38-59 ms in \`startTls\` (a second handshake in the
  same process takes 1.5 ms). strace shows where: Deno reads the system's CA bundle
  (\`/etc/ssl/certs/ca-certificates.crt\`, 140 certificates, 3 ms) whatever roots are
  configured (\`DENO_TLS_CA_STORE\` unset, \`mozilla\` or empty alike; \`SSL_CERT_FILE\`
  changes nothing), then computes for 36 ms without a system call before its ClientHello.
  msmtp (GnuTLS) needs 31 ms of CPU in all. That computation is the first random bytes of the
  process: Deno's TLS and WebCrypto use AWS-LC (aws-lc-rs 1.16.3 in this Deno), which seeds
  its random generator from CPU timing jitter. Counted with callgrind: \`Deno.startTls\` on a
  fresh process 308 million instructions (the script without it 62 million); WebCrypto's HMAC
  key generation alone costs the same 300 million, Ed25519 and X25519 key generation (other
  code) and \`crypto.getRandomValues\` nothing measurable. 280 million of those instructions
  run in a cluster of small functions, the hottest a 64-bit rotate compiled without
  optimization (frame pointer, arguments through the stack), as the jitter entropy collector
  must be built. No setting of Deno's changes it; every Deno program pays it once per process
  before its first TLS handshake.
- **1 000 recipients.** Of postie's extra CPU time over the minimal client, timed inside one
  process (cold code, as in a real start), the envelope took 50 ms: each command-line
  recipient was parsed as a \`To:\` header with the RFC 5322 address scanner (about 50 µs a
  word). Plain \`local@domain\` words now take a fast path (checked against the full parser on
  20 000 seeded words); the option parser takes 14 ms; checking the 1 000 addresses for the
  SMTP commands 0.6 ms.
- **Start-up modules.** \`--help\`, \`--version\`'s text, \`--pretend\`, logging, aliases,
  TLS, SOCKS, unix sockets, TOML, .env, authentication (SCRAM included), OAuth2, the keyring
  and \`--serverinfo\` load with \`import()\` on their own paths
  (\`tests/cli/startup_graph_test.ts\`), and so does sendmail mode itself
  (\`lib/cli/sendmail.ts\`: the configuration parsers, the message and the SMTP client):
  \`--version\`, \`--help\` and \`mailq\` evaluate 16 of postie's modules (main.ts
  included), a plain send 47.
- **Deferred chunks.** Deno builds the whole module graph before it runs anything, and an
  \`import()\` of a literal is part of it: every start read, hashed and looked up all 110 files
  of the bundle, the 250 KB ASN.1 parser and TLS included, whatever path then ran. The build
  writes the bundle's \`import()\`s as \`import(String("./chunk.js"))\`, which Deno resolves
  when the path runs (\`tests/cli/startup_graph_test.ts\` checks with strace that
  \`--version\` reads none of them): \`postie --version\` went from 84 to 73 ms of wall time.
  Counted with callgrind (instructions are repeatable whatever the load): an empty module
  through postie's launcher 47.0 million, \`--version\` 84.3 million before this and the next
  change, 69.9 million after.
- **Standard streams.** The first use of Deno's web streams (\`Deno.stdout.writable\`,
  \`Deno.stdin.readable\`, even reading the global \`WritableStream\`) loads their
  implementation: 13.4 million instructions. postie's output goes through \`Deno.stdout\`
  itself, and sendmail mode reads standard input with \`Deno.stdin.read\` into its own
  buffers, from the header block to the DATA phase, without making any stream
  (\`PendingBytes\` in \`lib/byte_source.ts\`; \`tests/cli/startup_graph_test.ts\` traps every
  stream global during a plain send). Counted with callgrind, a 1 KB plain send went from 146.7
  to 125.3 million instructions (the minimal Deno client: 81.0 million), and its peak RSS from
  42.2 to 39.8 MiB; the 100 MB STARTTLS mail's from 53.6 to 51.8 MiB (3 runs each).
- **Big mails.** Standard input is read straight into the buffer the DATA phase sends from
  (\`lib/byte_source.ts\`, \`lib/smtp/data_writer.ts\`): about 200 reads of half a MiB for
  100 MB, each dot-stuffed in place (\`stuffInto\`, line segments moved with \`copyWithin\`)
  and written in one write, with no buffer made per read or per line. Measured against the
  stream pipeline it replaced (medians of 9 interleaved runs, load 1.7-2.1): 100 MB plain 0.82 →
  0.47 s wall and 54.9 → 48.1 MiB peak RSS; with STARTTLS 1.05 → 0.62 s and 59.2 → 52.4 MiB.
  The bytes on the wire were compared with a separate Python reference for the 100 MB mail
  (plain, Deno's TLS and \`node:tls\`). Of the STARTTLS mail's RSS above 50 MiB: a 1 KB
  STARTTLS mail already takes 44.6 MiB, and about 3.3 MB of the growth is V8's optimizing
  compiler, loaded once the stuffing loop runs hot (absent under V8 flags that stop
  optimization, which would slow every long-running relay). A smaller buffer (256 KiB) made
  RSS higher, not lower; a smaller young generation (\`--max-semi-space-size=1\`) saved under
  1 MiB; a WebAssembly stuffer cost 4-5 MB more. \`--v8-flags=--max-opt=1\` in the launcher
  (no optimizing compiler at all) gave 48.7-49.1 MiB for the STARTTLS big mail at about 6 % more
  CPU (2 runs each, by hand); not adopted, as the relay daemon runs through the same launcher.
- **Where the memory is.** Sampling \`/proc/PID/smaps\` every 5-10 ms during a send shows what
  the peak RSS is made of. Most of it is pages of the \`deno\` executable itself (96 MB on
  disk, mapped and shared with every other Deno process, read-only): its machine code alone is
  5.7 MiB resident for an empty \`deno run\`, 13.6 MiB for postie's 1 KB plain send, 16.5
  MiB with STARTTLS (rustls, AWS-LC), 18.3 MiB for the 100 MB plain mail and 21.4 MiB for the
  100 MB STARTTLS mail. The big mail's growth is the code of V8's optimizing compilers, paged
  in when the stuffing loop gets hot (\`--trace-opt\`: one function, \`lfLines\`, compiled by
  Maglev, then by TurboFan in 11.5 ms): with \`--v8-flags=--max-opt=2\` (no TurboFan) the
  STARTTLS big mail's code pages are 19.0 MiB, with \`--max-opt=1\` 17.2 MiB, about a 1 KB
  mail's. The memory postie itself allocates (anonymous pages and the C heap) is 7.0 MiB for
  1 KB and 10.7 MiB for the 100 MB STARTTLS mail (its 1 MiB buffer, rustls' records, V8's
  young generation). \`MALLOC_ARENA_MAX=1\` saved about 0.5 MiB, writes of at most 256 KiB
  to the TLS connection 0.3 MiB; neither is adopted.
- **What a Deno process costs here.** \`deno run\` of an empty file takes 30 ms of user and
  30 ms of system time on this machine: 2 600 page faults (GNU time) and about 1 100 system
  calls (strace -c) before any of the program runs, in a sandbox where both are expensive.
  The issue that set the targets measured 17 ms for the same empty run on another machine.
  msmtp's 1 KB send includes a 42 ms stall of its own: tcpdump shows its first data line go
  out alone, then nothing until the sink's delayed acknowledgement 42 ms later, then the rest
  of the mail in one segment (Nagle's algorithm holding a small write while the first is
  unacknowledged). postie writes the headers, body and final dot of a small mail at once, and
  its dialogue, from connection to QUIT, took 18 ms in the same capture. Ratios against msmtp
  below 1 for a small mail need a Deno start below msmtp's whole send, which this machine does
  not give.
`;

const [mode, path, bytes, postie, versions] = Deno.args;
if (mode === "report" && path && bytes) {
  console.log(
    report(readResults(path), Number(bytes), postie ?? "postie", versions ?? "").trimEnd(),
  );
} else {
  console.error("usage: bench_report.ts report RESULTS.tsv BIG_BYTES POSTIE VERSIONS");
  Deno.exit(64);
}
