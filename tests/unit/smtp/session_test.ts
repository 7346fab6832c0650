import assert from "node:assert/strict";
import { listenScriptedPeer, ScriptedPeer } from "../../support/scripted_peer.ts";
import { type Authenticator, SmtpSession } from "../../../lib/smtp/session.ts";
import {
  LmtpDeliveryError,
  SmtpAuthError,
  SmtpCommandError,
  SmtpError,
  SmtpIoError,
  SmtpProtocolError,
  SmtpReplyError,
  SmtpUnsupportedError,
} from "../../../lib/smtp/errors.ts";
import type { TlsOptions } from "../../../lib/net/transport.ts";

const enc = new TextEncoder();

function body(...chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => enc.encode(c)));
}

const TLS: TlsOptions = {
  hostname: "mail.example",
  trustFile: "system",
  certcheck: true,
  fingerprint: null,
  certFile: null,
  keyFile: null,
};

const MAIL = { from: "sender@example.com", recipients: ["rcpt@example.org"] };

async function ready(peer: ScriptedPeer, debug?: string[]): Promise<SmtpSession> {
  const session = new SmtpSession(peer.client, debug ? { debug: (l) => debug.push(l) } : {});
  await session.greet();
  await session.ehlo("localhost");
  return session;
}

async function rejects(
  promise: Promise<unknown>,
  check: { type?: unknown; message: string; exitCode: number; stage?: string; details?: string[] },
): Promise<SmtpError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SmtpError, `expected an SmtpError, got ${caught}`);
  if (check.type) assert.ok(caught instanceof (check.type as typeof SmtpError));
  assert.equal(caught.message, check.message);
  assert.equal(caught.exitCode, check.exitCode);
  if (check.stage) assert.equal(caught.stage, check.stage);
  if (check.details) assert.deepEqual(caught.details, check.details);
  return caught;
}

Deno.test("a plain send speaks msmtp's dialogue and returns the final reply for the log", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  const result = await session.send(MAIL, body("Subject: t\r\n\r\nHello\r\n..dot\r\n"));
  await session.quit();
  session.close();
  assert.deepEqual(peer.commands, [
    "EHLO localhost",
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<rcpt@example.org>",
    "DATA",
    ".",
    "QUIT",
  ]);
  assert.equal(peer.data, "Subject: t\r\n\r\nHello\r\n..dot\r\n");
  assert.deepEqual(result.reply?.raw, ["250 2.0.0 Ok: queued as ABC123"]);
  assert.equal(result.dataBytes, 28);
  assert.equal(peer.closed, true);
});

Deno.test("with PIPELINING, MAIL, every RCPT and DATA go out in one write before any reply", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const session = await ready(peer);
  peer.hold();
  const writesBefore = peer.writes.length;
  const sending = session.send(
    { from: "a@x.example", recipients: ["b@y.example", "c@y.example"] },
    body("x\r\n"),
  );
  await peer.waitForWrites(writesBefore + 1);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(peer.writes.length, writesBefore + 1);
  assert.equal(
    peer.writes.at(-1),
    "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n",
  );
  peer.release();
  await sending;
  assert.equal(peer.data, "x\r\n");
});

Deno.test("without PIPELINING each command waits for its reply", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  peer.hold();
  const start = peer.writes.length;
  const sending = session.send(
    { from: "a@x.example", recipients: ["b@y.example", "c@y.example"] },
    body("x\r\n"),
  );
  for (
    const expected of [
      "MAIL FROM:<a@x.example>",
      "RCPT TO:<b@y.example>",
      "RCPT TO:<c@y.example>",
      "DATA",
    ]
  ) {
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(peer.writes.at(-1), expected + "\r\n");
    peer.release();
    peer.hold();
  }
  peer.release();
  await sending;
  assert.equal(
    peer.writes.slice(start, start + 4).join(""),
    [
      "MAIL FROM:<a@x.example>\r\n",
      "RCPT TO:<b@y.example>\r\n",
      "RCPT TO:<c@y.example>\r\n",
      "DATA\r\n",
    ].join(""),
  );
});

