/**
 * Configuration values are checked where they are read: a value that cannot work is a config
 * error (78) naming the file and line, before any connection, never a protocol error later.
 */

import assert from "node:assert/strict";
import { runPostie } from "../support/differential.ts";
import { startFaultServer } from "../support/fault_server.ts";

Deno.test("a 10 KiB domain is a config error with file and line, and nothing connects", async () => {
  const server = await startFaultServer();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/rc`,
      `account default\nhost 127.0.0.1\nport ${server.port}\nfrom a@example.org\n` +
        `domain ${"d".repeat(10 * 1024)}\n`,
      { mode: 0o600 },
    );
    const result = await runPostie(["-C", `${dir}/rc`, "b@example.org"], {
      stdin: "Subject: x\n\nbody\n",
    });
    assert.match(
      result.stderr,
      new RegExp(
        `^postie: ${dir}/rc: line 5: invalid argument "d{40}"… \\(10240 characters\\) for command domain: longer than 255 characters; it must be an EHLO argument.*\n$`,
      ),
    );
    assert.equal(result.stderr.split("\n").length, 2, "one line");
    assert.equal(result.code, 78);
    assert.equal(server.sessions.length, 0);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
