import assert from "node:assert/strict";
import { QueueError, Spool } from "../../../lib/queue/spool.ts";
import { decodeEnvelope, isQueueId, QueueFormatError } from "../../../lib/queue/format.ts";

const enc = new TextEncoder();

function envelope(from = "a@example.org", recipients = ["b@example.net"]) {
  return { from, recipients, selection: { account: "work" }, account: "work" };
}

async function tempSpool(): Promise<Spool> {
  return new Spool(`${await Deno.makeTempDir()}/queue`);
}

Deno.test("enqueue() commits the mail under mail/ and leaves nothing in tmp/", async () => {
  const spool = await tempSpool();
  const message = enc.encode("Subject: hi\r\n\r\nbody\r\n");
  const id = await spool.enqueue(envelope(), ReadableStream.from([message]));
  assert.ok(isQueueId(id));
  assert.deepEqual(await spool.ids(), [id]);
  assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)], []);
  const { entries, problems } = await spool.list();
  assert.equal(problems.length, 0);
  assert.equal(entries[0].size, message.length);
  assert.deepEqual(entries[0].envelope.recipients, ["b@example.net"]);
  assert.equal(entries[0].state.attempts, 0);
  const mode = Deno.statSync(`${spool.dir}/mail/${id}`).mode! & 0o777;
  assert.equal(mode, 0o600);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("a claimed entry streams back the exact bytes it was given", async () => {
  const spool = await tempSpool();
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  const id = await spool.enqueue(
    envelope(),
    ReadableStream.from([big.slice(0, 1000), big.slice(1000)]),
  );
  const entry = await spool.claim(id);
  assert.ok(entry);
  const back = new Uint8Array(await new Response(entry.message()).arrayBuffer());
  assert.deepEqual(back, big);
  entry.release();
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("a second claim of a held entry gets nothing, and a removed entry is gone", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  const first = await spool.claim(id);
  assert.ok(first);
  assert.equal(await spool.claim(id), null);
  await first.saveState({ attempts: 1, next: 5, done: [], error: "451 later" });
  await first.remove();
  // out of the queue at once, while the lock is still held
  assert.deepEqual(await spool.ids(), []);
  first.release();
  assert.equal(await spool.claim(id), null);
  // the files go in the background; a run waits for them at its end
  await spool.settle();
  assert.deepEqual([...Deno.readDirSync(`${spool.dir}/state`)], []);
  assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)], []);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("saved state is read back by listings and later claims", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  const entry = (await spool.claim(id))!;
  await entry.saveState({ attempts: 2, next: 1234, done: ["b@example.net"], error: "boom" });
  entry.release();
  const { entries } = await spool.list();
  assert.deepEqual(entries[0].state, {
    attempts: 2,
    next: 1234,
    done: ["b@example.net"],
    error: "boom",
  });
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("a corrupt entry is reported by claim and can be moved aside", async () => {
  const spool = await tempSpool();
  await spool.ensure();
  const id = "20261202T080000-deadbeef";
  await Deno.writeTextFile(`${spool.dir}/mail/${id}`, "not json\nbody\n");
  await assert.rejects(spool.claim(id), QueueFormatError);
  const { problems } = await spool.list();
  assert.deepEqual(problems, [{ id, reason: "the envelope line is not JSON" }]);
  assert.equal(await spool.moveAside(id), true);
  assert.deepEqual(await spool.ids(), []);
  assert.ok(Deno.statSync(`${spool.dir}/corrupt/${id}`).isFile);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("files that are not queue ids are ignored", async () => {
  const spool = await tempSpool();
  await spool.ensure();
  await Deno.writeTextFile(`${spool.dir}/mail/README`, "x");
  assert.deepEqual(await spool.ids(), []);
  assert.equal(await spool.delete("../state/x"), false);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("delete() removes an entry and refuses one being delivered", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  const held = (await spool.claim(id))!;
  await assert.rejects(spool.delete(id), QueueError);
  held.release();
  assert.equal(await spool.delete(id), true);
  assert.equal(await spool.delete(id), false);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("a message stream that fails leaves nothing behind and says why", async () => {
  const spool = await tempSpool();
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("stdin went away"));
    },
  });
  await assert.rejects(spool.enqueue(envelope(), failing), /stdin went away/);
  assert.deepEqual(await spool.ids(), []);
  assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)], []);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("sweep() removes old temporary files and orphaned state, nothing else", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  await Deno.writeTextFile(`${spool.dir}/tmp/old`, "partial");
  await Deno.writeTextFile(`${spool.dir}/state/20261202T080000-00000000`, "{}");
  const later = Date.now() + 2 * 3600 * 1000;
  assert.equal(await spool.sweep(later), 2);
  assert.deepEqual(await spool.ids(), [id]);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("headers() returns the header block of the stored mail", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(
    envelope(),
    ReadableStream.from([enc.encode("Subject: a\nFrom: b\n\nbody\n")]),
  );
  const entry = (await spool.claim(id))!;
  assert.equal(new TextDecoder().decode(await entry.headers()), "Subject: a\nFrom: b\n");
  entry.release();
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("an unreadable state file resets the mail's state instead of losing the mail", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  await Deno.writeTextFile(`${spool.dir}/state/${id}`, "{not json");
  const entry = await spool.claim(id);
  assert.ok(entry);
  assert.equal(entry.state.attempts, 0);
  assert.equal(entry.state.error, "the state file was unreadable and was reset");
  entry.release();
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("stats give the depth and the oldest mail's age; writable says whether a mail could be queued", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-stats-" });
  try {
    const spool = new Spool(`${dir}/queue`);
    assert.deepEqual(await spool.stats(), { depth: 0, oldestAgeSeconds: 0 });
    assert.equal(await spool.writable(), true);
    const message = () =>
      ReadableStream.from([new TextEncoder().encode("Subject: s\r\n\r\nx\r\n")]);
    const envelope = {
      from: "a@example.org",
      recipients: ["b@example.org"],
      selection: {},
      account: "a",
    };
    const t0 = Date.UTC(2026, 11, 2, 8, 0, 0);
    await spool.enqueue(envelope, message(), new Date(t0));
    await spool.enqueue(envelope, message(), new Date(t0 + 30_000));
    assert.deepEqual(await spool.stats(t0 + 90_000), { depth: 2, oldestAgeSeconds: 90 });
    assert.deepEqual([...Deno.readDirSync(`${dir}/queue/tmp`)], []);
    await Deno.writeTextFile(`${dir}/file`, "");
    assert.equal(await new Spool(`${dir}/file/queue`).writable(), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a delivered mail a crash left in tmp/ is removed by the next sweep, whatever its age", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  // what remove() leaves until the unlink: the mail moved out of mail/
  await Deno.rename(`${spool.dir}/mail/${id}`, `${spool.dir}/tmp/${id}.sent`);
  await Deno.writeTextFile(`${spool.dir}/tmp/young-temporary-file`, "");
  assert.equal(await spool.sweep(), 1);
  assert.deepEqual([...Deno.readDirSync(`${spool.dir}/tmp`)].map((e) => e.name), [
    "young-temporary-file",
  ]);
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("a claim with the listing reads the envelope once and the mail whole; without, it reads both", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(
    envelope(),
    ReadableStream.from([enc.encode("Subject: s\n\nbody\n")]),
  );
  const listing = await spool.read(id, { state: false });
  for (const known of [listing, undefined]) {
    const entry = (await spool.claim(id, known))!;
    assert.deepEqual(entry.envelope, listing.envelope);
    assert.equal(new TextDecoder().decode(entry.bytes()!), "Subject: s\n\nbody\n");
    assert.equal(await new Response(entry.message()).text(), "Subject: s\n\nbody\n");
    assert.equal(entry.size, 17);
    entry.release();
  }
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("a claim with a listing of an entry that was delivered and removed since gets nothing", async () => {
  const spool = await tempSpool();
  const id = await spool.enqueue(envelope(), ReadableStream.from([enc.encode("x\n")]));
  const listing = await spool.read(id);
  const other = (await spool.claim(id))!;
  await other.remove();
  other.release();
  assert.equal(await spool.claim(id, listing), null);
  await spool.settle();
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("readStates() settles the states of held entries with one listing: saved ones read back, the others fresh", async () => {
  const spool = await tempSpool();
  const ids: string[] = [];
  for (const to of ["a@x.example", "b@x.example", "c@x.example"]) {
    ids.push(
      await spool.enqueue(envelope(undefined, [to]), ReadableStream.from([enc.encode("x\n")])),
    );
  }
  const tried = (await spool.claim(ids[1]))!;
  await tried.saveState({ attempts: 3, next: 77, done: ["z@x.example"], error: "451 later" });
  tried.release();
  const held = await Promise.all(ids.map((id) => spool.claim(id)));
  spool.readStates(held.map((e) => e!));
  // the state directory is gone now: whatever was not settled by the listing would fail
  await Deno.rename(`${spool.dir}/state`, `${spool.dir}/state.moved`);
  assert.deepEqual(held.map((e) => e!.state.attempts), [0, 3, 0]);
  assert.deepEqual(held[1]!.state.done, ["z@x.example"]);
  for (const e of held) e!.release();
  await Deno.remove(spool.dir, { recursive: true });
});

Deno.test("envelope lines with and without the DSN fields are read; DSN fields of the wrong type are not", () => {
  const base = `"v":1,"from":"a@x","recipients":["b@x"],"selection":{},"account":"d","queued":1`;
  // as earlier versions wrote them: no dsn, an account's, a relay client's NOTIFY and RET
  assert.equal(decodeEnvelope(`{${base}}`).dsn, undefined);
  assert.deepEqual(decodeEnvelope(`{${base},"dsn":{"notify":"FAILURE","ret":null}}`).dsn, {
    notify: "FAILURE",
    ret: null,
  });
  assert.deepEqual(
    decodeEnvelope(`{${base},"dsn":{"notify":null,"ret":"HDRS","optional":true}}`).dsn,
    { notify: null, ret: "HDRS", optional: true },
  );
  const full = {
    notify: null,
    ret: "FULL",
    envid: "e",
    recipients: { "b@x": { notify: "NEVER", orcpt: "rfc822;b@x" } },
    optional: true,
  };
  assert.deepEqual(decodeEnvelope(`{${base},"dsn":${JSON.stringify(full)}}`).dsn, full);
  for (
    const bad of [
      `"dsn":"FAILURE"`,
      `"dsn":{"notify":1,"ret":null}`,
      `"dsn":{"notify":null,"ret":null,"envid":7}`,
      `"dsn":{"notify":null,"ret":null,"recipients":["b@x"]}`,
      `"dsn":{"notify":null,"ret":null,"recipients":{"b@x":{"orcpt":["x"]}}}`,
    ]
  ) {
    assert.throws(() => decodeEnvelope(`{${base},${bad}}`), QueueFormatError, bad);
  }
});