Deno.test("pipelined batches never hold more than the limit of commands", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const session = new SmtpSession(peer.client, { pipelineLimit: 100 });
  await session.greet();
  await session.ehlo("localhost");
  const recipients = Array.from({ length: 250 }, (_, i) => `r${i}@example.org`);
  const start = peer.writes.length;
  await session.send({ from: "a@example.org", recipients }, body("x\r\n"));
  const batches = peer.writes.slice(start).filter((w) =>
    w.includes("RCPT") || w.startsWith("MAIL")
  );
  const sizes = batches.map((w) => w.split("\r\n").length - 1);
  assert.deepEqual(sizes, [100, 100, 52]);
  assert.ok(peer.writes.slice(start)[2].endsWith("DATA\r\n"));
});

Deno.test("a rejected recipient aborts the mail: 5xx is EX_DATAERR, 4xx EX_UNAVAILABLE", async () => {
  for (
    const [reply, code] of [["550 5.1.1 <reject@example.org>: User unknown", 65], [
      "450 4.2.0 Greylisted",
      69,
    ]] as const
  ) {
    const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
    peer.on("RCPT", "250 2.1.5 Ok", reply);
    const session = await ready(peer);
    const e = await rejects(
      session.send(
        { from: "a@x.example", recipients: ["good@example.org", "reject@example.org"] },
        body("x\r\n"),
      ),
      {
        type: SmtpReplyError,
        message: "recipient address reject@example.org not accepted by the server",
        exitCode: code,
        stage: "rcpt",
        details: [`server message: ${reply}`],
      },
    );
    assert.equal(e.quitAllowed, false);
    assert.equal(peer.data, "");
    assert.ok(!peer.commands.includes("."));
  }
});

Deno.test("a rejected envelope sender gives msmtp's message and code", async () => {
  const peer = new ScriptedPeer();
  peer.on("MAIL", "553 5.7.1 <badfrom@example.com>: Sender address rejected: not owned by user");
  const session = await ready(peer);
  const e = await rejects(
    session.send({ from: "badfrom@example.com", recipients: ["r@x.example"] }, body()),
    {
      message: "envelope from address badfrom@example.com not accepted by the server",
      exitCode: 65,
      stage: "mail",
    },
  );
  assert.equal(e.code, 553);
  assert.equal(e.enhancedCode, "5.7.1");
  assert.deepEqual(peer.commands.slice(-1), ["MAIL FROM:<badfrom@example.com>"]);
});

Deno.test("DATA not answered with 354 is 'the server does not accept mail data'", async () => {
  const peer = new ScriptedPeer();
  peer.on("DATA", "554 5.5.1 Error: no valid recipients");
  const session = await ready(peer);
  await rejects(session.send(MAIL, body("x\r\n")), {
    message: "the server does not accept mail data",
    exitCode: 65,
    stage: "data",
  });
});

Deno.test("any reply but 250 after the data is 'the server did not accept the mail' (69)", async () => {
  for (const reply of ["554 5.7.1 Message rejected as spam", "451 4.3.0 Temporary local problem"]) {
    const peer = new ScriptedPeer();
    peer.on(".", reply);
    const session = await ready(peer);
    const e = await rejects(session.send(MAIL, body("x\r\n")), {
      message: "the server did not accept the mail",
      exitCode: 69,
      stage: "end-of-data",
      details: [`server message: ${reply}`],
    });
    assert.deepEqual(e.reply?.raw, [reply]);
  }
});

Deno.test("LMTP reads one reply per recipient and reports the refused ones", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  peer.on(".", "250 2.0.0 ok\r\n552 5.2.2 <lmtpbad@example.org> mailbox full\r\n250 2.0.0 ok\r\n");
  const session = new SmtpSession(peer.client);
  await session.greet();
  await session.ehlo("localhost", true);
  assert.equal(peer.commands[0], "LHLO localhost");
  const e = await rejects(
    session.send(
      {
        from: "lmtp@example.com",
        recipients: ["ok@example.org", "lmtpbad@example.org", "ok2@example.org"],
      },
      body("x\r\n"),
    ),
    {
      type: LmtpDeliveryError,
      message: "the server refuses to send the mail to lmtpbad@example.org",
      exitCode: 69,
      details: ["LMTP server message: 552 5.2.2 <lmtpbad@example.org> mailbox full"],
    },
  ) as LmtpDeliveryError;
  assert.deepEqual(e.delivered, ["ok@example.org", "ok2@example.org"]);
  assert.equal(e.reply, undefined);
  assert.equal(e.logMessage, "delivery to one or more recipients failed");
});

