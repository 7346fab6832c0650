/**
 * The listener over real TCP on loopback, with postie's real queue: protocol, relay policy,
 * limits, and hostile clients (smuggling, floods, stalls, guessing, too many
 * connections).
 */

import assert from "node:assert/strict";
import { type Relay, type RelayOptions, startRelay } from "../../../lib/relay/server.ts";
import { type QueueListing, Spool } from "../../../lib/queue/spool.ts";
import { QueueSink } from "../../../lib/relay/queue_sink.ts";
import { realEnv } from "../../../lib/config/resolve.ts";
import { parseNetworks } from "../../../lib/config/networks.ts";
import { RelayMetrics } from "../../../lib/relay/metrics.ts";
import { hashPassword } from "../../../lib/relay/users.ts";
import { RawSmtp } from "../../support/smtp_client.ts";
import { delay } from "../../support/process.ts";
import { missing } from "../../support/relay.ts";

interface Fixture {
  relay: Relay;
  spool: Spool;
  port: number;
  metrics: RelayMetrics;
  events: string[];
}

async function withRelay(
  options: Partial<RelayOptions>,
  fn: (f: Fixture) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "postie-relay-unit-" });
  const spool = new Spool(dir);
  await spool.ensure();
  const metrics = new RelayMetrics();
  const events: string[] = [];
  const relay = await startRelay({
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    name: "relay.test",
    allow: parseNetworks("127.0.0.0/8"),
    maxSize: 100_000,
    maxRecipients: 100,
    maxConnections: 10,
    idleTimeoutMs: 10_000,
    ratePerMinute: 0,
    sink: sinkFor(spool),
    metrics,
    onMail: (e) => events.push(`${e.outcome} ${e.reason ?? ""} ${e.reply}`),
    ...options,
  });
  try {
    await fn({ relay, spool, port: relay.addresses[0].port, metrics, events });
  } finally {
    await relay.close(100);
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A sink queueing through a command-line account (`--host`) whose header rules are off, so
 * the queue holds the message exactly as received below the relay's Received line.
 */
function sinkFor(spool: Spool, overrides: Record<string, string> = {}): QueueSink {
  return new QueueSink({
    spool,
    selection: {
      host: "127.0.0.1",
      overrides: {
        set_from_header: "off",
        set_date_header: "off",
        set_msgid_header: "off",
        ...overrides,
      },
    },
    configEnv: realEnv(),
  });
}

async function queued(spool: Spool): Promise<QueueListing[]> {
  return (await spool.list()).entries;
}

async function session(port: number, helo = "client.test"): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  assert.equal((await c.reply())?.code, 220);
  assert.equal((await c.command(`EHLO ${helo}`))?.code, 250);
  return c;
}

/** The queued messages, without the queue's envelope line. */
async function queuedMessages(spool: Spool): Promise<string[]> {
  const out: string[] = [];
  for (const e of await queued(spool)) {
    const text = await Deno.readTextFile(`${spool.dir}/mail/${e.id}`);
    out.push(text.slice(text.indexOf("\n") + 1));
  }
  return out;
}

const ENVELOPE = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n";

Deno.test("EHLO offers PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN and SIZE, and no AUTH or STARTTLS without users and certificate", async () => {
  await withRelay({}, async ({ port }) => {
    const c = await RawSmtp.connect(port);
    assert.match((await c.reply())!.text, /^220 relay\.test /);
    const ehlo = (await c.command("EHLO client.test"))!.text;
    for (
      const ext of [
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "SIZE 100000",
      ]
    ) {
      assert.match(ehlo, new RegExp(`^250[- ]${ext}$`, "m"));
    }
    assert.doesNotMatch(ehlo, /AUTH|STARTTLS/);
    assert.equal((await c.command("NOOP"))?.code, 250);
    assert.equal((await c.command("RSET"))?.code, 250);
    assert.equal((await c.command("HELP"))?.code, 214);
    assert.match((await c.command("VRFY root"))!.text, /^252 /);
    assert.equal((await c.command("STARTTLS"))?.code, 500);
    assert.equal((await c.command("QUIT"))?.code, 221);
    c.close();
  });
});

