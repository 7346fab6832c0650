/**
 * The library's transport against a real Postfix (with Dovecot SASL) on loopback: STARTTLS
 * verified with the test CA, AUTH, two mails over one connection, a refused recipient among
 * accepted ones, and verify() with a good and a bad password.
 */

import assert from "node:assert/strict";
import { createTransport, SmtpAuthError } from "../../lib/mod.ts";
import { type Postfix, saslUnavailable, startPostfix } from "../support/postfix.ts";

const reason = saslUnavailable();
const ignore = reason !== undefined;
if (reason !== undefined) console.error(`library_postfix_test.ts: skipped: ${reason}`);

const USER = "alice";
const PASSWORD = "Library-Pa55-93c2";

async function withPostfix(fn: (postfix: Postfix) => Promise<void>): Promise<void> {
  const postfix = await startPostfix({
    tls: true,
    sasl: { users: [{ user: USER, password: PASSWORD }] },
  });
  try {
    await fn(postfix);
  } finally {
    await postfix.stop();
  }
}

function options(postfix: Postfix, password = PASSWORD) {
  return {
    host: "127.0.0.1",
    port: postfix.sasl!.port,
    tls: true,
    tlsTrustFile: postfix.caFile,
    auth: { user: USER, pass: password },
    from: "sender@example.org",
    timeout: 20_000,
  };
}

Deno.test({
  name:
    "two mails over one authenticated STARTTLS connection reach Postfix, a refused recipient is reported",
  ignore,
  async fn() {
    await withPostfix(async (postfix) => {
      const transport = await createTransport(options(postfix));
      try {
        const first = await transport.sendMail({
          envelope: { to: ["user@postie.test", "rejected@postie.test"] },
          raw: "To: user@postie.test\nSubject: first\n\none\n",
        });
        assert.deepEqual(first.accepted, ["user@postie.test"]);
        assert.equal(first.rejected.length, 1);
        assert.equal(first.rejected[0].address, "rejected@postie.test");
        assert.equal(first.rejected[0].code, 550);
        assert.equal(first.rejected[0].enhancedCode, "5.1.1");
        assert.match(first.response, /^250 2\.0\.0 Ok: queued as /);
        const second = await transport.sendMail({
          envelope: { to: "user@postie.test" },
          raw: "To: user@postie.test\nSubject: second\n\ntwo\n",
        });
        assert.deepEqual(second.rejected, []);
      } finally {
        await transport.close();
      }
      const delivered = await postfix.mailbox("user@postie.test", { count: 2 });
      assert.equal(delivered.length, 2);
      assert.match(delivered[0], /\nSubject: first\n/);
      assert.match(delivered[1], /\nSubject: second\n/);
      const log = await postfix.log();
      // one SMTP session carried both mails (the fixture's readiness probe sends nothing)
      const sessions = log.split("\n").filter((l) => /disconnect from .* mail=/.test(l));
      assert.equal(sessions.length, 1, log);
      assert.match(sessions[0], / mail=2 .* rset=1 quit=1 /);
      assert.match(log, /TLS connection established/);
    });
  },
});

Deno.test({
  name:
    "verify() against Postfix resolves with the right password and is SmtpAuthError with a wrong one",
  ignore,
  async fn() {
    await withPostfix(async (postfix) => {
      assert.equal(await (await createTransport(options(postfix))).verify(), true);
      await assert.rejects(
        (await createTransport(options(postfix, "wrong"))).verify(),
        (e: unknown) =>
          e instanceof SmtpAuthError && e.code === 535 && e.exitCode === 77 &&
          !e.message.includes("wrong") && !e.details.join("\n").includes("wrong"),
      );
    });
  },
});