Deno.test("LMTP success returns every recipient's reply and no log reply", async () => {
  const peer = new ScriptedPeer();
  peer.on(".", "250 2.0.0 a ok\r\n250 2.0.0 b ok\r\n");
  const session = new SmtpSession(peer.client);
  await session.greet();
  await session.ehlo("localhost", true);
  const result = await session.send({
    from: "f@x.example",
    recipients: ["a@x.example", "b@x.example"],
  }, body("x\r\n"));
  assert.equal(result.reply, undefined);
  assert.deepEqual(result.recipients.map((r) => r.reply.lines[0]), ["2.0.0 a ok", "2.0.0 b ok"]);
});

Deno.test("LHLO refused is 'command LHLO failed'", async () => {
  const peer = new ScriptedPeer();
  peer.on("LHLO", "500 what");
  const session = new SmtpSession(peer.client);
  await session.greet();
  await rejects(session.ehlo("localhost", true), { message: "command LHLO failed", exitCode: 76 });
});

Deno.test("EHLO refused falls back to HELO with no capabilities", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  peer.on("EHLO", "502 5.5.2 Error: command not recognized");
  const session = new SmtpSession(peer.client);
  await session.greet();
  const caps = await session.ehlo("localhost");
  assert.deepEqual(peer.commands, ["EHLO localhost", "HELO localhost"]);
  assert.equal(caps.pipelining, false);
});

Deno.test("EHLO and HELO both refused: 5xx is EX_PROTOCOL, 4xx EX_TEMPFAIL", async () => {
  for (const [reply, code] of [["501 no", 76], ["450 busy", 75]] as const) {
    const peer = new ScriptedPeer();
    peer.on("EHLO", "500 no").on("HELO", reply);
    const session = new SmtpSession(peer.client);
    await session.greet();
    await rejects(session.ehlo("localhost"), {
      message: "SMTP server does not accept EHLO or HELO commands",
      exitCode: code,
      stage: "helo",
      details: [`server message: ${reply}`],
    });
  }
});

Deno.test("EHLO answered 421 is a temporary failure without trying HELO", async () => {
  const peer = new ScriptedPeer();
  peer.on("EHLO", ["421 4.3.2 shutting down", null]);
  const session = new SmtpSession(peer.client);
  await session.greet();
  await rejects(session.ehlo("localhost"), {
    message: "SMTP server does not accept EHLO or HELO commands",
    exitCode: 75,
    stage: "ehlo",
  });
  assert.deepEqual(peer.commands, ["EHLO localhost"]);
});

Deno.test("a greeting other than 220 fails; 4xx gives EX_TEMPFAIL (75), 5xx EX_PROTOCOL", async () => {
  for (const [greeting, code] of [["421 4.3.2 busy", 75], ["554 go away", 76]] as const) {
    const peer = new ScriptedPeer({ greeting });
    const session = new SmtpSession(peer.client);
    await rejects(session.greet(), {
      type: SmtpReplyError,
      message: "cannot get initial OK message from server",
      exitCode: code,
      stage: "greeting",
      details: [`server message: ${greeting}`],
    });
  }
});

Deno.test("a multi-line greeting gives one server message line per reply line", async () => {
  const peer = new ScriptedPeer({ greeting: "554-no\r\n554 really\x07 not\r\n" });
  await rejects(new SmtpSession(peer.client).greet(), {
    message: "cannot get initial OK message from server",
    exitCode: 76,
    details: ["server message: 554-no", "server message: 554 really? not"],
  });
});

Deno.test("a closed connection before the greeting is msmtp's empty reply", async () => {
  const peer = new ScriptedPeer({ greeting: null });
  await rejects(new SmtpSession(peer.client).greet(), {
    type: SmtpProtocolError,
    message: "the server sent an empty reply",
    exitCode: 76,
  });
});