Deno.test("a mail is answered 250 only once it is in the spool, with the relay's Received line on top", async () => {
  await withRelay({}, async ({ port, spool, metrics, events }) => {
    const c = await session(port);
    await c.send(ENVELOPE);
    assert.equal((await c.reply())?.code, 250);
    assert.equal((await c.reply())?.code, 250);
    assert.equal((await c.reply())?.code, 354);
    const reply = await c.command("Subject: x\r\n\r\n..dot\r\nbody\r\n.");
    assert.match(reply!.text, /^250 2\.6\.0 OK queued as (\d{8}T\d{6}-[0-9a-f]{8})$/);
    // the log line has the reply as the client got it
    assert.deepEqual(events, [`accepted  ${reply!.text}`]);
    const id = /queued as (\S+)/.exec(reply!.text)![1];
    const [entry] = await queued(spool);
    assert.equal(entry.id, id);
    assert.equal(entry.envelope.from, "a@example.org");
    assert.deepEqual(entry.envelope.recipients, ["b@example.org"]);
    const [text] = await queuedMessages(spool);
    assert.match(
      text,
      /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(postie\) with ESMTP id \S+;\r\n\t\w{3}, /,
    );
    assert.ok(text.endsWith("\r\nSubject: x\r\n\r\n.dot\r\nbody\r\n"));
    assert.equal(metrics.accepted, 1);
    c.close();
  });
});

Deno.test("a client outside the trusted networks may not relay without AUTH: 550 5.7.1 (delivery not authorized)", async () => {
  await withRelay({ allow: parseNetworks("192.0.2.0/24") }, async ({ port, events, metrics }) => {
    const c = await session(port);
    assert.equal((await c.command("MAIL FROM:<a@example.org>"))?.text, "250 2.1.0 Accepted");
    assert.equal(
      (await c.command("RCPT TO:<b@example.org>"))?.text,
      "550 5.7.1 Relay access denied",
    );
    assert.equal((await c.command("DATA"))?.text, "503 5.5.1 Error: need RCPT command");
    assert.equal(metrics.refused.get("relay_denied"), 1);
    assert.equal(events[0], "refused relay_denied 550 5.7.1 Relay access denied");
    c.close();
  });
});

Deno.test("sender and recipient patterns refuse other addresses with 5xx and 5.7.1", async () => {
  await withRelay(
    { allowFrom: ["*@example.org"], allowRcpt: ["*@example.net"] },
    async ({ port, events }) => {
      const c = await session(port);
      assert.equal(
        (await c.command("MAIL FROM:<x@evil.test>"))?.text,
        "553 5.7.1 Sender address not allowed",
      );
      assert.equal((await c.command("MAIL FROM:<a@example.org>"))?.code, 250);
      assert.equal(
        (await c.command("RCPT TO:<b@example.org>"))?.text,
        "550 5.7.1 Recipient address not allowed",
      );
      assert.equal((await c.command("RCPT TO:<b@example.net>"))?.text, "250 2.1.5 Accepted");
      assert.deepEqual(events, [
        "refused sender_denied 553 5.7.1 Sender address not allowed",
        "refused recipient_denied 550 5.7.1 Recipient address not allowed",
      ]);
      c.close();
    },
  );
});

