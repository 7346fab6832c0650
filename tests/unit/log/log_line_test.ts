import assert from "node:assert/strict";
import { formatLogLine, sanitize } from "../../../lib/log/log_line.ts";
import { ExitCode } from "../../../lib/exit.ts";

Deno.test("formatLogLine() writes a success line with mailsize and the final reply", () => {
  assert.equal(
    formatLogLine({
      host: "127.0.0.1",
      tls: false,
      auth: false,
      from: "sender@example.com",
      recipients: ["rcpt@example.org"],
      mailsize: 196,
      reply: { code: 250, raw: ["250 2.0.0 Ok: queued as ABC123"] },
      exitCode: ExitCode.OK,
    }),
    "host=127.0.0.1 tls=off auth=off from=sender@example.com recipients=rcpt@example.org " +
      "mailsize=196 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as ABC123' exitcode=EX_OK",
  );
});

Deno.test("formatLogLine() names the user only when auth is on, and omits mailsize on failure", () => {
  assert.equal(
    formatLogLine({
      host: "127.0.0.1",
      tls: false,
      auth: true,
      user: "alice",
      from: "sender@example.com",
      recipients: ["rcpt@example.org"],
      mailsize: 10,
      reply: { code: 535, raw: ["535 5.7.8 Error: authentication failed: bad credentials"] },
      error: "authentication failed (method PLAIN)",
      exitCode: ExitCode.NOPERM,
    }),
    "host=127.0.0.1 tls=off auth=on user=alice from=sender@example.com " +
      "recipients=rcpt@example.org smtpstatus=535 " +
      "smtpmsg='535 5.7.8 Error: authentication failed: bad credentials' " +
      "errormsg='authentication failed (method PLAIN)' exitcode=EX_NOPERM",
  );
  assert.ok(
    !formatLogLine({
      host: "h",
      tls: false,
      auth: false,
      user: "alice",
      from: "",
      recipients: ["a"],
      exitCode: 0,
    }).includes("user="),
  );
});

Deno.test("formatLogLine() joins multi-line replies with a literal \\n and hides quotes", () => {
  const line = formatLogLine({
    host: "h",
    tls: true,
    auth: false,
    from: "a@b",
    recipients: ["x@y", "z@w"],
    reply: { code: 451, raw: ["451-it's", "451 busy\tnow"] },
    error: "the server didn't accept the mail",
    exitCode: ExitCode.UNAVAILABLE,
  });
  assert.equal(
    line,
    "host=h tls=on auth=off from=a@b recipients=x@y,z@w smtpstatus=451 " +
      "smtpmsg='451-it?s\\n451 busy?now' errormsg='the server didn?t accept the mail' " +
      "exitcode=EX_UNAVAILABLE",
  );
});

Deno.test("formatLogLine() writes socket= when a unix socket replaces the host", () => {
  assert.match(
    formatLogLine({
      host: undefined,
      socket: "/run/smtp.sock",
      tls: false,
      auth: false,
      from: "",
      recipients: ["r"],
      exitCode: ExitCode.TEMPFAIL,
      error: "x",
    }),
    /^socket=\/run\/smtp\.sock tls=off auth=off from= recipients=r errormsg='x' exitcode=EX_TEMPFAIL$/,
  );
});

Deno.test("sanitize() replaces control characters with ?", () => {
  assert.equal(sanitize("a\r\nb\u007f"), "a??b?");
});
