import assert from "node:assert/strict";
import { PostieError, send } from "../../../lib/mod.ts";
import { startCaptureServer } from "../../../scripts/capture_server.ts";

Deno.test("send() delivers a mail with the account rules of the command line", async () => {
  const server = startCaptureServer({});
  try {
    await send({
      host: "127.0.0.1",
      overrides: { port: String(server.port) },
      from: "ci@example.com",
      to: ["Team <team@example.org>, ops@example.org"],
      message: "Subject: build\n\n.green\n",
    });
    await server.waitForSessions(1);
    const [mail] = server.sessions[0].mails;
    assert.equal(mail.from, "ci@example.com");
    assert.deepEqual(mail.recipients, ["team@example.org", "ops@example.org"]);
    assert.match(new TextDecoder().decode(mail.data), /\r\nSubject: build\r\n\r\n\.green\r\n$/);
  } finally {
    await server.close();
  }
});

Deno.test("send() rejects with msmtp's message and exit code when the server refuses", async () => {
  const server = startCaptureServer({});
  try {
    await assert.rejects(
      send({
        host: "127.0.0.1",
        overrides: { port: String(server.port) },
        from: "ci@example.com",
        to: ["reject@example.org"],
        message: "Subject: x\n\ny\n",
      }),
      (e: unknown) =>
        e instanceof PostieError && e.exitCode === 65 &&
        e.message === "recipient address reject@example.org not accepted by the server" &&
        e.details[0].startsWith("server message: 550 5.1.1"),
    );
  } finally {
    await server.close();
  }
});

Deno.test("the doctest task runs the examples of every module lib/mod.ts exports from", async () => {
  const root = new URL("../../../", import.meta.url);
  const mod = await Deno.readTextFile(new URL("lib/mod.ts", root));
  const sources = [...mod.matchAll(/^export (?!type\b)[^;]*?\bfrom\s+"\.\/([^"]+)"/gm)].map((m) =>
    `lib/${m[1]}`
  );
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const task: string = config.tasks.doctest;
  const missing = [...new Set(["lib/mod.ts", ...sources])].filter((f) =>
    !task.split(/\s+/).includes(f)
  );
  assert.deepEqual(missing, []);
});