Deno.test("a refusal's own enhanced code goes into that reply only: pipelined replies around it keep theirs", async () => {
  await withRelay({ allowRcpt: ["*@example.net"] }, async ({ port }) => {
    const c = await session(port);
    await c.send(
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.org>\r\nNOOP\r\n" +
        "RCPT TO:<y@example.net>\r\nRCPT TO:<y2@example.net> ORCPT=rfc822;caf+C3+A9@x\r\n" +
        "RCPT TO:<z@example.org>\r\nRCPT TO:<y3@example.net>\r\nRSET\r\nNOOP\r\n",
    );
    const replies: string[] = [];
    for (let i = 0; i < 9; i++) replies.push((await c.reply())!.text);
    assert.deepEqual(replies, [
      "250 2.1.0 Accepted",
      "550 5.7.1 Recipient address not allowed",
      "250 2.0.0 OK",
      "250 2.1.5 Accepted",
      "501 5.5.4 Bad ORCPT parameter syntax",
      "550 5.7.1 Recipient address not allowed",
      "250 2.1.5 Accepted",
      "250 2.0.0 Flushed",
      "250 2.0.0 OK",
    ]);
    // after the end of a mail refused by the relay, the next pipelined mail's replies too
    await c.send(
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<y@example.net>\r\nDATA\r\n",
    );
    for (let i = 0; i < 3; i++) await c.reply();
    await c.send(
      "Subject: s\r\n\r\nx\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n",
    );
    assert.match((await c.reply())!.text, /^250 2\.6\.0 OK queued as /);
    assert.equal((await c.reply())!.text, "250 2.1.0 Accepted");
    assert.equal((await c.reply())!.text, "550 5.7.1 Recipient address not allowed");
    c.close();
  });
});

Deno.test("DSN parameters are queued xtext-decoded: RET and ENVID for the mail, NOTIFY and ORCPT per recipient", async () => {
  await withRelay({}, async ({ port, spool }) => {
    const c = await session(port);
    await c.send(
      "MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ+2B1+3Dx\r\n" +
        "RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Bold@example.org\r\n" +
        "RCPT TO:<c@example.org> NOTIFY=NEVER\r\n" +
        "RCPT TO:<d@example.org>\r\nDATA\r\n",
    );
    const replies: string[] = [];
    for (let i = 0; i < 5; i++) replies.push((await c.reply())!.text);
    assert.deepEqual(replies.slice(0, 4), [
      "250 2.1.0 Accepted",
      "250 2.1.5 Accepted",
      "250 2.1.5 Accepted",
      "250 2.1.5 Accepted",
    ]);
    assert.equal((await c.command("Subject: d\r\n\r\nx\r\n."))?.code, 250);
    const [entry] = await queued(spool);
    assert.deepEqual(entry.envelope.recipients, [
      "b@example.org",
      "c@example.org",
      "d@example.org",
    ]);
    assert.deepEqual(entry.envelope.dsn, {
      notify: null,
      ret: "HDRS",
      envid: "QQ+1=x",
      recipients: {
        "b@example.org": { notify: "FAILURE,DELAY", orcpt: "rfc822;b+old@example.org" },
        "c@example.org": { notify: "NEVER" },
      },
      optional: true,
    });
    c.close();
  });
});

Deno.test("malformed DSN parameters get 501 5.5.4 and leave the transaction as it was", async () => {
  await withRelay({}, async ({ port, spool }) => {
    const c = await session(port);
    for (
      const bad of [
        "ENVID=caf+C3+A9", // not US-ASCII once decoded (RFC 3461 §4.4)
        `ENVID=${"e".repeat(101)}`, // longer than 100 characters
        "RET=EVERYTHING",
      ]
    ) {
      assert.match((await c.command(`MAIL FROM:<a@example.org> ${bad}`))!.text, /^501 5\.5\.4 /);
    }
    assert.equal(
      (await c.command(`MAIL FROM:<a@example.org> ENVID=${"e".repeat(100)}`))?.code,
      250,
    );
    for (
      const bad of [
        "ORCPT=b@example.org", // no address type
        "ORCPT=rfc822;b+C3+A9@example.org", // not US-ASCII once decoded (RFC 3461 §4.2)
        "ORCPT=rfc+2B822;b@example.org", // a type of other characters
        `ORCPT=rfc822;${"b".repeat(490)}@example.org`, // longer than 500 characters
        "NOTIFY=SOMETIMES",
        "NOTIFY=NEVER,FAILURE",
      ]
    ) {
      assert.match((await c.command(`RCPT TO:<b@example.org> ${bad}`))!.text, /^501 5\.5\.4 /);
    }
    assert.equal((await c.command("RCPT TO:<b@example.org> ORCPT=utf-8;b@example.org"))?.code, 250);
    assert.equal((await c.command("DATA"))?.code, 354);
    assert.equal((await c.command("Subject: d\r\n\r\nx\r\n."))?.code, 250);
    const [entry] = await queued(spool);
    assert.deepEqual(entry.envelope.recipients, ["b@example.org"]);
    assert.deepEqual(entry.envelope.dsn, {
      notify: null,
      ret: null,
      envid: "e".repeat(100),
      recipients: { "b@example.org": { orcpt: "utf-8;b@example.org" } },
      optional: true,
    });
    c.close();
  });
});

