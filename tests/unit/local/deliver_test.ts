import assert from "node:assert/strict";
import { deliverLocal, localPart } from "../../../lib/local/deliver.ts";

const enc = new TextEncoder();
const mail = () => ReadableStream.from([enc.encode("Subject: cron\r\n\r\nall done\r\n")]);

async function setup(): Promise<{ dir: string; passwd: string }> {
  const dir = await Deno.makeTempDir();
  const passwd = `${dir}/passwd`;
  await Deno.writeTextFile(
    passwd,
    "root:x:0:0:root:/root:/bin/bash\n" +
      `alice:x:1000:1000:Alice:${dir}/home/alice:/bin/sh\n`,
  );
  await Deno.mkdir(`${dir}/spool`);
  return { dir, passwd };
}

Deno.test("local parts are bare names and names at local domains", () => {
  assert.equal(localPart("root", []), "root");
  assert.equal(localPart("root@Host.Lan.", ["host.lan"]), "root");
  assert.equal(localPart("root@other.org", ["host.lan"]), undefined);
});

Deno.test("mail to root lands in the spool's root mbox; an alias forwards and fans out", async () => {
  const { dir, passwd } = await setup();
  try {
    await Deno.writeTextFile(`${dir}/aliases`, "root: root, alice, admin@example.org\n");
    const result = await deliverLocal(["root"], "cron@host.lan", mail, {
      aliasesFile: `${dir}/aliases`,
      mailSpool: `${dir}/spool`,
      passwdFile: passwd,
    });
    assert.deepEqual(result.forwards, ["admin@example.org"]);
    assert.deepEqual(result.outcomes.map((o) => [o.recipient, o.status, o.via]), [
      ["root", "delivered", `mbox ${dir}/spool/root`],
      ["alice", "delivered", `mbox ${dir}/spool/alice`],
    ]);
    const text = await Deno.readTextFile(`${dir}/spool/root`);
    assert.match(
      text,
      /^From cron@host\.lan .+\nReturn-Path: <cron@host\.lan>\nSubject: cron\n\nall done\n\n$/,
    );
    if (Deno.uid() === 0) assert.equal((await Deno.stat(`${dir}/spool/alice`)).uid, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown local user fails for good with EX_NOUSER; a path in the name is refused", async () => {
  const { dir, passwd } = await setup();
  try {
    const result = await deliverLocal(["nosuchuser", "../../etc/x"], "a@b", mail, {
      aliasesFile: null,
      mailSpool: `${dir}/spool`,
      passwdFile: passwd,
    });
    assert.deepEqual(result.outcomes.map((o) => [o.status, o.message, o.exitCode]), [
      ["permanent", "unknown local user nosuchuser", 67],
      ["permanent", "invalid local user name ../../etc/x", 67],
    ]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/spool`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with maildir ~/Maildir each user's mail goes into their own Maildir", async () => {
  const { dir, passwd } = await setup();
  try {
    await Deno.mkdir(`${dir}/home/alice`, { recursive: true });
    const result = await deliverLocal(["alice"], "a@b", mail, {
      maildir: "~/Maildir",
      passwdFile: passwd,
      aliasesFile: "/nonexistent-ok-when-default",
    });
    assert.equal(
      result.outcomes[0].status,
      "temporary",
      "an explicit missing aliases file keeps the mail",
    );
    const ok = await deliverLocal(["alice"], "a@b", mail, {
      maildir: "~/Maildir",
      passwdFile: passwd,
      aliasesFile: null,
    });
    assert.deepEqual(ok.outcomes.map((o) => [o.status, o.via]), [[
      "delivered",
      `maildir ${dir}/home/alice/Maildir`,
    ]]);
    const files = [...Deno.readDirSync(`${dir}/home/alice/Maildir/new`)];
    assert.equal(files.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an alias loop keeps the mail (temporary) and says where the loop is", async () => {
  const { dir, passwd } = await setup();
  try {
    await Deno.writeTextFile(`${dir}/aliases`, "a: b\nb: a\n");
    const result = await deliverLocal(["a", "root"], "x@y", mail, {
      aliasesFile: `${dir}/aliases`,
      mailSpool: `${dir}/spool`,
      passwdFile: passwd,
    });
    assert.deepEqual(result.outcomes.map((o) => [o.recipient, o.status, o.message]), [
      ["a", "temporary", `${dir}/aliases: line 2: alias loop: a -> b -> a`],
      ["root", "delivered", undefined],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
