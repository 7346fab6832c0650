/**
 * The queue's promise under stress, through the real command line: a process killed with
 * SIGKILL at random instants while it queues or while it flushes loses no acknowledged
 * mail; a full disk fails cleanly; two runners at once send every mail once.
 *
 * The kill instants come from the seeded random source (POSTIE_FUZZ_SEED replays a run).
 */

import assert from "node:assert/strict";
import { type CaptureServer, startCaptureServer } from "../../scripts/capture_server.ts";
import { POSTIE } from "../support/differential.ts";
import { fuzzSeed, Random } from "../support/random.ts";
import { queueSetup } from "../support/queue.ts";
import { IS_ROOT } from "../support/nobody.ts";
import { Spool } from "../../lib/queue/spool.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A mail whose subject names it and whose body is `size` bytes of a known pattern. */
function numberedMail(n: number, size: number): Uint8Array {
  const line = `line of mail ${n} `.padEnd(75, "x") + "\n";
  const body = line.repeat(Math.max(1, Math.ceil(size / line.length)));
  return encoder.encode(`Subject: mail ${n}\nMessage-ID: <m${n}@example.org>\n\n${body}`);
}

/** The numbers of the mails a server received (from their subjects), duplicates kept. */
function received(server: CaptureServer): number[] {
  return server.sessions.flatMap((s) => s.mails).map((m) =>
    Number(/Subject: mail (\d+)/.exec(decoder.decode(m.data))?.[1] ?? -1)
  );
}

/**
 * Runs postie with `args`, feeding `stdin`, and SIGKILLs it after `killAfterMs`. The test's
 * own environment is inherited, so Deno's module cache is the warm one. `ms`: from start to end.
 */
async function runAndKill(
  args: string[],
  env: Record<string, string>,
  stdin: Uint8Array,
  killAfterMs: number,
): Promise<{ code: number | null; killed: boolean; ms: number }> {
  const started = performance.now();
  const child = new Deno.Command(POSTIE, {
    args,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    try {
      // the wrapper execs deno, so this pid is postie itself
      child.kill("SIGKILL");
      killed = true;
    } catch {
      // already exited
    }
  }, killAfterMs);
  const writer = child.stdin.getWriter();
  await writer.write(stdin).catch(() => {});
  await writer.close().catch(() => {});
  const status = await child.status;
  clearTimeout(timer);
  return {
    code: status.signal === null ? status.code : null,
    killed: killed && !status.success,
    ms: performance.now() - started,
  };
}

/**
 * Kill instants that span a whole run on this machine, however its load changes while the test
 * runs: up to 1.3 times the last run that ended unkilled, and half as long again after five
 * kills in a row (the machine has become slower than that run). A span fixed by one run at the
 * start kills every later run once the machine is 1.3 times slower than it was then, and then
 * no mail is acknowledged and "kills hit both sides" fails.
 */
class KillSpan {
  #ms: number;
  #killedInARow = 0;

  constructor(runMs: number) {
    this.#ms = Math.ceil(runMs * 1.3);
  }