Deno.test("a relay whose sink cannot pass DSN on does not offer it and refuses its parameters with 555 5.5.4", async () => {
  await withRelay({ dsn: false }, async ({ port, spool }) => {
    const c = await RawSmtp.connect(port);
    await c.reply();
    const ehlo = (await c.command("EHLO client.test"))!.text;
    assert.doesNotMatch(ehlo, /DSN/);
    assert.match(ehlo, /^250[- ]ENHANCEDSTATUSCODES$/m);
    assert.equal(
      (await c.command("MAIL FROM:<a@example.org> RET=HDRS"))?.text,
      "555 5.5.4 Unsupported option: RET",
    );
    assert.equal(
      (await c.command("MAIL FROM:<a@example.org> ENVID=x"))?.text,
      "555 5.5.4 Unsupported option: ENVID",
    );
    assert.equal((await c.command("MAIL FROM:<a@example.org>"))?.code, 250);
    assert.equal(
      (await c.command("RCPT TO:<b@example.org> NOTIFY=NEVER"))?.text,
      "555 5.5.4 Unsupported option: NOTIFY",
    );
    assert.equal(
      (await c.command("RCPT TO:<b@example.org> ORCPT=rfc822;b@example.org"))?.text,
      "555 5.5.4 Unsupported option: ORCPT",
    );
    assert.equal((await c.command("RCPT TO:<b@example.org>"))?.code, 250);
    assert.equal((await c.command("DATA"))?.code, 354);
    assert.equal((await c.command("Subject: d\r\n\r\nx\r\n."))?.code, 250);
    const [entry] = await queued(spool);
    assert.equal(entry.envelope.dsn, undefined);
    c.close();
  });
});

Deno.test("a refused MAIL FROM's parameters do not stick to the next mail", async () => {
  await withRelay({ allowFrom: ["*@example.org"] }, async ({ port, spool }) => {
    const c = await session(port);
    assert.equal(
      (await c.command("MAIL FROM:<x@evil.test> RET=FULL ENVID=stale BODY=8BITMIME SMTPUTF8"))
        ?.code,
      553,
    );
    await c.send(ENVELOPE);
    for (let i = 0; i < 3; i++) await c.reply();
    assert.equal((await c.command("Subject: s\r\n\r\nx\r\n."))?.code, 250);
    const [entry] = await queued(spool);
    assert.equal(entry.envelope.dsn, undefined);
    c.close();
  });
});

Deno.test("AUTH PLAIN and LOGIN against the users file; plain text AUTH only from trusted networks", async () => {
  const users = new Map([["alice", await hashPassword("pw", 4)]]);
  await withRelay({ users, authFailureDelayMs: 10 }, async ({ port }) => {
    const c = await session(port);
    // loopback is trusted: AUTH in clear is allowed
    assert.equal((await c.command(`AUTH PLAIN ${btoa("\0alice\0pw")}`))?.code, 235);
    c.close();
    const d = await session(port);
    assert.equal((await d.command("AUTH LOGIN"))?.code, 334);
    assert.equal((await d.command(btoa("alice")))?.code, 334);
    assert.equal((await d.command(btoa("pw")))?.code, 235);
    d.close();
  });
  await withRelay({ users, allow: parseNetworks("192.0.2.0/24") }, async ({ port }) => {
    const c = await session(port);
    assert.equal(
      (await c.command(`AUTH PLAIN ${btoa("\0alice\0pw")}`))!.text,
      "538 5.7.11 Encryption required for requested authentication mechanism",
    );
    c.close();
  });
});

