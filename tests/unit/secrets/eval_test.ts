import assert from "node:assert/strict";
import { evalPassword, runEvalCommand } from "../../../lib/secrets/eval.ts";
import { ConfigError } from "../../../lib/errors.ts";

/** Whether a process with this pid still runs (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

Deno.test("the first line of the command's output is the answer", async () => {
  assert.equal(await runEvalCommand("printf 'pw\\r\\nmore\\n'"), "pw");
  assert.equal(await runEvalCommand("true"), undefined);
});

Deno.test("a background grandchild holding the output does not make postie wait", async () => {
  const started = Date.now();
  const line = await runEvalCommand("sleep 30 & echo secret", 10_000);
  assert.equal(line, "secret");
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
});

Deno.test("at the limit the command and every process it started are killed, and the error says so", async () => {
  const pidFile = await Deno.makeTempFile();
  try {
    const started = Date.now();
    await assert.rejects(
      runEvalCommand(`sh -c 'echo $$ > ${pidFile}; exec sleep 30' & sleep 30`, 1_000),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /did not finish within 1 second/);
        assert.match(e.message, /sh \(pid \d+\) and every process it started were killed/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    const grandchild = Number(Deno.readTextFileSync(pidFile).trim());
    assert.ok(grandchild > 0);
    // killed with the group, not left behind
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(grandchild), false);
  } finally {
    await Deno.remove(pidFile);
  }
});

Deno.test("passwordeval's error names the command that was killed", async () => {
  await assert.rejects(
    evalPassword("sleep 30", (c) => runEvalCommand(c, 500)),
    /passwordeval 'sleep 30' did not finish within 1 second/,
  );
});