  /** The instant to kill the next run at, in ms after its start. */
  next(random: Random): number {
    return random.int(this.#ms);
  }

  /** Learns from how a run ended. */
  ended(result: { killed: boolean; ms: number }): void {
    if (!result.killed) {
      this.#ms = Math.ceil(result.ms * 1.3);
      this.#killedInARow = 0;
    } else if (++this.#killedInARow >= 5) {
      this.#ms = Math.ceil(this.#ms * 1.5);
      this.#killedInARow = 0;
    }
  }
}

Deno.test("SIGKILL at random instants while queueing: every mail acknowledged with exit 0 is in the queue, whole, and gets delivered", async () => {
  const random = new Random(fuzzSeed(0x51ee7));
  const q = await queueSetup({ port: 1, queue: "always" });
  const server = startCaptureServer();
  const iterations = 200;
  const acknowledged = new Set<number>();
  const bodies = new Map<number, Uint8Array>();
  try {
    const env = {};
    // kill instants span a whole run on this machine, however loaded it is
    const started = performance.now();
    const probe = numberedMail(-1, 200);
    bodies.set(-1, probe.subarray(probe.indexOf(0x0a, probe.indexOf(0x3e)) + 2));
    const calibration = await q.postie(["rcpt@example.net"], probe);
    assert.equal(calibration.code, 0, calibration.stderr);
    const span = new KillSpan(performance.now() - started);
    for (let n = 0; n < iterations; n++) {
      const size = random.pick([200, 4096, 200_000, 1_000_000]);
      const mail = numberedMail(n, size);
      bodies.set(n, mail.subarray(mail.indexOf(0x0a, mail.indexOf(0x3e)) + 2));
      const result = await runAndKill(
        ["-C", q.rc, "rcpt@example.net"],
        env,
        mail,
        span.next(random),
      );
      span.ended(result);
      if (result.code === 0) acknowledged.add(n);
      else assert.equal(result.code, null, `mail ${n} exited with ${result.code}`);
    }
    // every committed entry is whole: a kill never leaves a partial mail in mail/
    const spool = new Spool(q.queueDir);
    const { entries, problems } = await spool.list();
    assert.deepEqual(problems, []);
    const queued = new Set<number>();
    for (const e of entries) {
      const entry = (await spool.claim(e.id))!;
      const stored = decoder.decode(await new Response(entry.message()).arrayBuffer());
      entry.release();
      const n = Number(/Subject: mail (-?\d+)/.exec(stored)![1]);
      const body = decoder.decode(bodies.get(n)!);
      // headers were rewritten (Date, From added); the body must be all there
      assert.ok(stored.endsWith("\r\n" + body), `mail ${n} is whole`);
      queued.add(n);
    }
    for (const n of acknowledged) assert.ok(queued.has(n), `acknowledged mail ${n} is queued`);
    assert.ok(acknowledged.size > 0 && acknowledged.size < iterations, "kills hit both sides");

    await q.write({ port: server.port, queue: "always" });
    const flushed = await q.postie(["-q"]);
    assert.equal(flushed.code, 0, flushed.stderr);
    const got = new Set(received(server));
    for (const n of acknowledged) assert.ok(got.has(n), `acknowledged mail ${n} was delivered`);
    assert.deepEqual(q.ids(), []);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("SIGKILL at random instants while flushing: no mail is lost, and a duplicate needs a kill", async () => {
  const random = new Random(fuzzSeed(0xf1a5));
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  const count = 40;
  try {
    const spool = new Spool(q.queueDir);
    for (let n = 0; n < count; n++) {
      await spool.enqueue(
        {
          from: "sender@example.org",
          recipients: ["rcpt@example.net"],
          selection: { configFile: q.rc, account: "default" },
          account: "default",
        },
        ReadableStream.from([numberedMail(n, 4096)]),
      );
    }
    let kills = 0;
    const started = performance.now();
    const calibration = await q.postie(["-q", "-qSnobody"]);
    assert.equal(calibration.code, 0, calibration.stderr);
    const span = Math.ceil((performance.now() - started) * 2);
    for (let round = 0; round < 60 && q.ids().length > 0; round++) {
      const result = await runAndKill(
        ["-C", q.rc, "-q"],
        {},
        new Uint8Array(0),
        random.int(span),
      );
      if (result.killed) kills++;
    }
    const last = await q.postie(["-q"]);
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(q.ids(), []);
    const got = received(server);
    for (let n = 0; n < count; n++) assert.ok(got.includes(n), `mail ${n} was delivered`);
    const duplicates = got.length - new Set(got).size;
    assert.ok(duplicates <= kills, `${duplicates} duplicates from ${kills} kills`);
    assert.ok(kills > 0, "at least one run was killed");
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("two queue runners at once send every mail exactly once", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  const count = 30;
  try {
    const spool = new Spool(q.queueDir);
    for (let n = 0; n < count; n++) {
      await spool.enqueue(
        {
          from: "sender@example.org",
          recipients: ["rcpt@example.net"],
          selection: { configFile: q.rc, account: "default" },
          account: "default",
        },
        ReadableStream.from([numberedMail(n, 2000)]),
      );
    }
    const [a, b] = await Promise.all([q.postie(["-q"]), q.postie(["-q"])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const got = received(server).sort((x, y) => x - y);
    assert.deepEqual(got, Array.from({ length: count }, (_, i) => i));
    assert.deepEqual(q.ids(), []);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test({
  name: "a full disk: queueing fails with a clear error and exit 75, nothing half-written is left",
  ignore: !IS_ROOT && Deno.env.get("CI") !== "true",
  async fn() {
    const q = await queueSetup({ port: 1, queue: "always" });
    const mount = `${q.dir}/small`;
    await Deno.mkdir(mount);
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mount],
    }).output();
    assert.equal(mounted.code, 0, decoder.decode(mounted.stderr));
    try {
      await q.write({ port: 1, queue: "always", extra: [`queue_dir ${mount}/queue`] });
      const big = numberedMail(1, 1_000_000);
      const full = await q.postie(["rcpt@example.net"], big);
      assert.equal(full.code, 75);
      assert.equal(
        full.stderr,
        `postie: cannot queue mail in ${mount}/queue: No space left on device\n`,
      );
      assert.deepEqual([...Deno.readDirSync(`${mount}/queue/mail`)], []);
      assert.deepEqual([...Deno.readDirSync(`${mount}/queue/tmp`)], []);
      // the space is given back: a small mail still fits
      const small = await q.postie(["rcpt@example.net"], numberedMail(2, 1000));
      assert.equal(small.code, 0, small.stderr);
      assert.equal([...Deno.readDirSync(`${mount}/queue/mail`)].length, 1);
    } finally {
      await new Deno.Command("umount", { args: [mount] }).output();
      await q.cleanup();
    }
  },
});
