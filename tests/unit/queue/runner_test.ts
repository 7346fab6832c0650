import assert from "node:assert/strict";
import { Spool } from "../../../lib/queue/spool.ts";
import {
  type AccountPlan,
  type Deliverer,
  type DeliveryConnection,
  flushQueue,
  type SendOutcome,
} from "../../../lib/queue/runner.ts";
import { DEFAULT_POLICY } from "../../../lib/queue/policy.ts";
import type { QueueEnvelope } from "../../../lib/queue/format.ts";
import { SmtpReplyError } from "../../../lib/smtp/errors.ts";
import { connectFailed } from "../../../lib/net/errors.ts";

const enc = new TextEncoder();

/** What the fake server does with one mail. */
type Script = (rcpts: string[]) => SendOutcome | Error;

interface Sent {
  route: string;
  from: string;
  recipients: string[];
  body: string;
}

/** What the runner asked of one send: RSET first, and the mail named to follow. */
interface Asked {
  recipients: string[];
  reset: boolean;
  next?: string[];
}

/** The error of a connection found gone at the start of a mail. */
class Lost extends Error {}

/** A fake deliverer recording connections, sends and mails. */
class FakeDeliverer implements Deliverer {
  opens: string[] = [];
  closes = 0;
  sent: Sent[] = [];
  asked: Asked[] = [];
  down = new Set<string>();
  script: Script = (rcpts) => ({ accepted: rcpts, rejected: [] });
  /** Sends (counted from 0 over the run) that find their connection gone. */
  lose = new Set<number>();
  failover: string[] = [];
  policy = { ...DEFAULT_POLICY };

  plan(envelope: QueueEnvelope): Promise<AccountPlan> {
    return Promise.resolve({
      key: envelope.account,
      policy: this.policy,
      routes: [envelope.account, ...this.failover],
      hostname: "host.example",
    });
  }

  open(route: string): Promise<DeliveryConnection> {
    this.opens.push(route);
    if (this.down.has(route)) {
      return Promise.reject(connectFailed(route, 25, "Connection refused"));
    }
    const conn: DeliveryConnection = {
      send: async (envelope, message, options = {}) => {
        const attempt = this.asked.length;
        this.asked.push({
          recipients: envelope.recipients,
          reset: options.reset === true,
          ...(options.next ? { next: options.next.recipients } : {}),
        });
        if (this.lose.has(attempt)) throw new Lost("connection lost");
        const body = message instanceof Uint8Array
          ? new TextDecoder().decode(message)
          : await new Response(message).text();
        const result = this.script(envelope.recipients);
        if (result instanceof Error) throw result;
        this.sent.push({ route, from: envelope.from, recipients: result.accepted, body });
        return result;
      },
      lostAtStart: (error) => error instanceof Lost,
      close: () => {
        this.closes++;
        return Promise.resolve();
      },
    };
    return Promise.resolve(conn);
  }
}

async function setup(): Promise<Spool> {
  return new Spool(`${await Deno.makeTempDir()}/queue`);
}

async function queue(
  spool: Spool,
  from: string,
  recipients: string[],
  account = "work",
  now?: Date,
): Promise<string> {
  return await spool.enqueue(
    { from, recipients, selection: { account }, account },
    ReadableStream.from([enc.encode(`Subject: to ${recipients.join(",")}\r\n\r\nbody\r\n`)]),
    now,
  );
}

function reply(code: number, stage: "rcpt" | "end-of-data") {
  const text = code >= 500 ? "5.1.1 no such user" : "4.3.0 try later";
  return new SmtpReplyError("refused", 69, {
    stage,
    reply: { code, lines: [text], raw: [`${code} ${text}`], enhanced: text.split(" ")[0] },
  });
}