Deno.test("AUTH guessing: every failure waits, the third closes the connection", async () => {
  const users = new Map([["alice", await hashPassword("pw", 4)]]);
  await withRelay(
    { users, authFailureDelayMs: 300, maxAuthFailures: 3 },
    async ({ port, metrics }) => {
      const c = await session(port);
      const start = Date.now();
      assert.equal(
        (await c.command(`AUTH PLAIN ${btoa("\0alice\0guess1")}`))?.text,
        "535 5.7.8 Authentication credentials invalid",
      );
      assert.equal((await c.command(`AUTH PLAIN ${btoa("\0nobody\0guess2")}`))?.code, 535);
      assert.equal(
        (await c.command(`AUTH PLAIN ${btoa("\0alice\0guess3")}`))?.text,
        "421 4.7.0 Too many failed authentications; closing connection",
      );
      assert.ok(Date.now() - start >= 900, `three failures took only ${Date.now() - start} ms`);
      assert.ok(await c.closedByServer());
      assert.equal(metrics.refused.get("auth_failed"), 3);
      c.close();
    },
  );
});

for (
  const [name, payload] of [
    [
      "\\n.\\n",
      "Subject: s\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@x>\r\nDATA\r\nsmuggled\r\n.\r\n",
    ],
    [
      "\\r.\\r",
      "Subject: s\r\n\r\nhello\r.\rMAIL FROM:<evil@x>\r\nRCPT TO:<victim@x>\r\nDATA\r\nsmuggled\r\n.\r\n",
    ],
    [
      "\\n.\\r\\n",
      "Subject: s\r\n\r\nhello\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@x>\r\nDATA\r\nsmuggled\r\n.\r\n",
    ],
    [
      "\\r\\n.\\n",
      "Subject: s\r\n\r\nhello\r\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@x>\r\nDATA\r\nsmuggled\r\n.\r\n",
    ],
  ]
) {
  Deno.test(`smuggling with ${name}: rejected whole with listen_bare_newlines reject, never a second mail`, async () => {
    await withRelay({ bareNewlines: "reject" }, async ({ port, spool, events }) => {
      const c = await session(port);
      await c.send(ENVELOPE);
      for (let i = 0; i < 3; i++) await c.reply();
      await c.send(payload);
      assert.equal(
        (await c.reply())!.text,
        "554 5.6.0 Message refused: bare CR or LF in the message; lines must end with CRLF",
      );
      // nothing was taken as commands: the next reply is to this NOOP
      assert.equal((await c.command("NOOP"))?.code, 250);
      assert.deepEqual(await queued(spool), []);
      assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)], []);
      assert.match(events[0], /^refused bare_newline 554/);
      c.close();
    });
  });

  Deno.test(`smuggling with ${name}: one mail holding the smuggled lines as text with listen_bare_newlines normalize`, async () => {
    await withRelay({ bareNewlines: "normalize" }, async ({ port, spool }) => {
      const c = await session(port);
      await c.send(ENVELOPE);
      for (let i = 0; i < 3; i++) await c.reply();
      await c.send(payload);
      assert.equal((await c.reply())?.code, 250);
      assert.equal((await c.command("NOOP"))?.code, 250);
      const entries = await queued(spool);
      assert.equal(entries.length, 1);
      assert.deepEqual(entries[0].envelope.recipients, ["b@example.org"]);
      const [text] = await queuedMessages(spool);
      assert.ok(text.includes("MAIL FROM:<evil@x>") && text.includes("smuggled\r\n"));
      c.close();
    });
  });
}