Deno.test("a connection closed mid-reply is msmtp's invalid reply (EX_PROTOCOL)", async () => {
  const peer = new ScriptedPeer();
  peer.on("EHLO", [enc.encode("250-peer.test\r\n250-PIPELI"), null]);
  const session = new SmtpSession(peer.client);
  await session.greet();
  await rejects(session.ehlo("localhost"), {
    type: SmtpProtocolError,
    message: "the server sent an invalid reply",
    exitCode: 76,
    stage: "ehlo",
  });
});

Deno.test("a connection reset mid-reply is msmtp's network read error (EX_IOERR)", async () => {
  const peer = new ScriptedPeer();
  peer.on("MAIL", [
    "250-2.1.0 first half\r\n",
    new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"),
  ]);
  const session = await ready(peer);
  await rejects(session.send(MAIL, body("x\r\n")), {
    type: SmtpIoError,
    message: "network read error: Connection reset by peer",
    exitCode: 74,
    stage: "mail",
  });
});

Deno.test("replies delivered one byte per read are understood", async () => {
  const peer = new ScriptedPeer({ bytewise: true, capabilities: ["PIPELINING", "SIZE 1000"] });
  const session = await ready(peer);
  assert.equal(session.capabilities.size, 1000);
  const result = await session.send(MAIL, body("x\r\n"));
  assert.equal(result.reply?.code, 250);
});

Deno.test("STARTTLS upgrades, repeats EHLO and recomputes the capabilities", async () => {
  const peer = new ScriptedPeer({
    capabilities: ["STARTTLS", "PIPELINING"],
    tlsCapabilities: ["PIPELINING", "AUTH PLAIN"],
  });
  const session = await ready(peer);
  assert.equal(session.capabilities.auth.size, 0);
  const seen: string[] = [];
  const info = await session.startTls(TLS, { onHandshake: (i) => seen.push(i.protocol ?? "") });
  assert.equal(info.protocol, "TLSv1.3");
  assert.deepEqual(seen, ["TLSv1.3"]);
  assert.deepEqual(peer.tlsCalls, [TLS]);
  assert.deepEqual(peer.commands, ["EHLO localhost", "STARTTLS", "EHLO localhost"]);
  assert.deepEqual([...session.capabilities.auth], ["PLAIN"]);
  assert.equal(session.capabilities.starttls, false);
});

Deno.test("bytes injected after the STARTTLS 220 are discarded, never parsed", async () => {
  const peer = new ScriptedPeer({ capabilities: ["STARTTLS"], tlsCapabilities: ["DSN"] });
  // A man in the middle appends a fake EHLO reply in clear text to the 220.
  peer.on("STARTTLS", "220 2.0.0 Ready\r\n250-evil\r\n250 AUTH PLAIN\r\n");
  const session = await ready(peer);
  await session.startTls(TLS);
  assert.equal(session.capabilities.dsn, true);
  assert.equal(session.capabilities.authAdvertised, false);
});

Deno.test("STARTTLS without the capability is refused with msmtp's message (69)", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  const e = await rejects(session.startTls(TLS), {
    type: SmtpUnsupportedError,
    message: "the server does not support TLS via the STARTTLS command",
    exitCode: 69,
  });
  assert.equal(e.quitAllowed, true);
  assert.deepEqual(peer.tlsCalls, []);
});

Deno.test("STARTTLS answered with 454 is a temporary failure, 5xx a protocol error", async () => {
  for (const [reply, code] of [["454 4.7.0 TLS not available", 75], ["502 no", 76]] as const) {
    const peer = new ScriptedPeer({ capabilities: ["STARTTLS"] });
    peer.on("STARTTLS", reply);
    const session = await ready(peer);
    await rejects(session.startTls(TLS), { message: "command STARTTLS failed", exitCode: code });
  }
});

Deno.test("DSN parameters need the DSN capability", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  await rejects(
    session.send({ ...MAIL, dsn: { notify: "FAILURE,DELAY", ret: "HDRS" } }, body("x\r\n")),
    { type: SmtpUnsupportedError, message: "the server does not support DSN", exitCode: 69 },
  );
  assert.deepEqual(peer.commands, ["EHLO localhost"]);
});