Deno.test("flush sends every mail of an account over one connection, each naming the next, no RSET after a mail the server took", async () => {
  const spool = await setup();
  for (const r of ["a@x", "b@x", "c@x"]) await queue(spool, "s@x", [r]);
  const fake = new FakeDeliverer();
  const report = await flushQueue(spool, fake);
  assert.deepEqual(fake.opens, ["work"]);
  assert.deepEqual(fake.asked, [
    { recipients: ["a@x"], reset: false, next: ["b@x"] },
    { recipients: ["b@x"], reset: false, next: ["c@x"] },
    { recipients: ["c@x"], reset: false },
  ]);
  assert.equal(fake.closes, 1);
  assert.deepEqual(fake.sent.map((s) => s.recipients[0]), ["a@x", "b@x", "c@x"]);
  assert.equal(fake.sent[0].body, "Subject: to a@x\r\n\r\nbody\r\n");
  assert.equal(report.delivered.length, 3);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("two accounts get one connection each", async () => {
  const spool = await setup();
  await queue(spool, "s@x", ["a@x"], "one");
  await queue(spool, "s@x", ["b@x"], "two");
  await queue(spool, "s@x", ["c@x"], "one");
  const fake = new FakeDeliverer();
  await flushQueue(spool, fake);
  assert.deepEqual(fake.opens, ["one", "two"]);
});

Deno.test("a server that is down defers with back-off and keeps the mail", async () => {
  const spool = await setup();
  const id = await queue(spool, "s@x", ["a@x"]);
  const fake = new FakeDeliverer();
  fake.down.add("work");
  const report = await flushQueue(spool, fake, { now: () => 1_000_000 });
  assert.deepEqual(report.deferred, [id]);
  const { entries } = await spool.list();
  assert.equal(entries[0].state.attempts, 1);
  assert.equal(entries[0].state.next, 1_000_000 + 300_000);
  assert.match(entries[0].state.error!, /cannot connect to work, port 25: Connection refused/);
  // the daemon waits for the back-off; -q (force) does not
  const again = await flushQueue(spool, fake, { now: () => 1_100_000 });
  assert.deepEqual(again.deferred, []);
  await flushQueue(spool, fake, { now: () => 1_100_000, force: true });
  assert.equal((await spool.list()).entries[0].state.next, 1_100_000 + 600_000);
});

Deno.test("a server that cannot be reached is tried once per run, not once per mail", async () => {
  const spool = await setup();
  const ids = [await queue(spool, "s@x", ["a@x"]), await queue(spool, "s@x", ["b@x"])];
  ids.push(await queue(spool, "s@x", ["c@x"]));
  const fake = new FakeDeliverer();
  fake.down.add("work");
  fake.failover = ["backup"];
  fake.down.add("backup");
  const report = await flushQueue(spool, fake);
  assert.deepEqual(fake.opens, ["work", "backup"]);
  assert.deepEqual(report.deferred, ids);
  for (const e of (await spool.list()).entries) {
    assert.equal(e.state.attempts, 1);
    assert.match(e.state.error!, /cannot connect to backup, port 25/);
  }
});

Deno.test("failover tries the next account's server in the same run", async () => {
  const spool = await setup();
  await queue(spool, "s@x", ["a@x"]);
  const fake = new FakeDeliverer();
  fake.down.add("work");
  fake.failover = ["backup", "third"];
  const report = await flushQueue(spool, fake);
  assert.deepEqual(fake.opens, ["work", "backup"]);
  assert.equal(fake.sent[0].route, "backup");
  assert.equal(report.delivered.length, 1);
});

Deno.test("4xx then 250: the mail is deferred, then delivered and removed", async () => {
  const spool = await setup();
  await queue(spool, "s@x", ["a@x"]);
  const fake = new FakeDeliverer();
  fake.script = () => reply(451, "end-of-data");
  const first = await flushQueue(spool, fake);
  assert.equal(first.deferred.length, 1);
  assert.equal(
    (await spool.list()).entries[0].state.error,
    "refused; server message: 451 4.3.0 try later",
  );
  fake.script = (r) => ({ accepted: r, rejected: [] });
  const second = await flushQueue(spool, fake, { force: true });
  assert.equal(second.delivered.length, 1);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a 5xx for some recipients bounces those and delivers the rest", async () => {
  const spool = await setup();
  const id = await queue(spool, "sender@x", ["good@x", "bad@x", "later@x"]);
  const fake = new FakeDeliverer();
  let round = 0;
  fake.script = (rcpts) => {
    round++;
    if (round === 1) {
      return {
        accepted: ["good@x"],
        rejected: [
          { address: "bad@x", code: 550, text: "550 5.1.1 no such user", enhanced: "5.1.1" },
          { address: "later@x", code: 450, text: "450 4.2.0 mailbox busy" },
        ],
      };
    }
    return { accepted: rcpts, rejected: [] };
  };
  const report = await flushQueue(spool, fake);
  // the bounce went out in the same run, to the sender, from the null sender
  const bounce = fake.sent.find((s) => s.from === "");
  assert.ok(bounce);
  assert.deepEqual(bounce.recipients, ["sender@x"]);
  assert.match(bounce.body, /Final-Recipient: rfc822; bad@x/);
  assert.doesNotMatch(bounce.body, /Final-Recipient: rfc822; good@x/);
  assert.equal(report.notifications.length, 1);
  // the mail stays for later@x only
  const { entries } = await spool.list();
  assert.deepEqual(entries.map((e) => e.id), [id]);
  assert.deepEqual(entries[0].state.done, ["good@x", "bad@x"]);
  await flushQueue(spool, fake, { force: true });
  assert.deepEqual(fake.sent.at(-1)!.recipients, ["later@x"]);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a whole-mail 5xx bounces once and the bounce itself never bounces", async () => {
  const spool = await setup();
  await queue(spool, "sender@x", ["bad@x"]);
  const fake = new FakeDeliverer();
  fake.script = () => reply(554, "end-of-data");
  const report = await flushQueue(spool, fake);
  // the notification was tried in the same run and refused too: it is dropped, not bounced
  assert.equal(report.notifications.length, 1);
  assert.equal(report.bounced.length, 2);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a null sender's failed mail makes no bounce", async () => {
  const spool = await setup();
  await queue(spool, "", ["bad@x"]);
  const fake = new FakeDeliverer();
  fake.script = () => reply(550, "rcpt");
  const lines: string[] = [];
  const report = await flushQueue(spool, fake, { log: (l) => lines.push(l) });
  assert.deepEqual(report.notifications, []);
  assert.deepEqual(await spool.ids(), []);
  assert.ok(lines.some((l) => l.includes("no notification (null sender)")));
});

Deno.test("NOTIFY without FAILURE (a relay client's NEVER or SUCCESS) makes no bounce; with FAILURE it does", async () => {
  for (
    const [notify, bounces] of [["NEVER", 0], ["SUCCESS,DELAY", 0], ["SUCCESS,FAILURE", 1]] as const
  ) {
    const spool = await setup();
    await spool.enqueue(
      {
        from: "sender@x",
        recipients: ["bad@x"],
        selection: { account: "work" },
        account: "work",
        dsn: { notify, ret: null, optional: true },
      },
      ReadableStream.from([enc.encode("Subject: s\r\n\r\nx\r\n")]),
    );
    const fake = new FakeDeliverer();
    fake.script = () => reply(550, "rcpt");
    const lines: string[] = [];
    const report = await flushQueue(spool, fake, { log: (l) => lines.push(l) });
    assert.equal(report.notifications.length, bounces, notify);
    assert.deepEqual(await spool.ids(), []);
    if (bounces === 0) {
      assert.ok(lines.some((l) => l.includes(`no notification (NOTIFY=${notify})`)));
    }
  }
});

Deno.test("each recipient's own NOTIFY decides its bounce; the bounce reports ENVID and ORCPT as Original-Envelope-Id and Original-Recipient", async () => {
  const spool = await setup();
  await spool.enqueue(
    {
      from: "sender@x",
      recipients: ["b@x", "c@x", "d@x", "e@x"],
      selection: { account: "work" },
      account: "work",
      dsn: {
        notify: null,
        ret: "HDRS",
        envid: "env+1=x",
        recipients: {
          "b@x": { notify: "FAILURE", orcpt: "rfc822;B+old@x" },
          "c@x": { notify: "NEVER", orcpt: "rfc822;C@x" },
          "e@x": { notify: "SUCCESS" },
        },
        optional: true,
      },
    },
    ReadableStream.from([enc.encode("Subject: s\r\n\r\nx\r\n")]),
  );
  const fake = new FakeDeliverer();
  let round = 0;
  fake.script = (rcpts) => {
    if (round++ > 0) return { accepted: rcpts, rejected: [] };
    return {
      accepted: [],
      rejected: rcpts.map((address) => ({
        address,
        code: 550,
        text: "550 5.1.1 no such user",
        enhanced: "5.1.1",
      })),
    };
  };
  const report = await flushQueue(spool, fake);
  assert.equal(report.notifications.length, 1);
  const bounce = fake.sent.find((s) => s.from === "")!;
  assert.deepEqual(bounce.recipients, ["sender@x"]);
  // b asked for FAILURE, d asked nothing (RFC 3461 §4.1: a notification); c NEVER, e SUCCESS
  assert.deepEqual(
    [...bounce.body.matchAll(/^Final-Recipient: (.*)\r$/gm)].map((m) => m[1]),
    ["rfc822; b@x", "rfc822; d@x"],
  );
  assert.match(
    bounce.body,
    /\r\nOriginal-Envelope-Id: env\+1=x\r\nReporting-MTA: dns; host\.example\r\n/,
  );
  assert.match(
    bounce.body,
    /\r\n\r\nOriginal-Recipient: rfc822;B\+old@x\r\nFinal-Recipient: rfc822; b@x\r\n/,
  );
  assert.match(bounce.body, /\r\n\r\nFinal-Recipient: rfc822; d@x\r\n/);
  assert.doesNotMatch(bounce.body, /Original-Recipient: rfc822;C@x/);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("RET=FULL brings the whole mail back in a bounce when it is at most 64 KiB; RET=HDRS and bigger mails only their headers", async () => {
  for (
    const [ret, size, full] of [
      ["FULL", 100, true],
      ["HDRS", 100, false],
      [null, 100, false],
      ["FULL", 70_000, false],
    ] as const
  ) {
    const spool = await setup();
    await spool.enqueue(
      {
        from: "sender@x",
        recipients: ["bad@x"],
        selection: { account: "work" },
        account: "work",
        ...(ret ? { dsn: { notify: null, ret, optional: true } } : {}),
      },
      ReadableStream.from([enc.encode(`Subject: s\r\n\r\nBODY${"x".repeat(size)}\r\n`)]),
    );
    const fake = new FakeDeliverer();
    let round = 0;
    fake.script = (rcpts) => round++ === 0 ? reply(550, "rcpt") : { accepted: rcpts, rejected: [] };
    await flushQueue(spool, fake);
    const bounce = fake.sent.find((s) => s.from === "")!;
    const name = `${ret} ${size}`;
    assert.equal(bounce.body.includes("\r\nContent-Type: message/rfc822\r\n"), full, name);
    assert.equal(bounce.body.includes("\r\nContent-Type: text/rfc822-headers\r\n"), !full, name);
    assert.equal(bounce.body.includes("\r\nSubject: s\r\n"), true, name);
    assert.equal(bounce.body.includes("\r\nBODYxxx"), full, name);
  }
});

Deno.test("when every failed recipient asked for no notification, none is made", async () => {
  const spool = await setup();
  await spool.enqueue(
    {
      from: "sender@x",
      recipients: ["b@x", "c@x"],
      selection: { account: "work" },
      account: "work",
      dsn: {
        notify: null,
        ret: null,
        recipients: { "b@x": { notify: "NEVER" }, "c@x": { notify: "SUCCESS,DELAY" } },
        optional: true,
      },
    },
    ReadableStream.from([enc.encode("Subject: s\r\n\r\nx\r\n")]),
  );
  const fake = new FakeDeliverer();
  fake.script = () => reply(550, "end-of-data");
  const lines: string[] = [];
  const report = await flushQueue(spool, fake, { log: (l) => lines.push(l) });
  assert.deepEqual(report.notifications, []);
  assert.ok(
    lines.some((l) => l.endsWith("no notification (NOTIFY=NEVER; NOTIFY=SUCCESS,DELAY)")),
    lines.join("\n"),
  );
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a run reports when the earliest mail it left waiting is due", async () => {
  const spool = await setup();
  await queue(spool, "sender@x", ["a@x"]);
  const fake = new FakeDeliverer();
  fake.down.add("work");
  const t = Date.UTC(2026, 11, 2, 8, 0, 0);
  const first = await flushQueue(spool, fake, { now: () => t });
  assert.equal(first.nextAttempt, t + DEFAULT_POLICY.backoffMin * 1000);
  // not due yet: skipped, and still reported
  const second = await flushQueue(spool, fake, { now: () => t + 1000 });
  assert.deepEqual(second.deferred, []);
  assert.equal(second.nextAttempt, t + DEFAULT_POLICY.backoffMin * 1000);
  await flushQueue(spool, new FakeDeliverer(), { force: true });
  assert.equal((await flushQueue(spool, fake)).nextAttempt, undefined);
});

Deno.test("an expired mail bounces with its last error and is not sent again", async () => {
  const spool = await setup();
  const queued = new Date(1_000_000);
  await queue(spool, "sender@x", ["slow@x"], "work", queued);
  const fake = new FakeDeliverer();
  fake.down.add("work");
  await flushQueue(spool, fake, { now: () => 2_000_000 });
  fake.down.clear();
  fake.script = (r) =>
    r.includes("slow@x") ? reply(451, "end-of-data") : { accepted: r, rejected: [] };
  const later = 1_000_000 + 5 * 86400_000;
  const report = await flushQueue(spool, fake, { now: () => later });
  assert.equal(report.bounced.length, 1);
  const bounce = fake.sent.find((s) => s.from === "")!;
  assert.match(bounce.body, /could not be delivered within 5 days/);
  assert.match(bounce.body, /Status: 4\.4\.7/);
  assert.ok(!fake.sent.some((s) => s.recipients.includes("slow@x")));
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a delay warning goes out once when queue_warn is set", async () => {
  const spool = await setup();
  await queue(spool, "sender@x", ["slow@x"], "work", new Date(0));
  const fake = new FakeDeliverer();
  fake.policy = { ...DEFAULT_POLICY, warn: 3600 };
  fake.script = (r) =>
    r.includes("slow@x") ? reply(451, "end-of-data") : { accepted: r, rejected: [] };
  await flushQueue(spool, fake, { now: () => 3600_000, force: true });
  await flushQueue(spool, fake, { now: () => 7200_000, force: true });
  const warnings = fake.sent.filter((s) => s.from === "");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].body, /Action: delayed/);
  assert.equal((await spool.ids()).length, 1);
});

Deno.test("a corrupt entry is moved aside with a log line and the others still go", async () => {
  const spool = await setup();
  await queue(spool, "s@x", ["a@x"]);
  const bad = "20200101T000000-0badc0de";
  await Deno.writeTextFile(`${spool.dir}/mail/${bad}`, '{"v":1}\nbody');
  await queue(spool, "s@x", ["b@x"]);
  const lines: string[] = [];
  const fake = new FakeDeliverer();
  const report = await flushQueue(spool, fake, { log: (l) => lines.push(l) });
  assert.equal(report.delivered.length, 2);
  assert.deepEqual(report.problems, [bad]);
  assert.ok(
    lines.some((l) => l.startsWith(`queue entry ${bad} is corrupt (the sender is missing)`)),
  );
  assert.ok(Deno.statSync(`${spool.dir}/corrupt/${bad}`).isFile);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("selections by id, recipient and sender take only matching mails", async () => {
  const spool = await setup();
  const a = await queue(spool, "alice@x", ["bob@y"]);
  await queue(spool, "carol@x", ["dave@y"]);
  const fake = new FakeDeliverer();
  await flushQueue(spool, fake, { select: { recipient: "BOB" } });
  await flushQueue(spool, fake, { select: { sender: "nobody" } });
  await flushQueue(spool, fake, { select: { id: "no-such-id" } });
  assert.deepEqual(fake.sent.map((s) => s.recipients[0]), ["bob@y"]);
  assert.ok(!(await spool.ids()).includes(a));
  await flushQueue(spool, fake, { select: { sender: "carol" } });
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("an aborted run stops after the mail in progress", async () => {
  const spool = await setup();
  for (const r of ["a@x", "b@x", "c@x"]) await queue(spool, "s@x", [r]);
  const controller = new AbortController();
  const fake = new FakeDeliverer();
  fake.script = (r) => {
    controller.abort();
    return { accepted: r, rejected: [] };
  };
  await flushQueue(spool, fake, { signal: controller.signal });
  assert.equal(fake.sent.length, 1);
  assert.equal((await spool.ids()).length, 2);
});

Deno.test("two runners at once never send one mail twice", async () => {
  const spool = await setup();
  for (let i = 0; i < 20; i++) await queue(spool, "s@x", [`r${i}@x`]);
  const fake = new FakeDeliverer();
  await Promise.all([flushQueue(spool, fake), flushQueue(spool, fake), flushQueue(spool, fake)]);
  const sent = fake.sent.map((s) => s.recipients[0]).sort();
  assert.equal(sent.length, 20);
  assert.equal(new Set(sent).size, 20);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a run for one whole id touches no other entry (queue fallback's own mail)", async () => {
  const spool = await setup();
  const bad = "20200101T000000-0badc0de";
  const id = await queue(spool, "s@x", ["a@x"]);
  await Deno.writeTextFile(`${spool.dir}/mail/${bad}`, "garbage");
  const fake = new FakeDeliverer();
  const report = await flushQueue(spool, fake, { select: { id } });
  assert.deepEqual(report.delivered, [id]);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(await spool.ids(), [bad]);
});

Deno.test("after a mail refused for good the next one starts with RSET; after a delivered one it does not", async () => {
  const spool = await setup();
  for (const r of ["a@x", "bad@x", "c@x", "d@x"]) await queue(spool, "s@x", [r]);
  const fake = new FakeDeliverer();
  fake.script = (r) => r[0] === "bad@x" ? reply(550, "rcpt") : { accepted: r, rejected: [] };
  const report = await flushQueue(spool, fake);
  // the bounce for bad@x goes out in the same run, over a connection of its own pass
  assert.deepEqual(fake.asked.slice(0, 4), [
    { recipients: ["a@x"], reset: false, next: ["bad@x"] },
    { recipients: ["bad@x"], reset: false, next: ["c@x"] },
    { recipients: ["c@x"], reset: true, next: ["d@x"] },
    { recipients: ["d@x"], reset: false },
  ]);
  assert.equal(report.delivered.length, 3 + report.notifications.length);
  assert.equal(fake.opens.length, 2);
});

Deno.test("a connection found gone at the start of a later mail is reopened and that mail sent again; the mail is not deferred", async () => {
  const spool = await setup();
  for (const r of ["a@x", "b@x", "c@x"]) await queue(spool, "s@x", [r]);
  const fake = new FakeDeliverer();
  fake.lose.add(1);
  const report = await flushQueue(spool, fake);
  assert.deepEqual(fake.opens, ["work", "work"]);
  assert.deepEqual(fake.asked.map((a) => a.recipients[0]), ["a@x", "b@x", "b@x", "c@x"]);
  assert.deepEqual(fake.sent.map((s) => s.recipients[0]), ["a@x", "b@x", "c@x"]);
  assert.deepEqual(report.deferred, []);
  assert.deepEqual(await spool.ids(), []);
});

Deno.test("a first mail whose new connection is gone is not sent twice: it waits", async () => {
  const spool = await setup();
  const id = await queue(spool, "s@x", ["a@x"]);
  const fake = new FakeDeliverer();
  fake.lose.add(0);
  const report = await flushQueue(spool, fake);
  assert.deepEqual(fake.opens, ["work"]);
  assert.equal(fake.asked.length, 1);
  assert.deepEqual(report.deferred, [id]);
});

Deno.test("a mail found gone twice in a row is reopened once, then waits", async () => {
  const spool = await setup();
  for (const r of ["a@x", "b@x"]) await queue(spool, "s@x", [r]);
  const fake = new FakeDeliverer();
  fake.lose.add(1).add(2);
  const report = await flushQueue(spool, fake);
  assert.deepEqual(fake.asked.map((a) => a.recipients[0]), ["a@x", "b@x", "b@x"]);
  assert.equal(report.deferred.length, 1);
});

Deno.test("a run being stopped names no mail to follow the one in progress", async () => {
  const spool = await setup();
  for (const r of ["a@x", "b@x", "c@x"]) await queue(spool, "s@x", [r]);
  const controller = new AbortController();
  const fake = new FakeDeliverer();
  fake.script = (r) => {
    if (r[0] === "b@x") controller.abort();
    return { accepted: r, rejected: [] };
  };
  await flushQueue(spool, fake, { signal: controller.signal });
  assert.deepEqual(fake.asked, [
    { recipients: ["a@x"], reset: false, next: ["b@x"] },
    { recipients: ["b@x"], reset: false, next: ["c@x"] },
  ]);
  assert.equal((await spool.ids()).length, 1);
});