Deno.test("SIZE is enforced: a declared size over the limit gets 552 at MAIL, a longer message 552 after DATA", async () => {
  await withRelay({ maxSize: 10_000 }, async ({ port, spool, metrics }) => {
    const c = await session(port);
    assert.equal(
      (await c.command("MAIL FROM:<a@example.org> SIZE=20000"))?.text,
      "552 5.3.4 Error: message exceeds fixed maximum message size 10000",
    );
    await c.send(ENVELOPE);
    for (let i = 0; i < 3; i++) await c.reply();
    // one overlong line of 50 KB, then the end, and the next command in the same write
    await c.send("Subject: big\r\n\r\n" + "x".repeat(50_000) + "\r\n.\r\nNOOP\r\n");
    assert.equal((await c.reply())?.text, "552 5.3.4 Message exceeds fixed maximum message size");
    assert.equal((await c.reply())?.text, "250 2.0.0 OK");
    assert.deepEqual(await queued(spool), []);
    assert.equal(metrics.refused.get("too_big"), 1);
    c.close();
  });
});

Deno.test("an overlong command line closes the connection with 421 and the relay serves the next client", async () => {
  await withRelay({}, async ({ port }) => {
    const c = await session(port);
    await c.send("MAIL FROM:<" + "a".repeat(40_000));
    assert.equal((await c.reply())?.code, 421);
    assert.ok(await c.closedByServer());
    c.close();
    const d = await session(port);
    assert.equal((await d.command("NOOP"))?.code, 250);
    d.close();
  });
});

Deno.test("10,000 pipelined RCPT: the first 100 are taken, the rest get 452, the mail goes to 100", async () => {
  await withRelay({ maxRecipients: 100 }, async ({ port, spool }) => {
    const c = await session(port);
    let text = "MAIL FROM:<a@example.org>\r\n";
    for (let i = 0; i < 10_000; i++) text += `RCPT TO:<r${i}@example.org>\r\n`;
    await c.send(text + "DATA\r\n");
    const texts = new Map<string, number>();
    for (let i = 0; i < 10_002; i++) {
      const r = await c.reply();
      texts.set(r!.text, (texts.get(r!.text) ?? 0) + 1);
    }
    assert.deepEqual(
      texts,
      new Map([
        ["250 2.1.0 Accepted", 1],
        ["250 2.1.5 Accepted", 100],
        ["452 4.5.3 Too many recipients", 9_900],
        ["354 End data with <CR><LF>.<CR><LF>", 1],
      ]),
    );
    assert.equal((await c.command("Subject: many\r\n\r\nx\r\n."))?.code, 250);
    const [entry] = await queued(spool);
    assert.equal(entry.envelope.recipients.length, 100);
    c.close();
  });
});

Deno.test("a pipelining flood of 20,000 NOOPs is answered in order while another client is served", async () => {
  await withRelay({}, async ({ port }) => {
    const flood = await session(port);
    await flood.send("NOOP\r\n".repeat(20_000));
    const other = await session(port);
    assert.equal((await other.command("NOOP"))?.code, 250);
    other.close();
    for (let i = 0; i < 20_000; i++) assert.equal((await flood.reply())?.code, 250);
    flood.close();
  });
});

Deno.test("a client stalling in DATA is cut off by the idle timeout, its partial mail is dropped and its slot freed", async () => {
  await withRelay({ idleTimeoutMs: 800, maxConnections: 1 }, async ({ port, spool }) => {
    const c = await session(port);
    await c.send(ENVELOPE);
    for (let i = 0; i < 3; i++) await c.reply();
    await c.send("Subject: stall\r\n\r\nhalf");
    const r = await c.reply(5000);
    assert.equal(r?.code, 421);
    assert.ok(await c.closedByServer());
    c.close();
    await delay(100);
    assert.deepEqual(await queued(spool), []);
    assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)], []);
    const d = await session(port);
    assert.equal((await d.command("NOOP"))?.code, 250);
    d.close();
  });
});

Deno.test("more connections than allowed: the extra one gets 421", async () => {
  await withRelay({ maxConnections: 2 }, async ({ port }) => {
    const a = await session(port);
    const b = await session(port);
    const c = await RawSmtp.connect(port);
    assert.equal((await c.reply())?.code, 421);
    c.close();
    a.close();
    b.close();
  });
});

