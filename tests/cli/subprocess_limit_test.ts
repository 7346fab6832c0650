/**
 * `passwordeval` under the real command's permissions (scripts/postie runs with the compiled
 * binary's `--allow-run` list): a background grandchild holding the output never makes
 * postie wait, and at the limit, which follows `timeout`, the command and everything it
 * started are killed and the error says so.
 */

import assert from "node:assert/strict";
import { POSTIE, runPostie } from "../support/differential.ts";
import { startFaultServer } from "../support/fault_server.ts";

const MAIL = "Subject: eval\n\nbody\n";

async function rcFile(lines: string[]): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "postie-eval-rc-" });
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  await Deno.chmod(file, 0o600);
  return file;
}

Deno.test("passwordeval whose output is held by a background process does not delay the mail", async () => {
  const server = await startFaultServer({ capabilities: ["AUTH PLAIN"] });
  const rc = await rcFile([
    "account default",
    "host 127.0.0.1",
    `port ${server.port}`,
    "from a@example.org",
    "auth plain",
    "user alice",
    `passwordeval "sh -c 'sleep 60 & echo secret'"`,
  ]);
  try {
    // The background sleep inherits postie's standard error, as it would msmtp's: it goes to
    // a file, so what is timed is postie's own exit, not the sleep's.
    const errFile = await Deno.makeTempFile();
    const started = Date.now();
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'f=$1; shift; exec "$@" 2>"$f" >/dev/null',
        "sh",
        errFile,
        POSTIE,
        "-C",
        rc,
        "b@example.org",
      ],
      env: { HOME: "/nonexistent", LANG: "C" },
      stdin: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(MAIL));
    await writer.close();
    const status = await child.status;
    const took = Date.now() - started;
    const stderr = await Deno.readTextFile(errFile);
    await Deno.remove(errFile);
    assert.equal(stderr, "");
    assert.equal(status.code, 0);
    assert.ok(took < 20_000, `took ${took} ms`);
    assert.equal(server.sessions.filter((s) => s.delivered).length, 1);
  } finally {
    await server.close();
    await Deno.remove(rc);
  }
});

Deno.test("a passwordeval that hangs is killed at the account's timeout with an error saying what was killed", async () => {
  const rc = await rcFile([
    "account default",
    "host 127.0.0.1",
    "port 9",
    "from a@example.org",
    "timeout 2",
    "auth plain",
    "user alice",
    `passwordeval "sleep 60 & sleep 60"`,
  ]);
  try {
    const started = Date.now();
    const result = await runPostie(["-C", rc, "b@example.org"], { stdin: MAIL });
    assert.match(
      result.stderr,
      /^postie: passwordeval 'sleep 60 & sleep 60' did not finish within 2 seconds; sh \(pid \d+\) and every process it started were killed\n/,
    );
    assert.equal(result.code, 78);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  } finally {
    await Deno.remove(rc);
  }
});
