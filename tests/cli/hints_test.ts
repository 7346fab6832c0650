/**
 * After msmtp's error lines, one `hint:` line says what to do next. msmtp's lines are
 * unchanged: where msmtp is installed, postie's standard error is exactly msmtp's plus the
 * hint, with the same exit code.
 */

import assert from "node:assert/strict";
import { compareWithMsmtp, runMsmtp, type RunOptions, runPostie } from "../support/differential.ts";
import { startFaultServer } from "../support/fault_server.ts";
import { createTestPki } from "../support/pki.ts";

const MAIL = "Subject: hint\n\nbody\n";

/** Runs both programs; asserts msmtp's lines, then the hint; returns postie's hint line. */
async function hinted(
  t: Deno.TestContext,
  args: string[],
  options: RunOptions = {},
): Promise<string> {
  const postie = await runPostie(args, { stdin: MAIL, ...options });
  const lines = postie.stderr.split("\n").filter((l) => l !== "");
  const hint = lines.at(-1) ?? "";
  assert.match(hint, /^postie: hint: /, postie.stderr);
  assert.equal(lines.filter((l) => l.startsWith("postie: hint: ")).length, 1, "one hint line");
  await compareWithMsmtp(t, async () => {
    const reference = await runMsmtp(args, { stdin: MAIL, ...options });
    assert.equal(postie.stderr, reference.stderr + hint + "\n");
    assert.equal(postie.code, reference.code);
  }, "msmtp 1.8.23 prints the same lines before the hint");
  return hint;
}

Deno.test("no configuration at all: the hint names the files looked for", async (t) => {
  const hint = await hinted(t, ["b@example.org"], { env: { HOME: "/nonexistent" } });
  assert.match(
    hint,
    /looked for \/etc\/msmtprc, \/nonexistent\/\.msmtprc and \/nonexistent\/\.config\/msmtp\/config/,
  );
});

Deno.test("TLS from the first byte on a port that speaks plain SMTP: the hint says set tls_starttls on", async (t) => {
  const server = await startFaultServer();
  try {
    const hint = await hinted(t, [
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--tls",
      "--tls-starttls=off",
      "--tls-certcheck=off",
      "--from=a@example.org",
      "b@example.org",
    ]);
    assert.match(
      hint,
      new RegExp(`on port ${server.port} speaks plain SMTP first: set tls_starttls on`),
    );
  } finally {
    await server.close();
  }
});

Deno.test("STARTTLS on port 465: the hint says the port expects TLS from the first byte", async (t) => {
  // A server that waits for a TLS ClientHello, as on port 465; 127.0.0.46 keeps clear of others.
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: "127.0.0.46", port: 465 });
  } catch (error) {
    throw new Error(`cannot listen on 127.0.0.46:465 (root is needed): ${error}`);
  }
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const hint = await hinted(t, [
      "--host=127.0.0.46",
      "--port=465",
      "--tls",
      "--tls-certcheck=off",
      "--timeout=1",
      "--from=a@example.org",
      "b@example.org",
    ]);
    assert.match(
      hint,
      /port 465 expects TLS from the first byte .*: set tls on and tls_starttls off/,
    );
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("a server without STARTTLS: the hint says check the port", async (t) => {
  const server = await startFaultServer();
  try {
    const hint = await hinted(t, [
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--tls",
      "--tls-certcheck=off",
      "--from=a@example.org",
      "b@example.org",
    ]);
    assert.match(hint, /does not offer STARTTLS: check host and port/);
  } finally {
    await server.close();
  }
});

Deno.test("an untrusted certificate: the hint names tls_trust_file and the --serverinfo recipe", async (t) => {
  const pki = await createTestPki();
  const server = await startFaultServer({ cert: pki.untrusted.cert, key: pki.untrusted.key });
  try {
    const hint = await hinted(t, [
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--tls",
      `--tls-trust-file=${pki.ca.cert}`,
      "--from=a@example.org",
      "b@example.org",
    ]);
    assert.match(hint, /tls_trust_file/);
    assert.ok(
      hint.includes(
        `\`postie --serverinfo --host=127.0.0.1 --port=${server.port} --tls --tls-certcheck=off\``,
      ),
      hint,
    );
  } finally {
    await server.close();
    await pki.remove();
  }
});

Deno.test("SCRAM refused: the hint says the server may keep hashed passwords and names auth plain", async (t) => {
  const server = await startFaultServer({
    capabilities: ["AUTH SCRAM-SHA-256 PLAIN"],
    faults: { auth: "535 5.7.8 Error: authentication failed" },
  });
  try {
    const hint = await hinted(t, [
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--auth=scram-sha-256",
      "--user=alice",
      "--passwordeval=echo secret",
      "--from=a@example.org",
      "b@example.org",
    ]);
    assert.match(
      hint,
      /may keep only hashed passwords, which SCRAM-SHA-256 cannot use: set auth plain/,
    );
  } finally {
    await server.close();
  }
});
