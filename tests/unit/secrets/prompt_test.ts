import assert from "node:assert/strict";
import { promptPassword, promptText } from "../../../lib/secrets/prompt.ts";

Deno.test("the prompt reads as msmtp's", () => {
  assert.equal(promptText("alice", "mail.example"), "password for alice at mail.example: ");
});

Deno.test("there is no prompt when the terminal device cannot be opened", async () => {
  assert.equal(await promptPassword("alice", "h", { ttyPath: "/nonexistent/tty" }), null);
});

Deno.test("there is no prompt when the device is not a terminal", async () => {
  assert.equal(await promptPassword("alice", "h", { ttyPath: "/dev/null" }), null);
});

const hasScript = await new Deno.Command("sh", {
  args: ["-c", "command -v script >/dev/null"],
}).output().then((r) => r.success, () => false);

/**
 * Runs promptPassword in a child whose controlling terminal is a pseudo-terminal made by
 * util-linux `script`, types `keys` once the prompt appears, and returns what the child
 * got and everything the terminal showed.
 */
async function typeAtPrompt(keys: string): Promise<{ result: string | null; screen: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const resultFile = `${dir}/result.json`;
    const promptModule = new URL("../../../lib/secrets/prompt.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `import { promptPassword } from "${promptModule}";\n` +
        `const pw = await promptPassword("alice", "mail.example");\n` +
        `await Deno.writeTextFile(${JSON.stringify(resultFile)}, JSON.stringify(pw));\n`,
    );
    const command = `${Deno.execPath()} run --allow-all ${dir}/probe.ts`;
    const child = new Deno.Command("script", {
      args: ["-qefc", command, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let screen = "";
    const deadline = Date.now() + 20_000;
    while (!screen.includes("password for alice at mail.example: ") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      screen += new TextDecoder().decode(value);
    }
    // Echo is off before the prompt is written, so typing now is never shown.
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(keys));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      screen += new TextDecoder().decode(value);
    }
    await writer.close().catch(() => {});
    await child.status;
    await child.stderr.cancel();
    const result = JSON.parse(await Deno.readTextFile(resultFile));
    return { result, screen };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "the prompt reads a line on the terminal without echoing it" +
    (hasScript ? "" : " (skipped: util-linux script not available)"),
  ignore: !hasScript,
  async fn() {
    const { result, screen } = await typeAtPrompt("hunter2\r");
    assert.equal(result, "hunter2");
    assert.ok(screen.includes("password for alice at mail.example: "));
    assert.ok(!screen.includes("hunter2"), `echoed: ${JSON.stringify(screen)}`);
  },
});

Deno.test({
  name: "the prompt supports backspace and treats Ctrl-C as no password" +
    (hasScript ? "" : " (skipped: util-linux script not available)"),
  ignore: !hasScript,
  async fn() {
    assert.equal((await typeAtPrompt("hunx\x7fter2\r")).result, "hunter2");
    assert.equal((await typeAtPrompt("abc\x03")).result, null);
  },
});
