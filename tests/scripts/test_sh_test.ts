/**
 * scripts/test.sh, run on a small copy of the layout (its own tests/ with one skipped test,
 * one skipped step and one that passes): the last line counts passed, failed and skipped, and
 * under CI a skip fails the run unless tests/ALLOWED_SKIPS.txt lists it with a reason.
 */

import assert from "node:assert/strict";
import { ROOT } from "../support/differential.ts";

const FIXTURE = `
Deno.test({ name: "needs a missing server", ignore: true, fn() {} });
Deno.test("modes", async (t) => {
  await t.step({ name: "a mode nobody offers", ignore: true, fn() {} });
  await t.step({ name: "a mode that runs", fn() {} });
});
`;

async function runScript(
  allowed: string,
  ci: boolean,
): Promise<{ code: number; last: string; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "postie-test-sh-" });
  try {
    await Deno.mkdir(`${dir}/scripts`);
    await Deno.mkdir(`${dir}/tests`);
    await Deno.copyFile(`${ROOT}/scripts/test.sh`, `${dir}/scripts/test.sh`);
    await Deno.writeTextFile(`${dir}/tests/fixture_test.ts`, FIXTURE);
    await Deno.writeTextFile(`${dir}/tests/ALLOWED_SKIPS.txt`, allowed);
    // POSTIE_BIN set: the script does not build postie for a fixture that has none
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      POSTIE_BIN: "/bin/true",
    };
    for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    if (ci) env.CI = "true";
    const out = await new Deno.Command("bash", {
      args: [`${dir}/scripts/test.sh`],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const lines = text.trimEnd().split("\n");
    return { code: out.code, last: lines.at(-1) ?? "", out: text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the last line counts passed, failed and skipped tests", async () => {
  const r = await runScript("", false);
  assert.equal(r.last, "1 passed, 0 failed, 2 skipped", r.out);
  assert.equal(r.code, 0);
});

Deno.test("under CI a skip that is not listed fails the run and is named", async () => {
  const r = await runScript("needs a missing server -- a reason\n", true);
  assert.match(r.out, /unexpected skip under CI: .*modes \.\.\. a mode nobody offers\n/);
  assert.equal(r.last, "1 passed, 1 failed, 2 skipped", r.out);
  assert.equal(r.code, 1);
});

Deno.test("under CI listed skips with a reason pass; an entry without a reason allows nothing", async () => {
  const listed = await runScript(
    "# comment\nneeds a missing server -- a reason\na mode nobody offers -- another\n",
    true,
  );
  assert.equal(listed.last, "1 passed, 0 failed, 2 skipped", listed.out);
  assert.equal(listed.code, 0);
  const bare = await runScript("needs a missing server --\na mode nobody offers -- why\n", true);
  assert.equal(bare.code, 1, bare.out);
});
