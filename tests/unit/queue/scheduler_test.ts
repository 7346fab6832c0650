/**
 * The scheduler of long-running queue runners (`-q5m`, `-bd`) over a real queue directory
 * with a fake server: it runs at start, right after a wake-up, when a deferred mail's
 * back-off ends (not only at the interval), and stops cleanly.
 */

import assert from "node:assert/strict";
import { Spool } from "../../../lib/queue/spool.ts";
import type { AccountPlan, Deliverer, FlushReport } from "../../../lib/queue/runner.ts";
import { startScheduler } from "../../../lib/queue/scheduler.ts";
import { connectFailed } from "../../../lib/net/errors.ts";
import { delay } from "../../support/process.ts";

/** A server that is down until `up` is set; counts opens and records delivered mails. */
function fakeServer(policy: AccountPlan["policy"]) {
  const state = { up: false, opens: 0, sent: [] as string[][] };
  const deliverer: Deliverer = {
    plan: (envelope) =>
      Promise.resolve({ key: envelope.account, policy, routes: [""], hostname: "h.example" }),
    open() {
      state.opens++;
      if (!state.up) return Promise.reject(connectFailed("127.0.0.1", 25, "Connection refused"));
      return Promise.resolve({
        async send(envelope, message) {
          if (!(message instanceof Uint8Array)) await new Response(message).arrayBuffer();
          state.sent.push(envelope.recipients);
          return { accepted: envelope.recipients, rejected: [] };
        },
        close: () => Promise.resolve(),
      });
    },
  };
  return { state, deliverer };
}

async function enqueue(spool: Spool, to: string): Promise<string> {
  return await spool.enqueue(
    { from: "a@example.org", recipients: [to], selection: {}, account: "default" },
    ReadableStream.from([new TextEncoder().encode("Subject: s\r\n\r\nbody\r\n")]),
  );
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await delay(20);
  assert.ok(what(), "timed out");
}

Deno.test("a wake-up runs the queue at once, and a deferred mail is retried when its back-off ends, long before the interval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-sched-" });
  const spool = new Spool(dir);
  const { state, deliverer } = fakeServer({
    backoffMin: 1,
    backoffMax: 1,
    lifetime: 3600,
    warn: null,
  });
  const reports: FlushReport[] = [];
  const scheduler = startScheduler(spool, {
    deliverer: () => deliverer,
    intervalMs: 600_000,
    watch: false,
    onReport: (r) => reports.push(r),
  });
  try {
    await until(() => reports.length === 1);
    await enqueue(spool, "b@example.org");
    scheduler.wake();
    await until(() => reports.some((r) => r.deferred.length === 1));
    const deferred = reports.find((r) => r.deferred.length === 1)!;
    assert.ok(
      deferred.nextAttempt! > Date.now() - 1000 && deferred.nextAttempt! <= Date.now() + 1000,
    );
    state.up = true;
    // the back-off is 1 s; the interval (10 minutes) would be far too late
    await until(() => state.sent.length === 1, 4000);
    assert.deepEqual(state.sent, [["b@example.org"]]);
    await until(() => reports.some((r) => r.delivered.length === 1));
    assert.deepEqual(await spool.ids(), []);
  } finally {
    await scheduler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the scheduler sees a mail another process queued (the directory is watched) and stops promptly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-sched-" });
  const spool = new Spool(dir);
  const { state, deliverer } = fakeServer({
    backoffMin: 300,
    backoffMax: 4000,
    lifetime: 3600,
    warn: null,
  });
  state.up = true;
  const scheduler = startScheduler(spool, { deliverer: () => deliverer, intervalMs: 600_000 });
  try {
    await delay(300);
    await enqueue(spool, "c@example.org");
    await until(() => state.sent.length === 1);
  } finally {
    const start = Date.now();
    await scheduler.stop();
    assert.ok(Date.now() - start < 2000);
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A queue whose directory is slow to prepare (so the watch on it is set late) and on which
 * another process queues a mail right after the first run has listed it.
 */
class QueuedBehindTheListing extends Spool {
  #listed = false;

  override async ensure(): Promise<void> {
    await delay(200);
    await super.ensure();
  }

  override async ids(): Promise<string[]> {
    const ids = await super.ids();
    if (!this.#listed) {
      this.#listed = true;
      // another process: the plain queue, which commits at once
      await enqueue(new Spool(this.dir), "late@example.org");
    }
    return ids;
  }
}

Deno.test("a mail queued right after the first run listed the queue goes out at once, however late the watch is set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-sched-" });
  await new Spool(dir).ensure();
  const spool = new QueuedBehindTheListing(dir);
  const { state, deliverer } = fakeServer({
    backoffMin: 300,
    backoffMax: 4000,
    lifetime: 3600,
    warn: null,
  });
  state.up = true;
  const scheduler = startScheduler(spool, { deliverer: () => deliverer, intervalMs: 600_000 });
  try {
    // the next run would be the interval's, 10 minutes away, had the watch missed the mail
    await until(() => state.sent.length === 1);
    assert.deepEqual(state.sent, [["late@example.org"]]);
  } finally {
    await scheduler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
