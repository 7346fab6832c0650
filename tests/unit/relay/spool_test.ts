/**
 * The relay's spool and queue runner on a real directory: what is queued is exactly what
 * was acknowledged, leftovers of a crash are cleaned up, and the runner retries, sends and
 * gives up as its results say.
 */

import assert from "node:assert/strict";
import { Spool } from "../../../lib/relay/spool.ts";
import { type DeliveryResult, startRunner } from "../../../lib/relay/runner.ts";
import type { RelayEnvelope } from "../../../lib/relay/sink.ts";
import { SinkError } from "../../../lib/relay/sink.ts";
import { delay } from "../../support/process.ts";

const ENVELOPE: RelayEnvelope = {
  from: "a@example.org",
  recipients: [{ address: "b@example.org", notify: ["SUCCESS"], orcpt: null }],
  dsn: { ret: "HDRS", envid: null },
  eightBit: true,
  smtpUtf8: false,
  clientAddress: "127.0.0.1",
  clientHelo: "client.test",
  user: null,
  receivedAt: new Date("2026-12-02T08:00:00Z"),
};

function stream(text: string): ReadableStream<Uint8Array> {
  return ReadableStream.from([new TextEncoder().encode(text)]);
}

async function withSpool(fn: (spool: Spool, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "postie-spool-" });
  try {
    const spool = new Spool(dir);
    await spool.init();
    await fn(spool, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a queued mail is its message and envelope in queue/, readable back whole, removed after delivery", async () => {
  await withSpool(async (spool, dir) => {
    const id = await spool.accept(ENVELOPE, stream("Subject: x\r\n\r\nbody\r\n"));
    const [entry] = await spool.list();
    assert.equal(entry.id, id);
    assert.deepEqual(entry.envelope, ENVELOPE);
    assert.equal(await new Response(await spool.open(id)).text(), "Subject: x\r\n\r\nbody\r\n");
    assert.equal((await Deno.stat(`${dir}/queue/${id}.eml`)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    assert.equal((await spool.stats(new Date("2026-12-02T08:01:00Z"))).oldestAgeSeconds, 60);
    await spool.remove(id);
    assert.deepEqual(await spool.list(), []);
    assert.deepEqual([...Deno.readDirSync(`${dir}/queue`)], []);
  });
});

Deno.test("a message stream that fails leaves nothing behind and is a SinkError", async () => {
  await withSpool(async (spool, dir) => {
    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("Subject: half\r\n"));
        c.error(new Error("client went away"));
      },
    });
    await assert.rejects(spool.accept(ENVELOPE, broken), SinkError);
    assert.deepEqual(await spool.list(), []);
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    assert.deepEqual([...Deno.readDirSync(`${dir}/queue`)], []);
  });
});

Deno.test("start-up removes what a crash left: files in tmp/ and a message whose envelope never arrived", async () => {
  await withSpool(async (spool, dir) => {
    await Deno.writeTextFile(`${dir}/tmp/X.eml`, "half");
    await Deno.writeTextFile(`${dir}/queue/ORPHAN.eml`, "never acknowledged");
    const id = await spool.accept(ENVELOPE, stream("kept\r\n"));
    await spool.init();
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/queue`)].map((e) => e.name).sort(),
      [`${id}.eml`, `${id}.json`],
    );
  });
});

Deno.test("the runner retries a temporary failure after its delay, then removes the sent mail", async () => {
  await withSpool(async (spool) => {
    const results: DeliveryResult[] = [{ kind: "temporary", reason: "451 later" }, {
      kind: "sent",
    }];
    const seen: string[] = [];
    const times: number[] = [];
    const runner = startRunner({
      spool,
      retryMs: 300,
      scanMs: 100,
      deliver: async (_entry, message) => {
        times.push(Date.now());
        seen.push(await new Response(message).text());
        return results.shift() ?? { kind: "sent" };
      },
    });
    await spool.accept(ENVELOPE, stream("m1\r\n"));
    runner.wake();
    for (let i = 0; i < 50 && (await spool.list()).length > 0; i++) await delay(50);
    await runner.stop();
    assert.deepEqual(seen, ["m1\r\n", "m1\r\n"]);
    assert.ok(times[1] - times[0] >= 280, `retried after ${times[1] - times[0]} ms`);
    assert.deepEqual(await spool.list(), []);
  });
});

Deno.test("the runner moves a permanently refused mail to failed/ with the reason", async () => {
  await withSpool(async (spool, dir) => {
    const runner = startRunner({
      spool,
      scanMs: 100,
      deliver: async (_entry, message) => {
        await message.cancel();
        return { kind: "permanent", reason: "550 5.1.1 no such user" };
      },
    });
    const id = await spool.accept(ENVELOPE, stream("m\r\n"));
    runner.wake();
    for (let i = 0; i < 50 && (await spool.list()).length > 0; i++) await delay(50);
    await runner.stop();
    assert.deepEqual(await spool.list(), []);
    assert.equal(await Deno.readTextFile(`${dir}/failed/${id}.reason`), "550 5.1.1 no such user\n");
    assert.ok((await Deno.stat(`${dir}/failed/${id}.eml`)).isFile);
  });
});