Deno.test("DSN parameters go on MAIL and RCPT when the server offers DSN", async () => {
  const peer = new ScriptedPeer({ capabilities: ["DSN"] });
  const session = await ready(peer);
  await session.send({ ...MAIL, dsn: { notify: "FAILURE,DELAY", ret: "HDRS" } }, body("x\r\n"));
  assert.deepEqual(peer.commands.slice(1, 3), [
    "MAIL FROM:<sender@example.com> RET=HDRS",
    "RCPT TO:<rcpt@example.org> NOTIFY=FAILURE,DELAY",
  ]);
});

Deno.test("a relay client's DSN parameters (optional) go out where the server offers DSN and are left out where not", async () => {
  const dsn = {
    notify: null,
    ret: "HDRS" as const,
    envid: "id+1",
    recipients: { "rcpt@example.org": { notify: "NEVER", orcpt: "rfc822;old=1@example.org" } },
    optional: true,
  };
  const offered = new ScriptedPeer({ capabilities: ["DSN"] });
  await (await ready(offered)).send({ ...MAIL, dsn }, body("x\r\n"));
  assert.deepEqual(offered.commands.slice(1, 3), [
    "MAIL FROM:<sender@example.com> RET=HDRS ENVID=id+2B1",
    "RCPT TO:<rcpt@example.org> NOTIFY=NEVER ORCPT=rfc822;old+3D1@example.org",
  ]);
  const lacking = new ScriptedPeer();
  await (await ready(lacking)).send({ ...MAIL, dsn }, body("x\r\n"));
  assert.deepEqual(lacking.commands.slice(1, 3), [
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<rcpt@example.org>",
  ]);
  // not optional (an account's own): the server must offer DSN
  const strict = new ScriptedPeer();
  await rejects(
    (await ready(strict)).send({ ...MAIL, dsn: { ...dsn, optional: false } }, body("x\r\n")),
    {
      type: SmtpUnsupportedError,
      message: "the server does not support DSN",
      exitCode: 69,
    },
  );
});

Deno.test("an address with CRLF never reaches the wire", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const session = await ready(peer);
  const before = peer.written;
  await rejects(
    session.send(
      { from: "a@x.example", recipients: ["b@y.example", "c@y\r\nRCPT TO:<evil@z>"] },
      body(),
    ),
    {
      type: SmtpCommandError,
      message: "invalid recipient address c@y??RCPT TO:<evil@z>: it contains a control character",
      exitCode: 65,
    },
  );
  assert.equal(peer.written, before);
});

Deno.test("the null sender and SMTPUTF8 reach the wire as msmtp 1.8.28 sends them", async () => {
  const peer = new ScriptedPeer({ capabilities: ["SMTPUTF8"] });
  const session = await ready(peer);
  await session.send({ from: "MAILER-DAEMON", recipients: ["jörg@example.de"] }, body("x\r\n"));
  assert.equal(peer.commands[1], "MAIL FROM:<> SMTPUTF8");
});

Deno.test("data without a final CRLF still ends with the dot on its own line", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  await session.send(MAIL, body("no newline"));
  assert.ok(peer.written.endsWith("no newline\r\n.\r\n"));
});

Deno.test("the debug transcript shows msmtp's lines, data included", async () => {
  const debug: string[] = [];
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const session = await ready(peer, debug);
  await session.send(MAIL, body("Subject: x\r\n", "\r\nbo", "dy\r\n"));
  await session.quit();
  assert.deepEqual(debug, [
    "<-- 220 peer.test ESMTP ready\r\n",
    "--> EHLO localhost\r\n",
    "<-- 250-peer.test\r\n",
    "<-- 250 PIPELINING\r\n",
    "--> MAIL FROM:<sender@example.com>\r\n",
    "--> RCPT TO:<rcpt@example.org>\r\n",
    "--> DATA\r\n",
    "<-- 250 2.1.0 Ok\r\n",
    "<-- 250 2.1.5 Ok\r\n",
    "<-- 354 End data with <CR><LF>.<CR><LF>\r\n",
    "--> Subject: x\r\n",
    "--> \r\n",
    "--> body\r\n",
    "--> .\r\n",
    "<-- 250 2.0.0 Ok: queued as ABC123\r\n",
    "--> QUIT\r\n",
    "<-- 221 2.0.0 Bye\r\n",
  ]);
});

