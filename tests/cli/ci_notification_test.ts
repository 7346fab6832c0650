/**
 * The README's CI notification, run as CI runs it: `examples/ci_notify.sh` with the account in
 * POSTIE_* variables and the password in a secret file (GitLab's file variables, Docker and
 * Kubernetes secrets), against a server that requires STARTTLS and AUTH.
 */

import assert from "node:assert/strict";
import { POSTIE, ROOT, run } from "../support/differential.ts";
import { type FaultSession, startFaultServer } from "../support/fault_server.ts";
import { createTestPki } from "../support/pki.ts";
import { parseWithPython, pythonUnavailable } from "../support/python_email.ts";
import { saslUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";

const SCRIPT = `${ROOT}/examples/ci_notify.sh`;
const ignore = pythonUnavailable() !== undefined && Deno.env.get("CI") !== "true";
const PASSWORD = "ci-secret-Ünïcode-!$&";

function received(session: FaultSession): string {
  return session.data.map((line) => line.startsWith(".") ? line.slice(1) : line).join("\r\n") +
    "\r\n";
}

Deno.test({
  name:
    "the CI script mails a failed job with its log attached, configured by POSTIE_* and a secret file",
  ignore,
  async fn() {
    const pki = await createTestPki();
    const server = await startFaultServer({
      cert: pki.server.cert,
      key: pki.server.key,
      capabilities: ["PIPELINING", "AUTH PLAIN LOGIN"],
    });
    const dir = await Deno.makeTempDir({ prefix: "postie_ci_" });
    try {
      const secret = `${dir}/smtp_password`;
      // secret files usually end in a newline; it is not part of the password
      await Deno.writeTextFile(secret, PASSWORD + "\n", { mode: 0o600 });
      const log = `${dir}/build.log`;
      const lines = Array.from({ length: 40 }, (_, i) => `step ${i + 1}: ok`);
      lines.push("error: test suite failed (3 failures)");
      await Deno.writeTextFile(log, lines.join("\n") + "\n");

      const result = await run("sh", [
        SCRIPT,
        "failed",
        log,
        "team@example.org",
        "lead@example.org",
      ], {
        cwd: dir,
        env: {
          POSTIE,
          POSTIE_HOST: "127.0.0.1",
          POSTIE_PORT: String(server.port),
          POSTIE_TLS: "on",
          POSTIE_TLS_TRUST_FILE: pki.ca.cert,
          POSTIE_AUTH: "on",
          POSTIE_USER: "ci@example.org",
          POSTIE_PASSWORD_FILE: secret,
          POSTIE_FROM: "ci@example.org",
          // what GitHub Actions sets
          GITHUB_REPOSITORY: "acme/rocket",
          GITHUB_REF_NAME: "main",
          GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
          GITHUB_SERVER_URL: "https://github.com",
          GITHUB_RUN_ID: "4242",
        },
      });
      assert.equal(result.stderr, "");
      assert.equal(result.stdout, "");
      assert.equal(result.code, 0);

      const [session] = server.sessions;
      assert.ok(session.tls, "the password went over TLS only");
      assert.ok(session.delivered);
      const auth = session.lines.find((l) => l.startsWith("AUTH "));
      const credentials = new TextEncoder().encode(`\0ci@example.org\0${PASSWORD}`);
      assert.equal(auth, `AUTH PLAIN ${btoa(String.fromCharCode(...credentials))}`);
      assert.deepEqual(session.lines.filter((l) => l.startsWith("RCPT TO:")), [
        "RCPT TO:<team@example.org>",
        "RCPT TO:<lead@example.org>",
      ]);

      const mail = await parseWithPython(received(session));
      assert.equal(mail.headers.subject, "[acme/rocket] main: failed");
      assert.deepEqual(mail.addresses.from, [{ name: "", address: "ci@example.org" }]);
      assert.equal(mail.structure, "multipart/mixed(text/plain,text/plain)");
      const text = new TextDecoder().decode(mail.parts[0].bytes).replaceAll("\r\n", "\n");
      assert.match(text, /^The job of acme\/rocket on main failed\.\n/);
      assert.match(text, /^Job: {4}https:\/\/github\.com\/acme\/rocket\/actions\/runs\/4242$/m);
      assert.match(text, /error: test suite failed \(3 failures\)\n$/);
      assert.ok(!text.includes("step 20: ok"), "only the last 20 lines are quoted");
      assert.equal(mail.parts[1].filename, "build.log");
      assert.deepEqual(mail.parts[1].bytes, await Deno.readFile(log));
    } finally {
      await server.close();
      await pki.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the CI script reports a missing log or secret in one line with postie's exit code", async () => {
  const server = await startFaultServer();
  const dir = await Deno.makeTempDir({ prefix: "postie_ci_" });
  try {
    const env = {
      POSTIE,
      POSTIE_HOST: "127.0.0.1",
      POSTIE_PORT: String(server.port),
      POSTIE_FROM: "ci@example.org",
      CI_PROJECT_PATH: "acme/rocket",
    };
    const noLog = await run("sh", [SCRIPT, "failed", `${dir}/missing.log`, "team@example.org"], {
      cwd: dir,
      env,
    });
    assert.equal(noLog.code, 66);
    assert.equal(
      noLog.stderr,
      `postie: cannot read attachment ${dir}/missing.log: No such file or directory\n`,
    );

    await Deno.writeTextFile(`${dir}/build.log`, "ok\n");
    const noSecret = await run("sh", [SCRIPT, "passed", `${dir}/build.log`, "team@example.org"], {
      cwd: dir,
      env: { ...env, POSTIE_AUTH: "on", POSTIE_USER: "ci", POSTIE_PASSWORD_FILE: `${dir}/nope` },
    });
    assert.equal(noSecret.code, 78);
    assert.equal(
      noSecret.stderr,
      `postie: POSTIE_PASSWORD_FILE: cannot read ${dir}/nope: No such file or directory\n`,
    );

    const usage = await run("sh", [SCRIPT, "failed"], { cwd: dir, env });
    assert.equal(usage.code, 64);
    assert.equal(usage.stderr, "usage: ci_notify.sh STATUS LOG_FILE RECIPIENT...\n");
    assert.equal(server.sessions.length, 0);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "the CI script logs in to a real Postfix with Dovecot SASL over STARTTLS from a GitLab file variable",
  ignore: (saslUnavailable() ?? pythonUnavailable()) !== undefined && Deno.env.get("CI") !== "true",
  async fn() {
    const postfix = await startPostfix({
      tls: true,
      sasl: { users: [{ user: "ci", password: PASSWORD }] },
    });
    const dir = await Deno.makeTempDir({ prefix: "postie_ci_" });
    try {
      // GitLab writes a file variable's value to a file and puts the path in the variable
      const secret = `${dir}/SMTP_PASSWORD`;
      await Deno.writeTextFile(secret, PASSWORD, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/build.log`, "compiling\nFAILED: 2 tests\n");
      const result = await run("sh", [SCRIPT, "failed", "build.log", "dev@postie.test"], {
        cwd: dir,
        env: {
          POSTIE,
          POSTIE_HOST: "127.0.0.1",
          POSTIE_PORT: String(postfix.sasl!.tlsOnlyPort),
          POSTIE_TLS: "on",
          POSTIE_TLS_TRUST_FILE: postfix.caFile,
          POSTIE_AUTH: "on",
          POSTIE_USER: "ci",
          POSTIE_PASSWORD_FILE: secret,
          POSTIE_FROM: "ci@example.org",
          // what GitLab CI sets
          CI_PROJECT_PATH: "acme/rocket",
          CI_COMMIT_REF_NAME: "release-2",
          CI_COMMIT_SHA: "fedcba9876543210fedcba9876543210fedcba98",
          CI_JOB_URL: "https://gitlab.example.org/acme/rocket/-/jobs/77",
        },
      });
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      // auth on over TLS picks SCRAM-SHA-256 first; Dovecot checked the password
      assert.deepEqual(await postfix.sasl!.dovecot.authRequests(), ["SCRAM-SHA-256"]);
      const [delivered] = await postfix.mailbox("dev@postie.test");
      const mail = await parseWithPython(stripTraceHeaders(delivered));
      assert.equal(mail.headers.subject, "[acme/rocket] release-2: failed");
      const text = new TextDecoder().decode(mail.parts[0].bytes);
      assert.match(text, /^Job: {4}https:\/\/gitlab\.example\.org\/acme\/rocket\/-\/jobs\/77\r?$/m);
      assert.equal(mail.parts[1].filename, "build.log");
      assert.equal(new TextDecoder().decode(mail.parts[1].bytes), "compiling\nFAILED: 2 tests\n");
      assert.ok(!(await postfix.log()).includes(PASSWORD));
    } finally {
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