Deno.test("mails per client per minute: beyond the rate MAIL gets 451", async () => {
  await withRelay({ ratePerMinute: 2 }, async ({ port, metrics }) => {
    const c = await session(port);
    for (let i = 0; i < 2; i++) {
      await c.send(ENVELOPE);
      for (let j = 0; j < 3; j++) await c.reply();
      assert.equal((await c.command("Subject: r\r\n\r\nx\r\n."))?.code, 250);
    }
    assert.equal(
      (await c.command("MAIL FROM:<a@example.org>"))!.text,
      "451 4.7.0 Too many mails from you; try again in a minute",
    );
    assert.equal(metrics.refused.get("rate_limited"), 1);
    c.close();
  });
});

Deno.test("queue trouble is 451 4.3.0 or 452 4.3.1 (try again), never a refusal; a mail the sink rejects is 554 5.3.0", async () => {
  const { SinkError } = await import("../../../lib/relay/sink.ts");
  for (
    const [trouble, expected] of [
      ["unavailable", "451 4.3.0 Local error in processing; try again later"],
      ["full", "452 4.3.1 Insufficient system storage; try again later"],
      ["rejected", "554 5.3.0 Mail not accepted: no"],
    ] as const
  ) {
    const failing = {
      accept: async (_e: unknown, message: ReadableStream<Uint8Array>) => {
        await message.cancel();
        throw new SinkError(trouble, "no");
      },
      writable: () => Promise.resolve(false),
    };
    await withRelay({ sink: failing }, async ({ port, events }) => {
      const c = await session(port);
      await c.send(ENVELOPE);
      for (let i = 0; i < 3; i++) await c.reply();
      assert.equal((await c.command("Subject: q\r\n\r\nx\r\n."))?.text, expected);
      assert.equal((await c.command("NOOP"))?.text, "250 2.0.0 OK");
      assert.match(events[0], new RegExp(` ${expected.replace(/[.]/g, "\\.")}$`));
      c.close();
    });
  }
});

Deno.test("a 5 MB message streams through without the relay's heap growing with it", async () => {
  await withRelay({ maxSize: 50_000_000 }, async ({ port, spool }) => {
    const c = await session(port);
    await c.send(ENVELOPE);
    for (let i = 0; i < 3; i++) await c.reply();
    const before = Deno.memoryUsage().heapUsed;
    let peak = before;
    const line = "y".repeat(998) + "\r\n";
    const chunk = line.repeat(64);
    await c.send("Subject: large\r\n\r\n");
    for (let i = 0; i < 80; i++) {
      await c.send(chunk);
      peak = Math.max(peak, Deno.memoryUsage().heapUsed);
    }
    assert.equal((await c.command("."))?.code, 250);
    assert.ok(peak - before < 4_000_000, `heap grew by ${peak - before} bytes`);
    const [entry] = await queued(spool);
    assert.ok(entry.size > 80 * 64 * 1000);
    c.close();
  });
});

Deno.test("a client that resets its connection mid-DATA does not take the relay down", async () => {
  await withRelay({}, async ({ port, spool }) => {
    const script = `
import socket, struct, time
s = socket.create_connection(("127.0.0.1", ${port}))
s.recv(1000)
s.sendall(b"EHLO rst.example\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<b@example.org>\\r\\nDATA\\r\\n")
time.sleep(0.3)
s.sendall(b"Subject: reset\\r\\n\\r\\nhalf a mail")
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
`;
    for (let i = 0; i < 3; i++) {
      const out = await new Deno.Command("python3", { args: ["-c", script] }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    await delay(300);
    const c = await session(port);
    assert.equal((await c.command("NOOP"))?.code, 250);
    c.close();
    assert.deepEqual(await queued(spool), []);
    assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)], []);
  });
});

