/**
 * postie against a real Postfix on loopback: mails piped into the command line arrive in
 * Postfix's mail store byte for byte (after Postfix's own trace headers), over plain SMTP
 * and over STARTTLS verified with the test CA; refusals end with msmtp's exit codes.
 */

import assert from "node:assert/strict";
import { runPostie } from "../support/differential.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";

const ignore = postfixUnavailable() !== undefined;

function message(subject: string, lineEnd = "\n"): string {
  return [
    "From: Sender <sender@example.org>",
    "To: User <user@postie.test>",
    `Subject: ${subject}`,
    "Date: Mon, 02 Jun 2025 10:00:00 +0000",
    `Message-ID: <${crypto.randomUUID()}@example.org>`,
    "",
    "Hello from postie.",
    "A line with trailing spaces   ",
    ".A line starting with a dot",
    "..Two dots",
    "8-bit: gr\u00fc\u00dfe",
    "",
  ].join(lineEnd);
}

function args(port: number, extra: string[], to = "user@postie.test"): string[] {
  return ["--host=127.0.0.1", `--port=${port}`, "-f", "sender@example.org", ...extra, "--", to];
}

Deno.test({
  name: "a mail sent over plain SMTP arrives in Postfix unchanged",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    try {
      const mail = message("plain");
      const result = await runPostie(args(postfix.port, []), { stdin: mail });
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      const [delivered] = await postfix.mailbox("user@postie.test");
      assert.equal(stripTraceHeaders(delivered), mail);
      assert.match(delivered, /^Return-Path: <sender@example\.org>/);
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "a CRLF mail sent with STARTTLS and the test CA arrives in Postfix unchanged",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: true });
    try {
      const mail = message("starttls", "\r\n");
      const result = await runPostie(
        args(postfix.port, ["--tls", `--tls-trust-file=${postfix.caFile}`, "-t"]),
        { stdin: mail },
      );
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      const [delivered] = await postfix.mailbox("user@postie.test");
      assert.equal(stripTraceHeaders(delivered), mail.replaceAll("\r\n", "\n"));
      assert.match(await postfix.log(), /TLS connection established/);
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "Postfix refusing a recipient gives 65 and delivers nothing",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    try {
      // one recipient Postfix takes, one it refuses: as in msmtp, the refusal stops the mail
      // for both, so the accepted one's mailbox must stay empty
      const result = await runPostie(
        [...args(postfix.port, [], "user@postie.test"), "rejected@postie.test"],
        { stdin: message("refused") },
      );
      assert.equal(result.code, 65);
      assert.match(
        result.stderr,
        /^postie: recipient address rejected@postie\.test not accepted by the server\npostie: server message: 550 5\.1\.1 /,
      );
      assert.match(result.stderr, /postie: could not send mail\n$/);
      assert.deepEqual(await postfix.mailbox("user@postie.test", { count: 0 }), []);
      assert.deepEqual(await postfix.mailbox("rejected@postie.test", { count: 0 }), []);
      assert.doesNotMatch(await postfix.log(), /status=sent/);
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "Postfix deferring a recipient gives 69",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    try {
      const result = await runPostie(args(postfix.port, [], "deferred@postie.test"), {
        stdin: message("deferred"),
      });
      assert.equal(result.code, 69);
      assert.match(result.stderr, /server message: 451 4\.3\.0 /);
    } finally {
      await postfix.stop();
    }
  },
});
