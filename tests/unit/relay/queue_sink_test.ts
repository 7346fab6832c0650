/**
 * The relay's sink over postie's queue, with a real configuration file and queue
 * directory: the mail is prepared for the account its sender selects (or the fixed one),
 * recorded so the queue runner finds that account again, and queued durably; trouble is
 * a SinkError of the right kind.
 */

import assert from "node:assert/strict";
import { realEnv } from "../../../lib/config/resolve.ts";
import { Spool } from "../../../lib/queue/spool.ts";
import { QueueSink } from "../../../lib/relay/queue_sink.ts";
import { type RelayEnvelope, SinkError } from "../../../lib/relay/sink.ts";

const RC = `defaults
host 127.0.0.1
account default
from relay@example.org
account work
from *@work.example
dsn_notify failure
`;

function envelope(from: string, notify: (string[] | null)[] = [null]): RelayEnvelope {
  return {
    from,
    recipients: notify.map((n, i) => ({ address: `r${i}@example.net`, notify: n, orcpt: null })),
    dsn: { ret: null, envid: null },
    eightBit: false,
    smtpUtf8: false,
    clientAddress: "127.0.0.1",
    clientHelo: "client.test",
    user: null,
    receivedAt: new Date(),
  };
}

function body(text: string): ReadableStream<Uint8Array> {
  return ReadableStream.from([new TextEncoder().encode(text)]);
}

async function withSink(
  fn: (sink: QueueSink, spool: Spool, dir: string) => Promise<void>,
  selection: { account?: string } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "postie-sink-" });
  try {
    await Deno.writeTextFile(`${dir}/rc`, RC, { mode: 0o600 });
    const spool = new Spool(`${dir}/queue`);
    const sink = new QueueSink({
      spool,
      selection: { configFile: `${dir}/rc`, ...selection },
      configEnv: realEnv({ HOME: dir }),
    });
    await fn(sink, spool, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a relayed mail is queued for the account its sender selects, with that account's header rules applied", async () => {
  await withSink(async (sink, spool, dir) => {
    const id = await sink.accept(envelope("me@work.example"), body("Subject: hi\r\n\r\nbody\r\n"));
    const entry = await spool.read(id);
    assert.equal(entry.envelope.account, "work");
    assert.deepEqual(entry.envelope.selection, { configFile: `${dir}/rc`, account: "work" });
    assert.equal(entry.envelope.from, "me@work.example");
    assert.deepEqual(entry.envelope.recipients, ["r0@example.net"]);
    // the account's own DSN wins over the client's and is not optional
    assert.deepEqual(entry.envelope.dsn, { notify: "FAILURE", ret: null });
    const text = await Deno.readTextFile(`${dir}/queue/mail/${id}`);
    const message = text.slice(text.indexOf("\n") + 1);
    assert.match(message, /^Date: /m);
    assert.match(message, /^Message-ID: </m);
    assert.match(message, /^From: me@work\.example\r$/m);
    assert.match(message, /^Subject: hi\r$/m);
    assert.ok(message.endsWith("\r\n\r\nbody\r\n"));

    const other = await sink.accept(
      envelope("someone@else.example"),
      body("Subject: x\r\n\r\ny\r\n"),
    );
    assert.equal((await spool.read(other)).envelope.account, "default");
  });
});

Deno.test("with a fixed account (-a) every sender goes through it", async () => {
  await withSink(async (sink, spool) => {
    const id = await sink.accept(envelope("me@work.example"), body("Subject: hi\r\n\r\nx\r\n"));
    assert.equal((await spool.read(id)).envelope.account, "default");
  }, { account: "default" });
});

Deno.test("a client's DSN is queued as optional: a NOTIFY every recipient gave alike for the mail, different ones per recipient", async () => {
  await withSink(async (sink, spool) => {
    const same = await sink.accept(
      envelope("a@example.org", [["SUCCESS", "FAILURE"], ["SUCCESS", "FAILURE"]]),
      body("Subject: d\r\n\r\nx\r\n"),
    );
    assert.deepEqual((await spool.read(same)).envelope.dsn, {
      notify: "SUCCESS,FAILURE",
      ret: null,
      optional: true,
    });
    const mixed = await sink.accept(
      envelope("a@example.org", [["NEVER"], null, ["FAILURE", "DELAY"]]),
      body("Subject: d\r\n\r\nx\r\n"),
    );
    assert.deepEqual((await spool.read(mixed)).envelope.dsn, {
      notify: null,
      ret: null,
      recipients: {
        "r0@example.net": { notify: "NEVER" },
        "r2@example.net": { notify: "FAILURE,DELAY" },
      },
      optional: true,
    });
    const none = await sink.accept(
      envelope("a@example.org", [null, null]),
      body("S: d\r\n\r\nx\r\n"),
    );
    assert.equal((await spool.read(none)).envelope.dsn, undefined);
  });
});

