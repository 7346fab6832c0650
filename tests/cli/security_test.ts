/**
 * Security properties through the real command line, each a test: no cleartext password
 * without TLS under `auth on`, STARTTLS stripping detected, bytes injected after the STARTTLS
 * 220 never read as replies, certificate checks on by default, secrets absent from the debug
 * output, and the permission check of a user configuration file holding a password, run as
 * an unprivileged user. Where msmtp behaves the same it runs too and must agree.
 */

import assert from "node:assert/strict";
import {
  compareWithMsmtp,
  POSTIE,
  runMsmtp,
  runPostie,
  type RunResult,
  withoutDocumentedDifferences,
} from "../support/differential.ts";
import {
  type FaultServerOptions,
  type FaultSession,
  startFaultServer,
} from "../support/fault_server.ts";
import { createTestPki, type TestPki } from "../support/pki.ts";
import { asNobody, IS_ROOT, NOBODY, nobodyHome } from "../support/nobody.ts";

const MAIL = "Subject: secure\n\nbody\n";
const PASSWORD = "s3cr3t-PW";

/** What one run did: its output and what the server saw. */
interface Seen extends RunResult {
  sessions: FaultSession[];
}

/** Runs postie or msmtp once against a fresh fault server with the given account lines. */
async function send(
  server: FaultServerOptions,
  config: string[],
  tool: "postie" | "msmtp" = "postie",
  extraArgs: string[] = [],
): Promise<Seen> {
  const fault = await startFaultServer(server);
  const dir = await Deno.makeTempDir({ prefix: "postie_security_" });
  try {
    const rc = `${dir}/rc`;
    const text = [
      "account default",
      "host 127.0.0.1",
      `port ${fault.port}`,
      "from sender@example.com",
      "timeout 5",
      ...config,
      "",
    ].join("\n");
    await Deno.writeTextFile(rc, text, { mode: 0o600 });
    const runner = tool === "postie" ? runPostie : runMsmtp;
    const result = await runner(["-C", rc, ...extraArgs, "rcpt@example.org"], {
      env: { HOME: dir },
      stdin: MAIL,
    });
    return {
      ...result,
      stdout: result.stdout.replaceAll(rc, "$RC"),
      stderr: result.stderr.replaceAll(rc, "$RC"),
      sessions: fault.sessions,
    };
  } finally {
    await fault.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the same case with msmtp and checks that both agree on the outcome. */
async function sameAsMsmtp(
  t: Deno.TestContext,
  postie: Seen,
  server: FaultServerOptions,
  config: string[],
): Promise<void> {
  await compareWithMsmtp(t, async () => {
    const msmtp = await send(server, config, "msmtp");
    assert.equal(postie.code, msmtp.code, `postie: ${postie.stderr}msmtp: ${msmtp.stderr}`);
    assert.equal(withoutDocumentedDifferences(postie).stderr, msmtp.stderr);
    assert.deepEqual(postie.sessions.map((s) => s.lines), msmtp.sessions.map((s) => s.lines));
  });
}

function allLines(seen: Seen): string[] {
  return seen.sessions.flatMap((s) => s.lines);
}

let pki: TestPki | undefined;
async function testPki(): Promise<TestPki> {
  return pki ??= await createTestPki();
}
addEventListener("unload", () => {
  if (pki) Deno.removeSync(pki.dir, { recursive: true });
});

Deno.test("auth on never sends a password in clear text to a server offering only PLAIN and LOGIN", async (t) => {
  const server = { capabilities: ["AUTH PLAIN LOGIN"] };
  const config = ["auth on", "user alice", `password ${PASSWORD}`];
  const seen = await send(server, config);
  assert.equal(seen.code, 69, seen.stderr);
  assert.match(seen.stderr, /cannot use a secure authentication method/);
  assert.ok(!allLines(seen).some((l) => l.startsWith("AUTH")), "no AUTH command");
  assert.ok(!allLines(seen).some((l) => l.startsWith("MAIL")), "no mail sent");
  const base64 = btoa(`\0alice\0${PASSWORD}`);
  for (const line of allLines(seen)) {
    assert.ok(!line.includes(PASSWORD) && !line.includes(base64) && !line.includes(btoa(PASSWORD)));
  }
  await sameAsMsmtp(t, seen, server, config);
});

Deno.test("tls on with a server that does not offer STARTTLS stops before anything is sent (69)", async (t) => {
  const p = await testPki();
  const server = { ...p.server, advertiseStartTls: false, capabilities: ["AUTH PLAIN"] };
  const config = ["tls on", `tls_trust_file ${p.ca.cert}`, "auth plain", "user alice"].concat(
    [`password ${PASSWORD}`],
  );
  const seen = await send(server, config);
  assert.equal(seen.code, 69, seen.stderr);
  assert.match(seen.stderr, /^postie: the server does not support TLS via the STARTTLS command$/m);
  assert.equal(allLines(seen)[0], "EHLO localhost");
  for (const line of allLines(seen)) {
    assert.match(line, /^(EHLO|QUIT)/, "nothing but EHLO and QUIT");
  }
  await sameAsMsmtp(t, seen, server, config);
});

Deno.test("STARTTLS refused with 500 is an error, never a fall back to plain text (76)", async (t) => {
  const p = await testPki();
  const server = { ...p.server, faults: { starttls: "500 5.5.1 no TLS for you" } };
  const config = ["tls on", `tls_trust_file ${p.ca.cert}`];
  const seen = await send(server, config);
  assert.equal(seen.code, 76, seen.stderr);
  assert.match(seen.stderr, /^postie: command STARTTLS failed$/m);
  assert.deepEqual(allLines(seen), ["EHLO localhost", "STARTTLS"]);
  await sameAsMsmtp(t, seen, server, config);
});

Deno.test("STARTTLS refused with 454 is a temporary error, never a fall back to plain text (75, deliberately unlike msmtp's 76)", async () => {
  const p = await testPki();
  const server = { ...p.server, faults: { starttls: "454 4.7.0 TLS not available" } };
  const seen = await send(server, ["tls on", `tls_trust_file ${p.ca.cert}`]);
  assert.equal(seen.code, 75, seen.stderr);
  assert.equal(
    seen.stderr,
    "postie: command STARTTLS failed\npostie: server message: 454 4.7.0 TLS not available\n" +
      "postie: could not send mail (account default from $RC)\n",
  );
  assert.deepEqual(allLines(seen), ["EHLO localhost", "STARTTLS"]);
});

Deno.test("bytes injected after the STARTTLS 220 are never read as replies (deliberately unlike msmtp, which aborts)", async () => {
  const p = await testPki();
  // a fake refusal in clear text right behind the 220: read as the EHLO reply, it would fail
  const server = { ...p.server, afterStartTls: "554 5.7.0 injected\r\n250 AUTH PLAIN\r\n" };
  const seen = await send(server, ["tls on", `tls_trust_file ${p.ca.cert}`], "postie", ["-d"]);
  assert.equal(seen.code, 0, seen.stderr);
  assert.doesNotMatch(seen.stdout, /injected/);
  assert.equal(seen.sessions[0].tls, true);
  assert.equal(seen.sessions[0].delivered, true);
  // the mail went only after the handshake and a fresh EHLO
  const lines = allLines(seen);
  assert.deepEqual(lines.slice(0, 4), [
    "EHLO localhost",
    "STARTTLS",
    "EHLO localhost",
    "MAIL FROM:<sender@example.com>",
  ]);
});

Deno.test("certificate checks are on by default: tls on alone refuses an untrusted CA (69)", async (t) => {
  const p = await testPki();
  // the test CA is not in the system store; no tls_* option beyond tls on
  const server = { ...p.server };
  const seen = await send(server, ["tls on"]);
  assert.equal(seen.code, 69, seen.stderr);
  assert.match(
    seen.stderr,
    /^postie: TLS certificate verification failed: The certificate is NOT trusted\. The certificate issuer is unknown\. $/m,
  );
  assert.ok(!allLines(seen).some((l) => l.startsWith("MAIL")), "nothing sent");
  await sameAsMsmtp(t, seen, server, ["tls on"]);
});

Deno.test("the debug output never shows the password, in clear or in base64", async () => {
  const server = { capabilities: ["AUTH PLAIN LOGIN"] };
  for (const method of ["plain", "login"]) {
    const config = [`auth ${method}`, "user alice", `password ${PASSWORD}`];
    const seen = await send(server, config, "postie", ["-d"]);
    assert.equal(seen.code, 0, seen.stderr);
    const output = seen.stdout + seen.stderr;
    assert.match(output, /--> AUTH /);
    for (const secret of [PASSWORD, btoa(`\0alice\0${PASSWORD}`), btoa(PASSWORD)]) {
      assert.ok(!output.includes(secret), `${method}: ${secret} shown`);
    }
    // the server did get the credentials: the masking is in the output only
    const wire = allLines(seen).join("\n");
    assert.ok(wire.includes(btoa(`\0alice\0${PASSWORD}`)) || wire.includes(btoa(PASSWORD)));
  }
});

Deno.test({
  name: "a user configuration file with a password and mode 0644 is refused (78), as nobody",
  ignore: !IS_ROOT,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "postie_security_" });
    try {
      const home = await nobodyHome(dir);
      const rcFile = `${home}/.msmtprc`;
      await Deno.writeTextFile(
        rcFile,
        `account default\nhost 127.0.0.1\nport 9\nfrom a@example.org\npassword ${PASSWORD}\n`,
      );
      await Deno.chown(rcFile, NOBODY, NOBODY);
      await Deno.chmod(rcFile, 0o644);
      const expected = `postie: ${rcFile}: contains secrets and therefore must have no more ` +
        "than user read/write permissions\n";
      for (const args of [["rcpt@example.org"], ["-C", rcFile, "rcpt@example.org"]]) {
        const seen = await asNobody(POSTIE, args, home, MAIL);
        assert.equal(seen.code, 78, seen.stderr);
        assert.equal(seen.stderr, expected);
        assert.ok(!seen.stderr.includes(PASSWORD) && !seen.stdout.includes(PASSWORD));
        await compareWithMsmtp(t, async () => {
          const msmtp = await asNobody("/usr/bin/msmtp", args, home, MAIL);
          assert.equal(msmtp.code, seen.code);
          assert.equal(msmtp.stderr.replace(/^msmtp: /gm, "postie: "), seen.stderr);
        }, `msmtp 1.8.23 agrees: ${args.join(" ")}`);
      }
      // with 0600 the check passes and the run goes on to connect
      await Deno.chmod(rcFile, 0o600);
      const ok = await asNobody(POSTIE, ["rcpt@example.org"], home, MAIL);
      assert.doesNotMatch(ok.stderr, /contains secrets/);
      assert.equal(ok.code, 75, ok.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
