import assert from "node:assert/strict";
import {
  addMsmtpqEntry,
  listMsmtpqQueue,
  lockMsmtpqQueue,
  msmtpqDirectory,
  removeMsmtpqEntry,
  splitArgs,
} from "../../../lib/queue/msmtpq.ts";

Deno.test("the msmtpq queue is MSMTPQ_Q, else Q, else ~/.msmtp.queue", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(msmtpqDirectory(env({ MSMTPQ_Q: "/a", Q: "/b" }), "/h"), "/a");
  assert.equal(msmtpqDirectory(env({ Q: "/b" }), "/h"), "/b");
  assert.equal(msmtpqDirectory(env({}), "/h"), "/h/.msmtp.queue");
});

Deno.test(".msmtp files split on white space, as bash's unquoted $(< file)", () => {
  assert.deepEqual(splitArgs("-oi -f a@b.c -- x@y.z\n"), ["-oi", "-f", "a@b.c", "--", "x@y.z"]);
  assert.deepEqual(splitArgs("  \n"), []);
});

Deno.test("entries get msmtpq's ids, with -N for a second mail in the same second", async () => {
  const dir = await Deno.makeTempDir();
  const now = new Date(2026, 11, 2, 8, 5, 9);
  const mail = () => ReadableStream.from([new TextEncoder().encode("Subject: x\n\nbody\n")]);
  const a = await addMsmtpqEntry(dir, ["-t"], mail(), now);
  const b = await addMsmtpqEntry(dir, ["x@y.z"], mail(), now);
  assert.equal(a, "2026-12-02-08.05.09");
  assert.equal(b, "2026-12-02-08.05.09-1");
  assert.equal(await Deno.readTextFile(`${dir}/${b}.msmtp`), "x@y.z\n");
  const entries = (await listMsmtpqQueue(dir))!;
  assert.deepEqual(entries.map((e) => [e.id, e.args]), [[a, ["-t"]], [b, ["x@y.z"]]]);
  // a .mail without its .msmtp is skipped, as msmtpq skips it
  await Deno.remove(`${dir}/${a}.msmtp`);
  assert.deepEqual((await listMsmtpqQueue(dir))!.map((e) => e.id), [b]);
  await removeMsmtpqEntry(dir, b);
  assert.deepEqual((await listMsmtpqQueue(dir))!.map((e) => e.id), []);
  assert.equal(await listMsmtpqQueue(`${dir}/none`), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the queue lock is msmtpq's .lock directory and is waited for, boundedly", async () => {
  const dir = await Deno.makeTempDir();
  const unlock = await lockMsmtpqQueue(dir);
  assert.ok(Deno.statSync(`${dir}/.lock`).isDirectory);
  await assert.rejects(lockMsmtpqQueue(dir, 1), /waited 1 seconds for lockdir/);
  await unlock();
  const again = await lockMsmtpqQueue(dir, 0);
  await again();
  await Deno.remove(dir, { recursive: true });
});