Deno.test("ENVID and ORCPT are queued as the client gave them (decoded), with the account's own NOTIFY and RET too", async () => {
  await withSink(async (sink, spool) => {
    const given = {
      ...envelope("me@work.example", [["NEVER"]]),
      dsn: { ret: "HDRS" as const, envid: "id+1=x" },
    };
    given.recipients[0].orcpt = "rfc822;old+1@example.net";
    // account "work" sets dsn_notify failure: its NOTIFY wins and the parameters are not optional
    const id = await sink.accept(given, body("Subject: d\r\n\r\nx\r\n"));
    assert.deepEqual((await spool.read(id)).envelope.dsn, {
      notify: "FAILURE",
      ret: null,
      envid: "id+1=x",
      recipients: { "r0@example.net": { orcpt: "rfc822;old+1@example.net" } },
    });
    const other = await sink.accept(
      { ...given, from: "someone@else.example" },
      body("Subject: d\r\n\r\nx\r\n"),
    );
    assert.deepEqual((await spool.read(other)).envelope.dsn, {
      notify: "NEVER",
      ret: "HDRS",
      envid: "id+1=x",
      recipients: { "r0@example.net": { orcpt: "rfc822;old+1@example.net" } },
      optional: true,
    });
  });
});

Deno.test("a queue that cannot be written is 'unavailable' (451) and leaves nothing behind; a broken configuration too", async () => {
  await withSink(async (_sink, _spool, dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const bad = new QueueSink({
      spool: new Spool(`${dir}/file/queue`),
      selection: { configFile: `${dir}/rc` },
      configEnv: realEnv({ HOME: dir }),
    });
    const e = await bad.accept(envelope("a@example.org"), body("Subject: s\r\n\r\nx\r\n")).then(
      () => assert.fail("queued"),
      (error) => error,
    );
    assert.ok(e instanceof SinkError);
    assert.equal(e.trouble, "unavailable");
    assert.equal(await bad.writable(), false);

    await Deno.writeTextFile(`${dir}/rc`, "account default\nport notanumber\n");
    const broken = new QueueSink({
      spool: new Spool(`${dir}/queue`),
      selection: { configFile: `${dir}/rc` },
      configEnv: realEnv({ HOME: dir }),
    });
    const b = await broken.accept(envelope("a@example.org"), body("Subject: s\r\n\r\nx\r\n")).then(
      () => assert.fail("queued"),
      (error) => error,
    );
    assert.ok(b instanceof SinkError);
    assert.equal(b.trouble, "unavailable");
    assert.match(b.message, /^no account for <a@example\.org>: .*rc.*line 2/);
    assert.deepEqual(await new Spool(`${dir}/queue`).ids(), []);
  });
});

Deno.test("a recipient an alias expanded goes without the NOTIFY and ORCPT given for the alias; the others keep theirs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-sink-" });
  try {
    await Deno.writeTextFile(`${dir}/aliases`, "team: x@example.net, y@example.net\n");
    await Deno.writeTextFile(
      `${dir}/rc`,
      `account default\nhost 127.0.0.1\nfrom relay@example.org\naliases ${dir}/aliases\n`,
      { mode: 0o600 },
    );
    const spool = new Spool(`${dir}/queue`);
    const sink = new QueueSink({
      spool,
      selection: { configFile: `${dir}/rc` },
      configEnv: realEnv({ HOME: dir }),
    });
    const given = envelope("a@example.org", [["NEVER"], ["NEVER"]]);
    given.recipients[0] = { address: "team", notify: ["NEVER"], orcpt: "rfc822;team" };
    given.recipients[1].orcpt = "rfc822;r1@example.net";
    const id = await sink.accept(given, body("Subject: d\r\n\r\nx\r\n"));
    const { envelope: queued } = await spool.read(id);
    assert.deepEqual(queued.recipients, ["x@example.net", "y@example.net", "r1@example.net"]);
    assert.deepEqual(queued.dsn, {
      notify: null,
      ret: null,
      recipients: { "r1@example.net": { notify: "NEVER", orcpt: "rfc822;r1@example.net" } },
      optional: true,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
