/**
 * Peak memory does not depend on the mail's size or shape: `some-cron-job | sendmail root`
 * with tens of megabytes of lines and no empty line is delivered, and postie's peak resident
 * size (GNU time's maximum RSS of the process) stays where it is for 3 MB, which is already
 * past the header block's bound.
 */

import assert from "node:assert/strict";
import { POSTIE, ROOT } from "../support/differential.ts";
import { freePort } from "../support/process.ts";

const TIME = "/usr/bin/time";
const haveTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/** Starts scripts/bench_sink.ts: accepts every mail and discards it. */
async function startSink(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("deno", {
    args: ["run", "--allow-net", "--allow-read", `${ROOT}/scripts/bench_sink.ts`, String(port)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the sink did not start");
    seen += value;
  }
  reader.releaseLock();
  return {
    port,
    async stop(): Promise<void> {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/** Sends `count` copies of `line` (no empty line anywhere) and returns exit code and peak RSS. */
async function sendLines(
  port: number,
  line: string,
  count: number,
): Promise<{ code: number; rssKiB: number; stderr: string }> {
  const child = new Deno.Command(TIME, {
    args: [
      "-f",
      "peak-rss-kib=%M",
      POSTIE,
      "--host=127.0.0.1",
      `--port=${port}`,
      "--from=cron@x.y",
      "root@x.y",
    ],
    env: { HOME: "/nonexistent", LANG: "C" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const perChunk = Math.max(1, Math.floor(65536 / line.length));
  const chunk = new TextEncoder().encode(line.repeat(perChunk));
  try {
    for (let sent = 0; sent < count; sent += perChunk) await writer.write(chunk);
    await writer.close();
  } catch {
    // postie stopped reading: its exit code and error say why
  }
  const status = await child.status;
  const stderr = await stderrText;
  const rss = Number(/peak-rss-kib=(\d+)/.exec(stderr)?.[1] ?? NaN);
  return { code: status.code, rssKiB: rss, stderr: stderr.replace(/peak-rss-kib=\d+\n/, "") };
}

for (
  const [shape, line] of [
    ["plain log lines", "2026-12-02 07:00:00 backup[4242]: copied /var/lib/thing, 97% done\n"],
    ["lines that look like headers", "ERROR: disk almost full on /var, 97% used, please look\n"],
  ] as const
) {
  Deno.test({
    name: `70 MB of ${shape} without an empty line is delivered in the memory of 3 MB`,
    ignore: !haveTime,
    async fn() {
      const sink = await startSink();
      try {
        // 3 MB is past the header block's bound (2 MiB): from there on, size must cost nothing.
        const small = await sendLines(sink.port, line, Math.ceil(3e6 / line.length));
        assert.equal(small.stderr, "");
        assert.equal(small.code, 0);
        const big = await sendLines(sink.port, line, Math.ceil(70e6 / line.length));
        assert.equal(big.stderr, "");
        assert.equal(big.code, 0);
        // 67 MB more input may cost garbage-collector slack (measured: 0-17 MiB), never the
        // input itself (buffering it grew by 140 MiB and more).
        const growthMiB = (big.rssKiB - small.rssKiB) / 1024;
        assert.ok(
          growthMiB < 32,
          `peak RSS ${small.rssKiB} KiB for 3 MB, ${big.rssKiB} KiB for 70 MB`,
        );
      } finally {
        await sink.stop();
      }
    },
  });
}