Deno.test("AUTH guessing over many connections: after the per-address limit even the right password gets 454", async () => {
  const users = new Map([["alice", await hashPassword("pw", 4)]]);
  await withRelay(
    { users, authFailureDelayMs: 10, maxAuthFailures: 2, maxAuthFailuresPerClient: 4 },
    async ({ port }) => {
      for (let i = 0; i < 2; i++) {
        const c = await session(port);
        assert.equal((await c.command(`AUTH PLAIN ${btoa("\0alice\0bad")}`))?.code, 535);
        assert.equal((await c.command(`AUTH PLAIN ${btoa("\0alice\0bad")}`))?.code, 421);
        c.close();
      }
      const c = await session(port);
      assert.equal(
        (await c.command(`AUTH PLAIN ${btoa("\0alice\0pw")}`))!.text,
        "454 4.7.0 Too many failed authentications from your address; try later",
      );
      c.close();
    },
  );
});

Deno.test("120 hostile sessions in a row (smuggling, floods, overlong lines, half mails): the heap stays flat and others are served", async () => {
  await withRelay({ bareNewlines: "reject", maxRecipients: 50 }, async ({ port, spool }) => {
    const hostile = async (i: number): Promise<void> => {
      const c = await session(port, `h${i}.example`);
      switch (i % 4) {
        case 0:
          await c.send(ENVELOPE + "a\n.\nMAIL FROM:<x@y>\r\n" + "z".repeat(20_000) + "\r\n.\r\n");
          break;
        case 1:
          await c.send("MAIL FROM:<a@example.org>\r\n" + "RCPT TO:<r@example.org>\r\n".repeat(500));
          break;
        case 2:
          await c.send("NOOP\r\n".repeat(2000));
          break;
        case 3:
          await c.send(ENVELOPE + "Subject: half\r\n\r\n" + "x".repeat(30_000));
          break;
      }
      c.close();
    };
    for (let i = 0; i < 20; i++) await hostile(i);
    await delay(200);
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < 120; i++) {
      await hostile(i);
      if (i % 30 === 0) {
        const other = await session(port);
        assert.equal((await other.command("NOOP"))?.code, 250);
        other.close();
      }
    }
    await delay(500);
    const growth = Deno.memoryUsage().heapUsed - before;
    assert.ok(growth < 24_000_000, `heap grew by ${growth} bytes over 120 sessions`);
    assert.deepEqual(await queued(spool), []);
  });
});

/** Why a 256 KB tmpfs cannot be mounted here, or undefined when it can (root only). */
function tmpfsUnavailable(): string | undefined {
  if (Deno.uid() !== 0) return "mounting a tmpfs needs root";
  return undefined;
}

Deno.test({
  name:
    "a full disk is 452 (try again later), the partial file is removed and the next small mail is taken",
  ignore: missing(tmpfsUnavailable(), "the full-disk test"),
  async fn() {
    const mount = await Deno.makeTempDir({ prefix: "postie-full-" });
    const run = (cmd: string, args: string[]) => new Deno.Command(cmd, { args }).output();
    const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]);
    assert.ok(mounted.success, new TextDecoder().decode(mounted.stderr));
    try {
      const spool = new Spool(`${mount}/spool`);
      await spool.ensure();
      await withRelay({ sink: sinkFor(spool), maxSize: 10_000_000 }, async ({ port, events }) => {
        const c = await session(port);
        await c.send(ENVELOPE);
        for (let i = 0; i < 3; i++) await c.reply();
        await c.send("Subject: big\r\n\r\n" + ("x".repeat(998) + "\r\n").repeat(600) + ".\r\n");
        assert.equal(
          (await c.reply())!.text,
          "452 4.3.1 Insufficient system storage; try again later",
        );
        assert.match(events.at(-1)!, /^refused queue_trouble 452 /);
        assert.deepEqual([...Deno.readDirSync(`${mount}/spool/tmp`)], []);
        await c.send(ENVELOPE);
        for (let i = 0; i < 3; i++) await c.reply();
        assert.equal((await c.command("Subject: small\r\n\r\nfits\r\n."))?.code, 250);
        c.close();
      });
    } finally {
      await run("umount", [mount]);
      await Deno.remove(mount, { recursive: true });
    }
  },
});
