import assert from "node:assert/strict";
import { connectTcp } from "../../../lib/net/tcp.ts";
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
