/**
 * A queue run over real SMTP (the runner, SmtpDeliverer, SmtpConnection and the session)
 * against a scripted server on loopback: the exact command sequence of a flush. Mails follow
 * each other on one connection, the next one's RSET, MAIL, RCPT and DATA sent behind the last
 * one's data; a mail that failed at MAIL, RCPT, DATA or the end of data is followed by RSET
 * before the next mail's MAIL; a server that hangs up between mails costs a new connection,
 * not a deferred mail. The mails come from the null sender, so no bounce joins the dialogue.
 */

import assert from "node:assert/strict";
import { realEnv } from "../../../lib/config/resolve.ts";
import { flushQueue } from "../../../lib/queue/runner.ts";
import { SmtpDeliverer } from "../../../lib/queue/smtp_deliverer.ts";
import { Spool } from "../../../lib/queue/spool.ts";
import { newQueueId } from "../../../lib/queue/format.ts";
import { listenScriptedPeer, type ScriptedPeer } from "../../support/scripted_peer.ts";

const enc = new TextEncoder();

/** Queues one mail from the null sender to each recipient, flushes, returns the run. */
async function flush(
  recipients: string[],
  setup: (peer: ScriptedPeer, index: number) => void,
) {
  let accepted = 0;
  const server = listenScriptedPeer(
    { capabilities: ["PIPELINING"] },
    (peer) => setup(peer, accepted++),
  );
  const dir = await Deno.makeTempDir({ prefix: "postie-flush-" });
  try {
    await Deno.writeTextFile(
      `${dir}/rc`,
      `account default\nhost 127.0.0.1\nport ${server.port}\nfrom q@example.org\ntimeout 10\n`,
      { mode: 0o600 },
    );
    const spool = new Spool(`${dir}/queue`);
    for (const to of recipients) {
      await spool.enqueue(
        { from: "", recipients: [to], selection: { configFile: `${dir}/rc` }, account: "default" },
        ReadableStream.from([enc.encode(`Subject: to ${to}\n\nmail for ${to}\n`)]),
      );
    }
    const deliverer = new SmtpDeliverer({ configEnv: realEnv({ HOME: dir }) });
    const report = await flushQueue(spool, deliverer, { force: true });
    const left = (await spool.list()).entries.map((e) => e.envelope.recipients[0]);
    return { report, left, peers: server.peers };
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The commands of a connection, greeting and EHLO left out, addresses shortened. */
function dialogue(peer: ScriptedPeer): string[] {
  return peer.commands.slice(1).map((c) => c.replace(/^(MAIL FROM|RCPT TO):<(.*)>$/, "$1 $2"));
}

const ENVELOPE = (to: string) => ["MAIL FROM ", `RCPT TO ${to}`, "DATA"];

Deno.test("mails follow each other on one connection, the next envelope behind the last data, RSET in front of it", async () => {
  const { report, left, peers } = await flush(
    ["a@x.example", "b@x.example", "c@x.example"],
    () => {},
  );
  assert.equal(peers.length, 1);
  assert.deepEqual(dialogue(peers[0]), [
    ...ENVELOPE("a@x.example"),
    ".",
    "RSET",
    ...ENVELOPE("b@x.example"),
    ".",
    "RSET",
    ...ENVELOPE("c@x.example"),
    ".",
    "QUIT",
  ]);
  assert.equal(
    peers[0].data,
    ["a", "b", "c"].map((n) => `Subject: to ${n}@x.example\r\n\r\nmail for ${n}@x.example\r\n`)
      .join(""),
  );
  assert.equal(report.delivered.length, 3);
  assert.deepEqual(left, []);
});

Deno.test("a mail refused at MAIL is followed by RSET before the next mail's MAIL", async () => {
  const { left, peers } = await flush(["a@x.example", "b@x.example"], (peer) => {
    peer.on("MAIL", "550 5.7.1 sender refused");
    peer.on("RCPT", "503 5.5.1 Error: need MAIL command");
    peer.on("DATA", "503 5.5.1 Error: need RCPT command");
  });
  assert.equal(peers.length, 1);
  assert.deepEqual(dialogue(peers[0]), [
    ...ENVELOPE("a@x.example"),
    "RSET",
    ...ENVELOPE("b@x.example"),
    ".",
    "QUIT",
  ]);
  assert.equal(peers[0].data, "Subject: to b@x.example\r\n\r\nmail for b@x.example\r\n");
  // refused for good, from the null sender: gone without a bounce
  assert.deepEqual(left, []);
});

Deno.test("a mail refused at RCPT is followed by RSET before the next mail's MAIL", async () => {
  const { left, peers } = await flush(["a@x.example", "b@x.example"], (peer) => {
    peer.on("RCPT", "550 5.1.1 no such user");
    peer.on("DATA", "554 5.5.1 Error: no valid recipients");
  });
  assert.deepEqual(dialogue(peers[0]), [
    ...ENVELOPE("a@x.example"),
    "RSET",
    ...ENVELOPE("b@x.example"),
    ".",
    "QUIT",
  ]);
  assert.deepEqual(left, []);
});

Deno.test("a mail refused at DATA is followed by RSET before the next mail's MAIL", async () => {
  const { left, peers } = await flush(["a@x.example", "b@x.example"], (peer) => {
    peer.on("DATA", "554 5.7.1 no mail from you today");
  });
  assert.deepEqual(dialogue(peers[0]), [
    ...ENVELOPE("a@x.example"),
    "RSET",
    ...ENVELOPE("b@x.example"),
    ".",
    "QUIT",
  ]);
  assert.deepEqual(left, []);
});

Deno.test("a mail refused for good at the end of data is followed by RSET before the next mail's MAIL", async () => {
  const { report, left, peers } = await flush(["a@x.example", "b@x.example"], (peer) => {
    peer.on(".", "554 5.7.1 rejected as spam");
  });
  assert.equal(peers.length, 1);
  assert.deepEqual(dialogue(peers[0]), [
    ...ENVELOPE("a@x.example"),
    ".",
    "RSET",
    ...ENVELOPE("b@x.example"),
    ".",
    "QUIT",
  ]);
  assert.equal(report.delivered.length, 1);
  assert.deepEqual(left, []);
});

Deno.test("after a 4xx at the end of data the connection is given up before the next mail's data, which goes over a new one, once", async () => {
  const { report, left, peers } = await flush(["a@x.example", "b@x.example"], (peer, index) => {
    if (index === 0) peer.on(".", "451 4.3.0 try again later");
  });
  assert.equal(peers.length, 2);
  // b's envelope had gone out behind a's data; no data and no QUIT follow it there
  assert.deepEqual(dialogue(peers[0]), [
    ...ENVELOPE("a@x.example"),
    ".",
    "RSET",
    ...ENVELOPE("b@x.example"),
  ]);
  assert.equal(peers[0].data, "Subject: to a@x.example\r\n\r\nmail for a@x.example\r\n");
  assert.deepEqual(dialogue(peers[1]), [...ENVELOPE("b@x.example"), ".", "QUIT"]);
  assert.equal(peers[1].data, "Subject: to b@x.example\r\n\r\nmail for b@x.example\r\n");
  assert.equal(report.deferred.length, 1);
  assert.deepEqual(left, ["a@x.example"]);
});

Deno.test("a server that hangs up after a mail's 250 costs a new connection for the next mail, not a deferral", async () => {
  const { report, left, peers } = await flush(["a@x.example", "b@x.example"], (peer, index) => {
    if (index === 0) peer.on(".", ["250 2.0.0 Ok: queued", null]);
  });
  assert.equal(peers.length, 2);
  assert.equal(peers[0].data, "Subject: to a@x.example\r\n\r\nmail for a@x.example\r\n");
  assert.deepEqual(dialogue(peers[1]), [...ENVELOPE("b@x.example"), ".", "QUIT"]);
  assert.deepEqual(report.deferred, []);
  assert.equal(report.delivered.length, 2);
  assert.deepEqual(left, []);
});

Deno.test("a server answering 421 to the next mail's RSET costs a new connection too", async () => {
  const { report, left, peers } = await flush(["a@x.example", "b@x.example"], (peer, index) => {
    if (index === 0) peer.on("RSET", ["421 4.7.0 too many mails, closing", null]);
  });
  assert.equal(peers.length, 2);
  assert.deepEqual(dialogue(peers[1]), [...ENVELOPE("b@x.example"), ".", "QUIT"]);
  assert.deepEqual(report.deferred, []);
  assert.deepEqual(left, []);
});

/**
 * Writes queue entries as files, the envelope line given as text (as an earlier version
 * wrote it), flushes them to a scripted server with `capabilities`, returns its dialogue.
 */
async function flushEntries(
  lines: ((rc: string, queued: number) => string)[],
  capabilities: string[],
): Promise<{ dialogue: string[]; left: number }> {
  const server = listenScriptedPeer({ capabilities });
  const dir = await Deno.makeTempDir({ prefix: "postie-flush-" });
  try {
    const rc = `${dir}/rc`;
    await Deno.writeTextFile(
      rc,
      `account default\nhost 127.0.0.1\nport ${server.port}\nfrom q@example.org\ntimeout 10\n`,
      { mode: 0o600 },
    );
    const spool = new Spool(`${dir}/queue`);
    await spool.ensure();
    for (const [i, line] of lines.entries()) {
      const queued = new Date(Date.now() + i * 1000);
      const id = newQueueId(queued);
      await Deno.writeTextFile(
        `${dir}/queue/mail/${id}`,
        `${line(rc, queued.getTime())}\nSubject: ${i}\n\nbody ${i}\n`,
        { mode: 0o600 },
      );
    }
    const deliverer = new SmtpDeliverer({ configEnv: realEnv({ HOME: dir }) });
    const report = await flushQueue(spool, deliverer, { force: true });
    assert.deepEqual(report.problems, []);
    return {
      dialogue: server.peers.flatMap((p) => p.commands.slice(1)),
      left: (await spool.ids()).length,
    };
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** An entry as the queue wrote it before ENVID and ORCPT were kept: a relay client's NOTIFY. */
const OLD_ENTRY = (rc: string, queued: number) =>
  `{"v":1,"from":"s@x.example","recipients":["a@x.example"],"selection":{"configFile":"${rc}"},` +
  `"account":"default","queued":${queued},"dsn":{"notify":"FAILURE","ret":"HDRS","optional":true}}`;

/** An entry with ENVID and per-recipient NOTIFY and ORCPT. */
const NEW_ENTRY = (rc: string, queued: number) =>
  JSON.stringify({
    v: 1,
    from: "s@x.example",
    recipients: ["b@x.example", "c@x.example"],
    selection: { configFile: rc },
    account: "default",
    queued,
    dsn: {
      notify: null,
      ret: "FULL",
      envid: "env 1+x",
      recipients: {
        "b@x.example": { notify: "FAILURE,DELAY", orcpt: "rfc822;B+old@x.example" },
        "c@x.example": { notify: "NEVER" },
      },
      optional: true,
    },
  });

Deno.test("an entry written before ENVID and ORCPT were kept goes out as before; a new one carries them, per recipient", async () => {
  const { dialogue, left } = await flushEntries([OLD_ENTRY, NEW_ENTRY], ["DSN"]);
  assert.deepEqual(dialogue, [
    "MAIL FROM:<s@x.example> RET=HDRS",
    "RCPT TO:<a@x.example> NOTIFY=FAILURE",
    "DATA",
    ".",
    "MAIL FROM:<s@x.example> RET=FULL ENVID=env+201+2Bx",
    "RCPT TO:<b@x.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;B+2Bold@x.example",
    "RCPT TO:<c@x.example> NOTIFY=NEVER",
    "DATA",
    ".",
    "QUIT",
  ]);
  assert.equal(left, 0);
});

Deno.test("a relay client's DSN parameters are left out, old entry or new, where the server does not offer DSN", async () => {
  const { dialogue, left } = await flushEntries([OLD_ENTRY, NEW_ENTRY], []);
  assert.deepEqual(dialogue, [
    "MAIL FROM:<s@x.example>",
    "RCPT TO:<a@x.example>",
    "DATA",
    ".",
    "MAIL FROM:<s@x.example>",
    "RCPT TO:<b@x.example>",
    "RCPT TO:<c@x.example>",
    "DATA",
    ".",
    "QUIT",
  ]);
  assert.equal(left, 0);
});
