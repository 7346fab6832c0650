import assert from "node:assert/strict";
import { orderedWriter } from "../../../lib/cli/output.ts";

Deno.test("writes started without awaiting come out in the order they were made", async () => {
  const seen: string[] = [];
  const out = orderedWriter(
    new WritableStream({
      async write(chunk): Promise<void> {
        // a slow reader: later writes must wait, not fail on the stream's lock
        await new Promise((resolve) => setTimeout(resolve, 2));
        seen.push(new TextDecoder().decode(chunk));
      },
    }),
  );
  for (let i = 0; i < 20; i++) void out.write(`${i}\n`);
  await out.flush();
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => `${i}\n`));
});

Deno.test("a write that fails (EPIPE) never rejects and later output is dropped", async () => {
  let calls = 0;
  const out = orderedWriter(
    new WritableStream({
      write(): void {
        calls++;
        throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      },
    }),
  );
  await out.write("first\n");
  assert.equal(out.broken, true);
  await out.write("second\n");
  await out.flush();
  assert.equal(calls, 1);
});

Deno.test("a raw writer that takes a few bytes at a time gets every byte, in order", async () => {
  const taken: number[] = [];
  const out = orderedWriter({
    async write(bytes: Uint8Array): Promise<number> {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const n = Math.min(3, bytes.length);
      taken.push(...bytes.subarray(0, n));
      return n;
    },
  });
  void out.write("first line\n");
  void out.write("");
  void out.write("second, longer line\n");
  await out.flush();
  assert.equal(
    new TextDecoder().decode(new Uint8Array(taken)),
    "first line\nsecond, longer line\n",
  );
  assert.equal(out.broken, false);
});

Deno.test("a raw writer that fails (EPIPE) never rejects and later output is dropped", async () => {
  let calls = 0;
  const out = orderedWriter({
    write(): Promise<number> {
      calls++;
      return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
    },
  });
  await out.write("first\n");
  assert.equal(out.broken, true);
  await out.write("second\n");
  await out.flush();
  assert.equal(calls, 1);
});