function plain(user: string, password: string): Authenticator {
  return {
    mechanism: "PLAIN",
    initialResponse: () => enc.encode(`\0${user}\0${password}`),
    onChallenge: () => new Uint8Array(),
  };
}

Deno.test("AUTH sends the initial response but the transcript masks it", async () => {
  const debug: string[] = [];
  const peer = new ScriptedPeer({ capabilities: ["AUTH PLAIN LOGIN"] });
  const session = await ready(peer, debug);
  const reply = await session.authenticate(plain("alice", "secret"));
  assert.equal(reply.code, 235);
  assert.equal(peer.commands.at(-1), "AUTH PLAIN AGFsaWNlAHNlY3JldA==");
  assert.ok(debug.includes("--> AUTH PLAIN ***\r\n"));
  assert.ok(!debug.join("").includes("AGFsaWNlAHNlY3JldA=="));
});

Deno.test("AUTH challenges are decoded, answered in base64 and masked", async () => {
  const debug: string[] = [];
  const peer = new ScriptedPeer({ capabilities: ["AUTH LOGIN"] });
  peer.on("AUTH", "334 VXNlcm5hbWU6").on("SASL", "334 UGFzc3dvcmQ6", "235 2.7.0 ok");
  const session = await ready(peer, debug);
  const challenges: string[] = [];
  await session.authenticate({
    mechanism: "LOGIN",
    initialResponse: () => null,
    onChallenge: (c) => {
      const text = new TextDecoder().decode(c);
      challenges.push(text);
      return enc.encode(text === "Username:" ? "alice" : "secret");
    },
  });
  assert.deepEqual(challenges, ["Username:", "Password:"]);
  assert.deepEqual(peer.commands.slice(-3), ["AUTH LOGIN", "YWxpY2U=", "c2VjcmV0"]);
  assert.deepEqual(debug.filter((l) => l.startsWith("-->")).slice(-3), [
    "--> AUTH LOGIN\r\n",
    "--> ***\r\n",
    "--> ***\r\n",
  ]);
});

Deno.test("an AUTH refusal is 'authentication failed (method X)' with EX_NOPERM", async () => {
  for (
    const reply of ["535 5.7.8 Error: authentication failed: bad credentials", "504 5.5.4 nope"]
  ) {
    const peer = new ScriptedPeer({ capabilities: ["AUTH PLAIN"] });
    peer.on("AUTH", reply);
    const session = await ready(peer);
    await rejects(session.authenticate(plain("alice", "wrong")), {
      type: SmtpAuthError,
      message: "authentication failed (method PLAIN)",
      exitCode: 77,
      stage: "auth",
      details: [`server message: ${reply}`],
    });
  }
});

Deno.test("AUTH needs the capability and the chosen method", async () => {
  const none = new ScriptedPeer();
  await rejects((await ready(none)).authenticate(plain("a", "b")), {
    message: "the server does not support authentication",
    exitCode: 69,
  });
  const other = new ScriptedPeer({ capabilities: ["AUTH PLAIN"] });
  await rejects(
    (await ready(other)).authenticate({ ...plain("a", "b"), mechanism: "SCRAM-SHA-256" }),
    { message: "the server does not support authentication method SCRAM-SHA-256", exitCode: 69 },
  );
  assert.equal(other.commands.length, 1);
});

Deno.test("an invalid base64 challenge is a protocol error", async () => {
  const peer = new ScriptedPeer({ capabilities: ["AUTH CRAM-MD5"] });
  peer.on("AUTH", "334 !!!notbase64");
  const session = await ready(peer);
  await rejects(
    session.authenticate({
      mechanism: "CRAM-MD5",
      initialResponse: () => null,
      onChallenge: () => new Uint8Array(),
    }),
    { message: "authentication method CRAM-MD5: server sent invalid challenge", exitCode: 76 },
  );
});

