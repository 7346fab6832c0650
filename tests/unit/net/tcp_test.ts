import assert from "node:assert/strict";
import { connectTcp, OperationDeadline } from "../../../lib/net/tcp.ts";
import { DeadlineExceeded } from "../../../lib/net/errors.ts";
import { PostieError } from "../../../lib/errors.ts";

Deno.test("the name lookup of a source_ip connection is inside the timeout and ends with 74", async () => {
  const started = Date.now();
  let stop = (): void => {};
  const never = new Promise<{ address: string }[]>((_, reject) => {
    stop = () => reject(new Error("stopped"));
  });
  try {
    await assert.rejects(
      connectTcp({
        host: "mail.example.org",
        port: 25,
        sourceIp: "127.0.0.1",
        timeoutMs: 300,
        lookup: () => never,
      }),
      (e: unknown) => {
        assert.ok(e instanceof PostieError);
        assert.equal(e.message, "cannot locate host mail.example.org: the operation timed out");
        assert.equal(e.exitCode, 74);
        return true;
      },
    );
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  } finally {
    stop();
    await never.catch(() => {});
  }
});

Deno.test("a source_ip connection shares one deadline between lookup and connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const stream = await connectTcp({
      host: "anything",
      port,
      sourceIp: "127.0.0.1",
      timeoutMs: 2000,
      lookup: () =>
        new Promise((resolve) => setTimeout(() => resolve([{ address: "127.0.0.1" }]), 50)),
    });
    const accepted = await listener.accept();
    accepted.close();
    stream.close();
  } finally {
    listener.close();
  }
});

/** A promise settled by hand, and whether it was. */
function pending<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("an operation deadline: operations that end in time never time out, however long the series", async () => {
  const deadline = new OperationDeadline();
  let timeouts = 0;
  const started = performance.now();
  // each operation takes 60 ms of a 150 ms deadline; the series outlasts the deadline twice
  for (let i = 0; i < 6; i++) {
    assert.equal(await deadline.run(sleep(60).then(() => i), 150, () => timeouts++), i);
  }
  assert.ok(performance.now() - started >= 300);
  assert.equal(timeouts, 0);
});

/** What a socket operation in flight does: keep the process alive (the deadline's wait does not). */
function inFlight(): () => void {
  const timer = setTimeout(() => {}, 10_000);
  return () => clearTimeout(timer);
}

Deno.test("an operation deadline: one that hangs is ended after its time, and the next one runs on its own deadline", async () => {
  const done = inFlight();
  const deadline = new OperationDeadline();
  const hang = pending<number>();
  let timedOut = 0;
  const started = performance.now();
  await assert.rejects(
    deadline.run(hang.promise, 100, () => {
      timedOut++;
      hang.reject(new Error("closed"));
    }),
    DeadlineExceeded,
  );
  const took = performance.now() - started;
  assert.ok(took >= 95 && took < 3000, `took ${took} ms`);
  assert.equal(timedOut, 1);
  assert.equal(await deadline.run(Promise.resolve("next"), 100, () => timedOut++), "next");
  await sleep(150);
  assert.equal(timedOut, 1);
  done();
});

Deno.test("an operation deadline: a short one after a long one fires on its own time, not the long one's", async () => {
  const done = inFlight();
  const deadline = new OperationDeadline();
  assert.equal(await deadline.run(Promise.resolve(1), 60_000, () => {}), 1);
  const hang = pending<number>();
  const started = performance.now();
  await assert.rejects(deadline.run(hang.promise, 100, () => hang.resolve(0)), DeadlineExceeded);
  const took = performance.now() - started;
  assert.ok(took < 3000, `took ${took} ms`);
  done();
});

Deno.test("an operation deadline: the operation's own error passes through; 0 is no deadline", async () => {
  const deadline = new OperationDeadline();
  await assert.rejects(
    deadline.run(Promise.reject(new Error("refused")), 100, () => {}),
    /refused/,
  );
  const op = pending<string>();
  const run = deadline.run(op.promise, 0, () => assert.fail("no deadline"));
  await sleep(50);
  op.resolve("done");
  assert.equal(await run, "done");
});
