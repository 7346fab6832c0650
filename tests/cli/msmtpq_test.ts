/**
 * msmtpq compatibility: a queue written by the msmtpq script Debian ships with msmtp (while
 * msmtp cannot reach the server) is listed and flushed by postie; postie invoked as
 * `msmtpq` queues on failure in the same form, and msmtp-queue's options manage it.
 */

import assert from "node:assert/strict";
import { startCaptureServer } from "../../scripts/capture_server.ts";
import { haveMsmtp, POSTIE, run, runPostie } from "../support/differential.ts";
import { freePort } from "../support/process.ts";
import { onTheWire, testMail } from "../support/queue.ts";

const MSMTPQ = "/usr/libexec/msmtp/msmtpq/msmtpq";
const haveMsmtpq = (() => {
  try {
    return Deno.statSync(MSMTPQ).isFile && haveMsmtp();
  } catch {
    return false;
  }
})();

const decoder = new TextDecoder();

async function setup(port: number) {
  const home = await Deno.makeTempDir({ prefix: "postie-msmtpq-" });
  const queue = `${home}/msmtpq-queue`;
  const writeRc = (p: number) =>
    Deno.writeTextFile(
      `${home}/.msmtprc`,
      `account default\nhost 127.0.0.1\nport ${p}\nfrom sender@example.org\n`,
      { mode: 0o600 },
    );
  await writeRc(port);
  const env = { HOME: home, MSMTPQ_Q: queue, EMAIL_CONN_TEST: "x", MSMTPQ_LOG: `${home}/q.log` };
  const files = () => {
    try {
      return [...Deno.readDirSync(queue)].map((e) => e.name).filter((n) => !n.startsWith("."))
        .sort();
    } catch {
      return [];
    }
  };
  return { home, queue, env, writeRc, files };
}

Deno.test({
  name:
    "a queue written by Debian's msmtpq while the server was down is listed and flushed by postie -q",
  ignore: !haveMsmtpq && Deno.env.get("CI") !== "true",
  async fn() {
    const t = await setup(freePort());
    const server = startCaptureServer();
    try {
      const mail = testMail("queued by msmtpq");
      const queued = await run("bash", [MSMTPQ, "rcpt@example.net"], { env: t.env, stdin: mail });
      assert.equal(queued.code, 0, queued.stderr);
      const names = t.files();
      assert.equal(names.length, 2, names.join(" "));
      assert.match(names[0], /^\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d(-\d+)?\.mail$/);
      const id = names[0].slice(0, -5);

      const listed = await runPostie(["-bp"], { env: t.env });
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`msmtpq queue ${t.queue}: 1 mails`));
      assert.match(listed.stdout, new RegExp(`${id} .*msmtp rcpt@example\\.net`));

      await t.writeRc(server.port);
      const flushed = await runPostie(["-q"], { env: t.env });
      assert.equal(flushed.code, 0, flushed.stderr);
      assert.deepEqual(t.files(), []);
      const got = server.sessions.flatMap((s) => s.mails);
      assert.equal(got.length, 1);
      assert.deepEqual(got[0].recipients, ["rcpt@example.net"]);
      assert.equal(decoder.decode(got[0].data), onTheWire(mail));
    } finally {
      await server.close();
      await Deno.remove(t.home, { recursive: true });
    }
  },
});