Deno.test("ETRN follows msmtp's --rmqs rules", async () => {
  const cases = [
    ["250 Queuing started", undefined, undefined],
    ["253 OK, 3 pending messages", undefined, undefined],
    ["459 4.7.1 Node @bad.example not allowed", "the server is unable to fulfill the request", 69],
    ["501 5.5.4 Syntax", "invalid argument for Remote Message Queue Starting", 65],
    ["502 no", "command ETRN failed", 76],
  ] as const;
  for (const [reply, message, code] of cases) {
    const peer = new ScriptedPeer({ capabilities: ["ETRN"] });
    peer.on("ETRN", reply);
    const session = await ready(peer);
    if (message === undefined) {
      assert.equal((await session.etrn("@example.com")).raw[0], reply);
    } else {
      await rejects(session.etrn("@example.com"), { message, exitCode: code!, stage: "etrn" });
    }
    assert.equal(peer.commands.at(-1), "ETRN @example.com");
  }
});

Deno.test("ETRN without the capability is refused before anything is sent", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  await rejects(session.etrn("host.example"), {
    message: "the server does not support Remote Message Queue Starting",
    exitCode: 69,
  });
  assert.deepEqual(peer.commands, ["EHLO localhost"]);
});

Deno.test("QUIT never fails, whatever the server does", async () => {
  const peer = new ScriptedPeer();
  peer.on("QUIT", [null]);
  const session = await ready(peer);
  assert.equal(await session.quit(), undefined);
});

Deno.test("a write to a closed connection is a network write error", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  peer.client.close();
  await rejects(session.send(MAIL, body("x\r\n")), {
    type: SmtpIoError,
    message: "network write error: Broken pipe",
    exitCode: 74,
  });
});

Deno.test("the scripted peer also serves a session over a real TCP socket", async () => {
  const server = listenScriptedPeer({ capabilities: ["PIPELINING"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const buffer = new Uint8Array(4096);
  const transport = {
    tls: false,
    read: async () => {
      const n = await conn.read(buffer);
      return n === null ? null : buffer.slice(0, n);
    },
    write: async (data: Uint8Array) => {
      for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
    },
    startTls: () => Promise.reject(new Error("no TLS here")),
    close: () => conn.close(),
  };
  const session = new SmtpSession(transport);
  await session.greet();
  await session.ehlo("localhost");
  const result = await session.send(MAIL, body("hi\r\n"));
  await session.quit();
  session.close();
  await server.close();
  assert.equal(result.reply?.code, 250);
  assert.deepEqual(server.peers[0].commands.slice(1, 4), [
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<rcpt@example.org>",
    "DATA",
  ]);
  assert.equal(server.peers[0].data, "hi\r\n");
});

const NEXT = { from: "sender@example.com", recipients: ["second@example.org"] };

Deno.test("with `next`, the next mail's RSET, MAIL, RCPT and DATA go out in the write of the dot; its send only reads their replies", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const debug: string[] = [];
  const session = await ready(peer, debug);
  const start = peer.writes.length;
  const first = await session.send(MAIL, body("one\r\n"), { next: NEXT });
  assert.equal(first.reply?.code, 250);
  assert.deepEqual(peer.writes.slice(start), [
    "MAIL FROM:<sender@example.com>\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\n",
    "one\r\n.\r\nRSET\r\nMAIL FROM:<sender@example.com>\r\nRCPT TO:<second@example.org>\r\nDATA\r\n",
  ]);
  const second = await session.send(NEXT, enc.encode("two\r\n"));
  assert.deepEqual(second.accepted, ["second@example.org"]);
  assert.equal(peer.writes.at(-1), "two\r\n.\r\n");
  await session.quit();
  assert.deepEqual(peer.commands.slice(1), [
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<rcpt@example.org>",
    "DATA",
    ".",
    "RSET",
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<second@example.org>",
    "DATA",
    ".",
    "QUIT",
  ]);
  assert.equal(peer.data, "one\r\ntwo\r\n");
  // the transcript shows the commands in the order they went out
  const sent = debug.filter((l) => l.startsWith("--> ") && !/^--> (one|two)/.test(l));
  assert.deepEqual(sent.slice(-7), [
    "--> .\r\n",
    "--> RSET\r\n",
    "--> MAIL FROM:<sender@example.com>\r\n",
    "--> RCPT TO:<second@example.org>\r\n",
    "--> DATA\r\n",
    "--> .\r\n",
    "--> QUIT\r\n",
  ]);
});

Deno.test("with `next` after a mail refused at the end of data, the next mail still starts with the RSET sent in front of it", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  peer.on(".", "554 5.7.1 rejected as spam");
  const session = await ready(peer);
  await assert.rejects(
    session.send(MAIL, body("spam\r\n"), { next: NEXT }),
    (e: unknown) => e instanceof SmtpReplyError && e.stage === "end-of-data" && e.code === 554,
  );
  const second = await session.send(NEXT, enc.encode("ham\r\n"));
  assert.equal(second.reply?.code, 250);
  assert.deepEqual(peer.commands.slice(1), [
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<rcpt@example.org>",
    "DATA",
    ".",
    "RSET",
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<second@example.org>",
    "DATA",
    ".",
  ]);
});

Deno.test("after an envelope refused at MAIL, the replies still due are read before the next mail, which starts with RSET in its first write", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  peer.on("MAIL", "550 5.7.1 sender refused");
  peer.on("RCPT", "503 5.5.1 Error: need MAIL command");
  peer.on("DATA", "503 5.5.1 Error: need RCPT command");
  const session = await ready(peer);
  await assert.rejects(
    session.send(MAIL, body("x\r\n")),
    (e: unknown) => e instanceof SmtpReplyError && e.stage === "mail" && e.code === 550,
  );
  const start = peer.writes.length;
  const second = await session.send(NEXT, body("y\r\n"), { reset: true });
  assert.equal(second.reply?.code, 250);
  assert.equal(
    peer.writes[start],
    "RSET\r\nMAIL FROM:<sender@example.com>\r\nRCPT TO:<second@example.org>\r\nDATA\r\n",
  );
  assert.equal(peer.data, "y\r\n");
});

