import assert from "node:assert/strict";
import { appendLogLine, LogError } from "../../../lib/log/logfile.ts";

Deno.test("appendLogLine() appends timestamped lines and keeps earlier ones", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/postie.log`;
  const now = new Date(2026, 10, 23, 12, 20, 18);
  await appendLogLine(file, null, "first", now);
  await appendLogLine(file, "%Y-%m-%dT%H:%M:%S", "second", now);
  assert.equal(
    await Deno.readTextFile(file),
    "Nov 23 12:20:18 first\n2026-11-23T12:20:18 second\n",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("appendLogLine() writes to the given sink for logfile -", async () => {
  let out = "";
  await appendLogLine("-", "%H", "rec", new Date(2026, 0, 1, 7), { write: (t) => void (out += t) });
  assert.equal(out, "07 rec\n");
});

Deno.test("appendLogLine() reports an unopenable file in msmtp's words", async () => {
  await assert.rejects(
    appendLogLine("/nonexistent-dir/x.log", null, "rec", new Date()),
    (e: unknown) =>
      e instanceof LogError &&
      e.message === "cannot log to /nonexistent-dir/x.log: cannot open: No such file or directory",
  );
});
