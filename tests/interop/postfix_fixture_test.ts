/**
 * Proves the private Postfix fixture with Debian's msmtp: mail sent over plain SMTP and over
 * STARTTLS arrives in the fixture's mail store unchanged.
 */

import assert from "node:assert/strict";
import { haveMsmtp, run } from "../support/differential.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";

const unavailable = postfixUnavailable() ?? (haveMsmtp() ? undefined : "msmtp is not installed");
if (unavailable) console.warn(`skipping the Postfix fixture tests: ${unavailable}`);

function message(subject: string): string {
  return [
    "From: Sender <sender@example.org>",
    "To: User <user@postie.test>",
    `Subject: ${subject}`,
    "Date: Mon, 02 Jun 2025 10:00:00 +0000",
    `Message-ID: <${crypto.randomUUID()}@example.org>`,
    "",
    "Hello from the fixture test.",
    "A line with trailing spaces   ",
    ".A line starting with a dot",
    "",
  ].join("\n");
}

function msmtpArgs(port: number, extra: string[], to = "user@postie.test"): string[] {
  return [
    "--host=127.0.0.1",
    `--port=${port}`,
    "--auth=off",
    "--from=sender@example.org",
    ...extra,
    "--",
    to,
  ];
}

Deno.test({
  name: "msmtp delivers over plain SMTP to the fixture, which returns the message unchanged",
  ignore: unavailable !== undefined,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    try {
      const sent = message("plain");
      const result = await run("msmtp", msmtpArgs(postfix.port, ["--tls=off"]), { stdin: sent });
      assert.equal(result.code, 0, result.stderr);
      const [raw, ...more] = await postfix.mailbox("user@postie.test");
      assert.deepEqual(more, []);
      assert.match(raw, /^Return-Path: <sender@example\.org>\n/);
      assert.match(raw, /^Delivered-To: user@postie\.test$/m);
      assert.equal(stripTraceHeaders(raw), sent);
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "msmtp delivers over STARTTLS trusting the fixture's test CA",
  ignore: unavailable !== undefined,
  async fn() {
    const postfix = await startPostfix({ tls: true });
    try {
      const sent = message("starttls");
      const result = await run(
        "msmtp",
        msmtpArgs(postfix.port, [
          "--tls=on",
          "--tls-starttls=on",
          `--tls-trust-file=${postfix.caFile}`,
        ]),
        { stdin: sent },
      );
      assert.equal(result.code, 0, result.stderr);
      const [raw] = await postfix.mailbox("USER@postie.test");
      assert.equal(stripTraceHeaders(raw), sent);
      assert.match(await postfix.log(), /TLS connection established from/);
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "the fixture refuses rejected@ permanently and deferred@ temporarily",
  ignore: unavailable !== undefined,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    try {
      for (
        const [to, code] of [["rejected@postie.test", /550/], [
          "deferred@postie.test",
          /451/,
        ]] as const
      ) {
        const result = await run("msmtp", msmtpArgs(postfix.port, ["--tls=off"], to), {
          stdin: message(to),
        });
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, code);
      }
      assert.deepEqual(await postfix.mailbox("rejected@postie.test", { count: 0 }), []);
    } finally {
      await postfix.stop();
    }
  },
});
