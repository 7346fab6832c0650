/**
 * Standard output whose reader is gone (`postie -d … | head -1`): postie's output is lost,
 * never the mail's fate nor the exit code. msmtp delivers and ends with 0 in every case here,
 * and so must postie.
 */

import assert from "node:assert/strict";
import { POSTIE } from "../support/differential.ts";
import { startFaultServer } from "../support/fault_server.ts";

const MAIL = "Subject: closed stdout\n\nbody\n";

/**
 * Runs postie with standard output on a real pipe whose read end is closed before postie
 * writes anything, so every write to it fails with EPIPE.
 */
async function runWithClosedStdout(
  args: string[],
  stdin: string,
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(POSTIE, {
    args,
    env: { HOME: "/nonexistent", LANG: "C" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The reader goes away at once, as `head -1` does after its first line.
  await child.stdout.cancel();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
  await writer.close().catch(() => {});
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  return { code: status.code, stderr };
}

for (
  const [what, extra] of [
    ["-d", ["-d"]],
    ["--logfile=-", ["--logfile=-"]],
    ["-d and --logfile=-", ["-d", "--logfile=-"]],
  ] as const
) {
  Deno.test(`a mail sent with ${what} and a closed stdout is delivered and ends with 0`, async () => {
    const server = await startFaultServer();
    try {
      const result = await runWithClosedStdout(
        ["--host=127.0.0.1", `--port=${server.port}`, "--from=a@example.org", ...extra, "b@x.y"],
        MAIL,
      );
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      assert.equal(server.sessions.filter((s) => s.delivered).length, 1);
    } finally {
      await server.close();
    }
  });
}

Deno.test("--serverinfo -d with a closed stdout ends with 0 and no error", async () => {
  const server = await startFaultServer();
  try {
    const result = await runWithClosedStdout(
      ["--serverinfo", "--host=127.0.0.1", `--port=${server.port}`, "-d"],
      "",
    );
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
  } finally {
    await server.close();
  }
});

Deno.test("--rmqs -d with a closed stdout ends with 0 and no error", async () => {
  const server = await startFaultServer({ capabilities: ["ETRN"] });
  try {
    const result = await runWithClosedStdout(
      ["--rmqs=example.org", "--host=127.0.0.1", `--port=${server.port}`, "-d"],
      "",
    );
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
  } finally {
    await server.close();
  }
});

Deno.test("--serverinfo -d prints the dialogue, then the server's information, and ends with 0", async () => {
  const server = await startFaultServer({ capabilities: ["SIZE 1000", "ETRN"] });
  try {
    const out = await new Deno.Command(POSTIE, {
      args: ["--serverinfo", "--host=127.0.0.1", `--port=${server.port}`, "-d"],
      env: { HOME: "/nonexistent", LANG: "C" },
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(new TextDecoder().decode(out.stderr), "");
    assert.equal(out.code, 0);
    const quit = stdout.indexOf("--> QUIT");
    const info = stdout.indexOf("SMTP server at 127.0.0.1");
    assert.ok(quit >= 0 && info > quit, stdout);
  } finally {
    await server.close();
  }
});
