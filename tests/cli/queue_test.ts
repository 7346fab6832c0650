/**
 * The queue through the real command line (the built postie) against a capture server on
 * loopback: fallback and always, -q, -bp/mailq/--json, --queue-delete, retries, bounces
 * parsed by Python's email package, expiry, the null sender, failover, the daemon, corrupt
 * and unreadable entries.
 */

import assert from "node:assert/strict";
import { type CaptureServer, startCaptureServer } from "../../scripts/capture_server.ts";
import { startFaultServer } from "../support/fault_server.ts";
import { POSTIE, runPostie } from "../support/differential.ts";
import { runQueue } from "../../lib/mod.ts";
import { delay, freePort } from "../support/process.ts";
import { onTheWire, queueSetup, testMail } from "../support/queue.ts";
import { asNobody, IS_ROOT, NOBODY } from "../support/nobody.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";

const decoder = new TextDecoder();

function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** All mails the server accepted, over every session. */
function mails(server: CaptureServer) {
  return server.sessions.flatMap((s) => s.mails);
}

/** Parses a mail with Python's email package (policy.default): its DSN structure. */
async function pythonDsn(mail: Uint8Array): Promise<{
  type: string;
  report_type: string;
  parts: string[];
  recipients: string[];
  statuses: string[];
  actions: string[];
  headers: string;
}> {
  const script = `
import sys, json, email
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
parts = list(msg.iter_parts())
groups = parts[1].get_payload()[1:]
print(json.dumps({
  "type": msg.get_content_type(),
  "report_type": msg.get_param("report-type"),
  "parts": [p.get_content_type() for p in parts],
  "recipients": [g["Final-Recipient"] for g in groups],
  "statuses": [g["Status"] for g in groups],
  "actions": [g["Action"] for g in groups],
  "headers": parts[2].get_content(),
}))
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(mail);
  await w.close();
  const out = await child.output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  return JSON.parse(decoder.decode(out.stdout));
}

Deno.test("queue fallback: a server that is down queues the mail, exits 0, and mailq lists it; -q then delivers it byte for byte", async () => {
  const q = await queueSetup({ port: freePort() });
  const server = startCaptureServer();
  try {
    const mail = testMail("fallback one");
    const sent = await q.postie(["rcpt@example.net"], mail);
    assert.equal(sent.stderr, "");
    assert.equal(sent.code, 0);
    assert.equal(q.ids().length, 1);

    const listed = await q.postie(["-bp"]);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /<sender@example\.org>/);
    assert.match(listed.stdout, /to <rcpt@example\.net>/);
    assert.match(
      listed.stdout,
      /last error: cannot connect to 127\.0\.0\.1, port \d+: Connection refused/,
    );
    const json = JSON.parse((await q.postie(["-bp", "--json"])).stdout);
    assert.equal(json.count, 1);
    assert.equal(json.entries[0].attempts, 1);
    assert.deepEqual(json.entries[0].recipients, ["rcpt@example.net"]);
    assert.equal(json.entries[0].size > 0, true);
    // the mailq name lists the same queue
    const link = `${q.dir}/mailq`;
    await Deno.symlink(POSTIE, link);
    const viaLink = new Deno.Command(link, {
      args: ["-C", q.rc, "--json"],
      env: { HOME: q.dir },
      stdout: "piped",
    }).outputSync();
    assert.equal(JSON.parse(text(viaLink.stdout)).entries[0].id, json.entries[0].id);

    await q.write({ port: server.port });
    const flushed = await q.postie(["-q"]);
    assert.equal(flushed.stderr, "");
    assert.equal(flushed.code, 0);
    assert.deepEqual(q.ids(), []);
    const [got] = mails(server);
    assert.equal(got.from, "sender@example.org");
    assert.deepEqual(got.recipients, ["rcpt@example.net"]);
    assert.equal(text(got.data), onTheWire(mail));
    assert.match((await q.postie(["-bp"])).stdout, /^Mail queue is empty/);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("queue fallback with the server up sends at once and leaves nothing queued", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port });
  try {
    const mail = testMail("direct", "\r\n");
    const sent = await q.postie(["rcpt@example.net"], mail);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(q.ids(), []);
    assert.equal(text(mails(server)[0].data), mail);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("a 4xx defers the mail with its reply; the next -q gets 250 and empties the queue", async () => {
  const fault = await startFaultServer({ faults: { dot: "451 4.3.0 try again later" } });
  const q = await queueSetup({ port: fault.port });
  const server = startCaptureServer();
  try {
    const sent = await q.postie(["rcpt@example.net"], testMail("four then two"));
    assert.equal(sent.code, 0, sent.stderr);
    const json = JSON.parse((await q.postie(["-bp", "--json"])).stdout);
    assert.match(json.entries[0].last_error, /451 4\.3\.0 try again later/);
    await q.write({ port: server.port });
    assert.equal((await q.postie(["-q"])).code, 0);
    assert.deepEqual(q.ids(), []);
    assert.equal(mails(server).length, 1);
  } finally {
    await fault.close();
    await server.close();
    await q.cleanup();
  }
});

Deno.test("a 5xx bounces: the sender gets a multipart/report DSN Python parses, naming the refused recipient", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    const queued = await q.postie(["reject@example.net"], testMail("doomed"));
    assert.equal(queued.code, 0, queued.stderr);
    assert.equal(mails(server).length, 0); // always: nothing sent yet
    assert.equal((await q.postie(["-q"])).code, 0);
    assert.deepEqual(q.ids(), []);
    const [bounce] = mails(server);
    assert.equal(bounce.from, "");
    assert.deepEqual(bounce.recipients, ["sender@example.org"]);
    const dsn = await pythonDsn(bounce.data);
    assert.equal(dsn.type, "multipart/report");
    assert.equal(dsn.report_type, "delivery-status");
    assert.deepEqual(dsn.parts, ["text/plain", "message/delivery-status", "text/rfc822-headers"]);
    assert.deepEqual(dsn.recipients, ["rfc822; reject@example.net"]);
    assert.deepEqual(dsn.statuses, ["5.1.1"]);
    assert.deepEqual(dsn.actions, ["failed"]);
    assert.match(dsn.headers, /Subject: doomed/);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("a mail past queue_lifetime bounces without another attempt", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always", extra: ["queue_lifetime 1s"] });
  try {
    assert.equal((await q.postie(["rcpt@example.net"], testMail("too late"))).code, 0);
    await delay(1100);
    assert.equal((await q.postie(["-q"])).code, 0);
    const got = mails(server);
    assert.equal(got.length, 1);
    assert.equal(got[0].from, "");
    const dsn = await pythonDsn(got[0].data);
    assert.deepEqual(dsn.recipients, ["rfc822; rcpt@example.net"]);
    assert.deepEqual(dsn.statuses, ["4.4.7"]);
    assert.deepEqual(q.ids(), []);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("a refused mail from the null sender makes no bounce", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    assert.equal((await q.postie(["-f", "<>", "reject@example.net"], testMail("null"))).code, 0);
    const run = await q.postie(["-q", "-v"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /no notification \(null sender\)/);
    assert.equal(mails(server).length, 0);
    assert.deepEqual(q.ids(), []);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("queue fallback reports a refusal at once in msmtp's words and keeps nothing", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port });
  try {
    const sent = await q.postie(["reject@example.net"], testMail("refused now"));
    assert.equal(sent.code, 65);
    assert.match(sent.stderr, /recipient address reject@example\.net not accepted by the server/);
    assert.deepEqual(q.ids(), []);
    assert.equal(mails(server).length, 0);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("failover: when the account's server is down the next account's server takes the mail in the same run", async () => {
  const backup = startCaptureServer();
  const q = await queueSetup({
    port: freePort(),
    extra: ["failover backup"],
    accounts: [
      "account backup",
      "host 127.0.0.1",
      `port ${backup.port}`,
      "from sender@example.org",
    ],
  });
  try {
    const sent = await q.postie(["rcpt@example.net"], testMail("failover"));
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(q.ids(), []);
    assert.equal(mails(backup).length, 1);
  } finally {
    await backup.close();
    await q.cleanup();
  }
});

Deno.test("--queue-delete removes one entry; an unknown id is an error", async () => {
  const q = await queueSetup({ port: freePort(), queue: "always" });
  try {
    await q.postie(["a@example.net"], testMail("keep"));
    await q.postie(["b@example.net"], testMail("drop"));
    const [first, second] = q.ids();
    const deleted = await q.postie([`--queue-delete=${second}`]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(q.ids(), [first]);
    const again = await q.postie([`--queue-delete=${second}`]);
    assert.equal(again.code, 66);
    assert.match(again.stderr, /no queue entry/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("-qR and -qS run only the matching mails", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    await q.postie(["alice@example.net"], testMail("for alice"));
    await q.postie(["bob@example.net"], testMail("for bob"));
    assert.equal((await q.postie(["-qRbob@"])).code, 0);
    assert.deepEqual(mails(server).map((m) => m.recipients), [["bob@example.net"]]);
    assert.equal((await q.postie(["-qSnobody"])).code, 0);
    assert.equal(q.ids().length, 1);
    assert.equal((await q.postie(["-qSsender@"])).code, 0);
    assert.deepEqual(q.ids(), []);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("-q5m runs as a daemon: a mail queued with queue always goes out at once, and SIGTERM stops it cleanly", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  const daemon = new Deno.Command(POSTIE, {
    args: ["-C", q.rc, "-q5m", "-v"],
    env: { HOME: q.dir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    // the daemon has started when it has made the queue directory
    for (let i = 0; i < 100 && q.ids().length === 0; i++) {
      try {
        Deno.statSync(`${q.queueDir}/mail`);
        break;
      } catch {
        await delay(100);
      }
    }
    await delay(300);
    assert.equal((await q.postie(["rcpt@example.net"], testMail("daemon"))).code, 0);
    for (let i = 0; i < 100 && mails(server).length === 0; i++) await delay(100);
    assert.equal(mails(server).length, 1);
    assert.deepEqual(q.ids(), []);
  } finally {
    daemon.kill("SIGTERM");
    const status = await daemon.output();
    assert.equal(status.code, 0, decoder.decode(status.stderr));
    assert.match(decoder.decode(status.stdout), /queue daemon stopped/);
    await server.close();
    await q.cleanup();
  }
});

Deno.test("a corrupt entry is moved aside with a log line and the other mails still go", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    await q.postie(["a@example.net"], testMail("good one"));
    const bad = "20200101T000000-0badc0de";
    await Deno.writeTextFile(`${q.queueDir}/mail/${bad}`, "garbage without an envelope");
    await q.postie(["b@example.net"], testMail("good two"));
    const listed = await q.postie(["-bp"]);
    assert.match(listed.stdout, new RegExp(`${bad}  unreadable: the envelope line has no end`));
    const run = await q.postie(["-q", "-v"]);
    assert.equal(run.code, 0);
    assert.match(
      run.stdout,
      new RegExp(`queue entry ${bad} is corrupt .*moved to .*/corrupt/${bad}`),
    );
    assert.equal(mails(server).length, 2);
    assert.deepEqual(q.ids(), []);
    assert.ok(Deno.statSync(`${q.queueDir}/corrupt/${bad}`).isFile);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test({
  name: "an entry the runner cannot read is skipped with a log line and the others still go",
  ignore: !IS_ROOT,
  async fn() {
    const server = startCaptureServer();
    const q = await queueSetup({ port: server.port, queue: "always" });
    try {
      await q.postie(["a@example.net"], testMail("readable"));
      await q.postie(["b@example.net"], testMail("root only"));
      const [readable, rootOnly] = q.ids();
      // the queue belongs to nobody; one entry was left behind by root
      await Deno.chmod(q.dir, 0o755);
      for (const sub of ["", "/mail", "/state", "/tmp", "/corrupt"]) {
        await Deno.chown(q.queueDir + sub, NOBODY, NOBODY);
      }
      await Deno.chown(`${q.queueDir}/mail/${readable}`, NOBODY, NOBODY);
      await Deno.chown(q.rc, NOBODY, NOBODY);
      await Deno.chmod(`${q.queueDir}/mail/${rootOnly}`, 0o600);
      const home = `${q.dir}/home`;
      await Deno.mkdir(home);
      await Deno.chown(home, NOBODY, NOBODY);
      const run = await asNobody(POSTIE, ["-C", q.rc, "-q", "-v"], home, "");
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(`cannot read queue entry ${rootOnly}: Permission denied; skipped`),
      );
      assert.deepEqual(mails(server).map((m) => m.recipients[0]), ["a@example.net"]);
      assert.deepEqual(q.ids(), [rootOnly]);
    } finally {
      await server.close();
      await q.cleanup();
    }
  },
});

Deno.test("-q sends every mail of an account over one connection, with RSET between", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    for (const n of [1, 2, 3]) {
      assert.equal((await q.postie([`r${n}@example.net`], testMail(`batch ${n}`))).code, 0);
    }
    assert.equal((await q.postie(["-q"])).code, 0);
    assert.equal(server.sessions.length, 1);
    const commands = server.sessions[0].transcript.filter((l) => l.startsWith("C: "))
      .map((l) => l.slice(3).split(/[ :]/)[0]);
    assert.deepEqual(
      commands.filter((c) => ["MAIL", "RSET", "QUIT"].includes(c)),
      ["MAIL", "RSET", "MAIL", "RSET", "MAIL", "QUIT"],
    );
    assert.deepEqual(server.sessions[0].mails.map((m) => m.recipients), [
      ["r1@example.net"],
      ["r2@example.net"],
      ["r3@example.net"],
    ]);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("a 5xx for some recipients bounces those and delivers to the rest; a 4xx one waits", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    const rcpts = ["good@example.net", "reject@example.net", "tempfail@example.net"];
    assert.equal((await q.postie(rcpts, testMail("partial"))).code, 0);
    assert.equal((await q.postie(["-q"])).code, 0);
    const got = mails(server);
    assert.deepEqual(got[0].recipients, ["good@example.net"]);
    const bounce = got.find((m) => m.from === "")!;
    const dsn = await pythonDsn(bounce.data);
    assert.deepEqual(dsn.recipients, ["rfc822; reject@example.net"]);
    // the greylisted recipient stays queued, alone
    const json = JSON.parse((await q.postie(["-bp", "--json"])).stdout);
    assert.equal(json.count, 1);
    assert.deepEqual(json.entries[0].recipients, ["tempfail@example.net"]);
    assert.match(json.entries[0].last_error, /450 4\.2\.0/);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test({
  name:
    "with a real Postfix: queued while it is down, delivered by -q unchanged, and a refused recipient's DSN lands in the sender's mailbox",
  ignore: postfixUnavailable() !== undefined && Deno.env.get("CI") !== "true",
  async fn() {
    const q = await queueSetup({ port: freePort() });
    const postfix = await startPostfix({ tls: false });
    try {
      await q.write({ port: freePort(), extra: ["from sender@postie.test"] });
      const mail = testMail("through postfix");
      const rcpts = ["user@postie.test", "rejected@postie.test"];
      const queued = await q.postie(rcpts, mail);
      assert.equal(queued.code, 0, queued.stderr);
      assert.equal(q.ids().length, 1);
      await q.write({ port: postfix.port, extra: ["from sender@postie.test"] });
      const flushed = await q.postie(["-q"]);
      assert.equal(flushed.code, 0, flushed.stderr);
      assert.deepEqual(q.ids(), []);
      const [delivered] = await postfix.mailbox("user@postie.test");
      assert.equal(stripTraceHeaders(delivered), onTheWire(mail).replace(/\r\n/g, "\n"));
      const [bounce] = await postfix.mailbox("sender@postie.test");
      assert.match(bounce, /^Return-Path: <>/);
      const dsn = await pythonDsn(new TextEncoder().encode(stripTraceHeaders(bounce)));
      assert.equal(dsn.type, "multipart/report");
      assert.deepEqual(dsn.recipients, ["rfc822; rejected@postie.test"]);
      assert.deepEqual(dsn.statuses, ["5.1.1"]);
    } finally {
      await postfix.stop();
      await q.cleanup();
    }
  },
});

/**
 * A server that answers everything at once except the end of the data, which it answers
 * `delayMs` later; it counts the mails it accepted.
 */
function slowServer(delayMs: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { dataEnded: 0, accepted: 0 };
  const handlers: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn): Promise<void> => {
    const enc = new TextEncoder();
    const say = (line: string) => conn.write(enc.encode(line + "\r\n"));
    await say("220 slow.test ESMTP");
    let buffer = "";
    let inData = false;
    const chunk = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) return;
      buffer += decoder.decode(chunk.subarray(0, n));
      for (let lf = buffer.indexOf("\n"); lf >= 0; lf = buffer.indexOf("\n")) {
        const line = buffer.slice(0, lf).replace(/\r$/, "");
        buffer = buffer.slice(lf + 1);
        if (inData) {
          if (line !== ".") continue;
          inData = false;
          state.dataEnded++;
          await delay(delayMs);
          state.accepted++;
          await say("250 2.0.0 queued");
          continue;
        }
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO") await say("250 slow.test");
        else if (verb === "DATA") {
          inData = true;
          await say("354 go ahead");
        } else if (verb === "QUIT") {
          await say("221 bye");
          conn.close();
          return;
        } else await say("250 ok");
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) handlers.push(serve(conn).catch(() => {}));
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    state,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(handlers);
    },
  };
}

Deno.test("SIGTERM while the daemon sends a mail: it waits for the server's 250, removes the mail, then stops", async () => {
  const server = slowServer(1500);
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    assert.equal((await q.postie(["rcpt@example.net"], testMail("slow"))).code, 0);
    const daemon = new Deno.Command(POSTIE, {
      args: ["-C", q.rc, "-q1h", "-v"],
      env: { HOME: q.dir },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    for (let i = 0; i < 200 && server.state.dataEnded === 0; i++) await delay(50);
    assert.equal(server.state.dataEnded, 1, "the mail's data reached the server");
    daemon.kill("SIGTERM");
    const status = await daemon.output();
    assert.equal(status.code, 0, decoder.decode(status.stderr));
    assert.equal(server.state.accepted, 1);
    assert.deepEqual(q.ids(), []);
    assert.match(
      decoder.decode(status.stdout),
      /delivered to <rcpt@example\.net>[\s\S]*queue daemon stopped/,
    );
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("queue fallback writes a log line naming the queue id and the reason", async () => {
  const q = await queueSetup({ port: freePort() });
  try {
    const log = `${q.dir}/postie.log`;
    await q.write({ port: freePort(), extra: [`logfile ${log}`] });
    assert.equal((await q.postie(["rcpt@example.net"], testMail("logged"))).code, 0);
    const [id] = q.ids();
    const line = await Deno.readTextFile(log);
    assert.match(line, /from=sender@example\.org recipients=rcpt@example\.net/);
    assert.match(
      line,
      new RegExp(`queue='queued as ${id} after: cannot connect to 127\\.0\\.0\\.1`),
    );
    assert.match(line, /exitcode=EX_OK/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("a mail queued with a relative -C is sent by a runner started elsewhere", async () => {
  const q = await queueSetup({ port: freePort() });
  const server = startCaptureServer();
  try {
    const queued = await runPostie(["-C", "msmtprc", "rcpt@example.net"], {
      cwd: q.dir,
      stdin: testMail("relative"),
      env: { HOME: q.dir },
    });
    assert.equal(queued.code, 0, queued.stderr);
    await q.write({ port: server.port });
    const flushed = await q.postie(["-q"]); // from the test's own directory
    assert.equal(flushed.code, 0, flushed.stderr);
    assert.deepEqual(q.ids(), []);
    assert.equal(mails(server).length, 1);
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("the daemon retries after the back-off and reads the configuration again for each run", async () => {
  const server = startCaptureServer();
  const extra = ["queue_backoff 1s,1s"];
  const q = await queueSetup({ port: freePort(), queue: "always", extra });
  const daemon = new Deno.Command(POSTIE, {
    args: ["-C", q.rc, "-q1s", "-v"],
    env: { HOME: q.dir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    assert.equal((await q.postie(["rcpt@example.net"], testMail("retried"))).code, 0);
    // the first attempt fails: nothing listens on the configured port
    let attempts = 0;
    for (let i = 0; i < 100 && attempts === 0; i++) {
      await delay(100);
      attempts = JSON.parse((await q.postie(["-bp", "--json"])).stdout).entries[0]?.attempts ?? 0;
    }
    assert.ok(attempts >= 1, "the daemon tried and deferred the mail");
    await q.write({ port: server.port, queue: "always", extra });
    for (let i = 0; i < 100 && mails(server).length === 0; i++) await delay(100);
    assert.equal(mails(server).length, 1);
    assert.deepEqual(q.ids(), []);
  } finally {
    daemon.kill("SIGTERM");
    const status = await daemon.output();
    assert.equal(status.code, 0, decoder.decode(status.stderr));
    await server.close();
    await q.cleanup();
  }
});

Deno.test("runQueue() from lib/mod.ts sends what the command line queued", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    assert.equal((await q.postie(["rcpt@example.net"], testMail("library"))).code, 0);
    const [id] = q.ids();
    const lines: string[] = [];
    const report = await runQueue({
      configFile: q.rc,
      log: (l) => lines.push(l),
      env: { HOME: q.dir },
    });
    assert.deepEqual(report.delivered, [id]);
    assert.deepEqual(q.ids(), []);
    assert.equal(mails(server).length, 1);
    assert.ok(lines.some((l) => l === `${id}: delivered to <rcpt@example.net>`));
  } finally {
    await server.close();
    await q.cleanup();
  }
});

Deno.test("an account with direct on queues too: -q delivers the mail to a local mailbox", async () => {
  const q = await queueSetup({ port: 25, queue: "always" });
  try {
    const spool = `${q.dir}/spool`;
    await Deno.mkdir(spool);
    await Deno.writeTextFile(`${q.dir}/aliases`, "");
    await q.write({
      port: 25,
      queue: "always",
      extra: ["direct on", `mail_spool ${spool}`, `local_aliases ${q.dir}/aliases`],
    });
    const queued = await q.postie(["root"], testMail("to the local root"));
    assert.equal(queued.code, 0, queued.stderr);
    assert.equal(q.ids().length, 1);
    const flushed = await q.postie(["-q"]);
    assert.equal(flushed.code, 0, flushed.stderr);
    assert.deepEqual(q.ids(), []);
    assert.match(await Deno.readTextFile(`${spool}/root`), /Subject: to the local root/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("a composed mail (--subject, --attach) with queue always is queued, and -q sends the composed MIME mail", async () => {
  const server = startCaptureServer();
  const q = await queueSetup({ port: server.port, queue: "always" });
  try {
    const attachment = `${q.dir}/report.csv`;
    await Deno.writeTextFile(attachment, "host,status\nbox,ok\n");
    const queued = await q.postie(
      ["--subject=Nightly report", `--attach=${attachment}`, "rcpt@example.net"],
      "All jobs ran.\n",
    );
    assert.equal(queued.code, 0, queued.stderr);
    assert.equal(mails(server).length, 0, "queue always sent at once");
    const [id] = q.ids();
    assert.ok(id, "nothing was queued");
    const listed = await q.postie(["-bp"], "");
    assert.match(listed.stdout, new RegExp(id));
    const flushed = await q.postie(["-q"], "");
    assert.equal(flushed.code, 0, flushed.stderr);
    assert.deepEqual(q.ids(), []);
    const [mail] = mails(server);
    assert.deepEqual(mail.recipients, ["rcpt@example.net"]);
    const raw = text(mail.data);
    assert.match(raw, /^Subject: Nightly report\r$/m);
    assert.match(raw, /^Content-Type: multipart\/mixed; boundary=/m);
    assert.match(raw, /^Content-Disposition: attachment; filename=report\.csv\r$/m);
    assert.match(raw, /\r\n\r\nAll jobs ran\.\r\n/);
    // the attachment's text, as MailComposer encodes a small text file (base64 or QP)
    const b64 = btoa("host,status\nbox,ok\n");
    assert.ok(raw.includes(b64) || raw.includes("host,status\r\nbox,ok"), raw);
  } finally {
    await server.close();
    await q.cleanup();
  }
});