Deno.test("after a refused recipient whose DATA got 354 anyway, a mail with accepted recipients is never ended with an empty dot: the connection closes", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  peer.on("RCPT", "250 2.1.5 Ok", "550 5.1.1 no such user");
  const session = await ready(peer);
  await assert.rejects(
    session.send(
      { from: "a@example.com", recipients: ["ok@example.org", "bad@example.org"] },
      body("x\r\n"),
    ),
    (e: unknown) => e instanceof SmtpReplyError && e.stage === "rcpt" && e.code === 550,
  );
  await assert.rejects(
    session.send(NEXT, body("y\r\n"), { reset: true }),
    (e: unknown) => e instanceof SmtpIoError && /network write error/.test(e.message),
  );
  assert.ok(peer.closed);
  assert.ok(!peer.commands.includes("."));
  assert.equal(peer.data, "");
});

Deno.test("without PIPELINING, `next` is ignored and `reset` sends RSET alone first", async () => {
  const peer = new ScriptedPeer();
  const session = await ready(peer);
  await session.send(MAIL, body("one\r\n"), { next: NEXT });
  await session.send(NEXT, body("two\r\n"), { reset: true });
  assert.deepEqual(peer.commands.slice(1), [
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<rcpt@example.org>",
    "DATA",
    ".",
    "RSET",
    "MAIL FROM:<sender@example.com>",
    "RCPT TO:<second@example.org>",
    "DATA",
    ".",
  ]);
  assert.ok(peer.writes.includes("RSET\r\n"));
});

Deno.test("after `next`, quit() sends no QUIT (the server may be waiting for data) and another envelope closes the connection", async () => {
  const peer = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const session = await ready(peer);
  await session.send(MAIL, body("one\r\n"), { next: NEXT });
  await assert.rejects(
    session.send(MAIL, body("other\r\n")),
    (e: unknown) => e instanceof SmtpIoError && e.stage === "rset",
  );
  assert.ok(peer.closed);
  const peer2 = new ScriptedPeer({ capabilities: ["PIPELINING"] });
  const session2 = await ready(peer2);
  await session2.send(MAIL, body("one\r\n"), { next: NEXT });
  await session2.quit();
  assert.ok(!peer2.commands.includes("QUIT"));
  assert.equal(peer2.data, "one\r\n");
});