Deno.test("postie named msmtpq queues what it cannot send; msmtp-queue -d lists, -R sends a chosen mail, and the next mail sent takes the rest", async () => {
  const t = await setup(freePort());
  const server = startCaptureServer();
  const msmtpq = `${t.home}/msmtpq`;
  const msmtpQueue = `${t.home}/msmtp-queue`;
  await Deno.symlink(POSTIE, msmtpq);
  await Deno.symlink(POSTIE, msmtpQueue);
  const subjects = () =>
    server.sessions.flatMap((s) => s.mails).map((m) =>
      /Subject: (.*)/.exec(decoder.decode(m.data))?.[1]?.trim()
    );
  try {
    const first = testMail("first");
    const queued = await run(msmtpq, ["rcpt@example.net"], { env: t.env, stdin: first });
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /send was unsuccessful ; msmtp exit code was 75/);
    const [id] = t.files().map((n) => n.replace(/\.(mail|msmtp)$/, ""));
    assert.equal(await Deno.readTextFile(`${t.queue}/${id}.msmtp`), "rcpt@example.net\n");
    assert.match(
      await Deno.readTextFile(`${t.home}/q.log`),
      new RegExp(`enqueued mail as : \\[ ${id} \\]`),
    );
    await run(msmtpq, ["rcpt@example.net"], { env: t.env, stdin: testMail("second") });
    await run(msmtpq, ["rcpt@example.net"], { env: t.env, stdin: testMail("third") });
    assert.equal(t.files().length, 6);

    const shown = await run(msmtpQueue, ["-d"], { env: t.env });
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, new RegExp(`mail  num=\\[ 1 \\]  id=\\[ ${id} \\]`));
    assert.match(shown.stdout, /Subject: first/);
    assert.match(shown.stdout, /mail {2}num=\[ 3 \]/);

    await t.writeRc(server.port);
    // -R: choose mail 1, confirm; then leave with an empty answer
    const chosen = await run(msmtpq, ["--q-mgmt", "-R"], { env: t.env, stdin: "1\ny\n\n" });
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.deepEqual(subjects(), ["first"]);
    assert.equal(decoder.decode(server.sessions[0].mails[0].data), onTheWire(first));
    assert.equal(t.files().length, 4);

    // a new mail that goes out takes the rest of the queue with it, as msmtpq does
    const fourth = await run(msmtpq, ["rcpt@example.net"], {
      env: t.env,
      stdin: testMail("fourth"),
    });
    assert.equal(fourth.code, 0, fourth.stderr);
    assert.match(fourth.stdout, /send was successful/);
    assert.deepEqual(subjects().sort(), ["first", "fourth", "second", "third"]);
    assert.deepEqual(t.files(), []);

    const flushed = await run(msmtpq, ["--q-mgmt", "-r"], { env: t.env });
    assert.equal(flushed.code, 0, flushed.stderr);
    assert.match(flushed.stdout, /mail queue is empty \(nothing to send\)/);
    const unknown = await run(msmtpQueue, ["-z"], { env: t.env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /\[ -z \] is an unknown msmtp-queue option/);
  } finally {
    await server.close();
    await Deno.remove(t.home, { recursive: true });
  }
});

Deno.test("msmtp-queue -p and -a purge after confirmation", async () => {
  const t = await setup(freePort());
  const msmtpq = `${t.home}/msmtpq`;
  await Deno.symlink(POSTIE, msmtpq);
  try {
    for (const subject of ["one", "two", "three"]) {
      await run(msmtpq, ["rcpt@example.net"], { env: t.env, stdin: testMail(subject) });
    }
    assert.equal(t.files().length, 6);
    const mailIds = () =>
      t.files().filter((n) => n.endsWith(".mail")).map((n) => n.slice(0, -5)).sort();
    const ids = mailIds();
    // purge mail number 2, confirm, then leave with an empty answer
    const purged = await run(msmtpq, ["--q-mgmt", "-p"], { env: t.env, stdin: "2\ny\n\n" });
    assert.equal(purged.code, 0);
    assert.deepEqual(mailIds(), [ids[0], ids[2]]);
    const kept = await run(msmtpq, ["--q-mgmt", "-a"], { env: t.env, stdin: "n\n" });
    assert.match(kept.stdout, /nothing done ; queue is untouched/);
    assert.equal(t.files().length, 4);
    await run(msmtpq, ["--q-mgmt", "-a"], { env: t.env, stdin: "y\n" });
    assert.deepEqual(t.files(), []);
  } finally {
    await Deno.remove(t.home, { recursive: true });
  }
});
