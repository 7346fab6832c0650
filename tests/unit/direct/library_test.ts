import assert from "node:assert/strict";
import { PostieError, send } from "../../../lib/mod.ts";

Deno.test("the library delivers with a direct account: local mail into the mbox, failures per recipient", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/spool`);
    await Deno.writeTextFile(`${dir}/aliases`, "");
    const configFile = `${dir}/rc`;
    await Deno.writeTextFile(
      configFile,
      `account default\ndirect on\nfrom cron@host.lan\nmail_spool ${dir}/spool\nlocal_aliases ${dir}/aliases\n`,
      { mode: 0o600 },
    );
    const env = { HOME: dir };
    const report = await send({
      configFile,
      env,
      to: ["root"],
      message: "Subject: lib\n\nhello\n",
    });
    assert.deepEqual(report.accepted, ["root"]);
    assert.deepEqual(report.reply.raw, ["250 delivered on this host"]);
    assert.equal(
      report.mailsize,
      (await Deno.readTextFile(`${dir}/spool/root`)).split("\n").slice(2).join("\n").length - 1,
    );
    await assert.rejects(
      send({ configFile, env, to: ["nosuchuser", "root"], message: "Subject: lib\n\nagain\n" }),
      (e: unknown) => {
        assert.ok(e instanceof PostieError);
        assert.equal(e.message, "nosuchuser: unknown local user nosuchuser");
        assert.deepEqual(e.details, ["delivered to root"]);
        assert.equal(e.exitCode, 67);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an alias forwarding to an address at a local domain is delivered here, once", async () => {
  const { deliverWithoutRelay } = await import("../../../lib/direct/route.ts");
  const { DEFAULT_SETTINGS } = await import("../../../lib/config/account.ts");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/spool`);
    await Deno.writeTextFile(
      `${dir}/passwd`,
      "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    );
    await Deno.writeTextFile(
      `${dir}/aliases`,
      "root: ops@host.lan, alice\nops: alice@Host.LAN, root@host.lan\n",
    );
    const result = await deliverWithoutRelay({
      settings: {
        ...DEFAULT_SETTINGS,
        direct: true,
        local_domains: "host.lan",
        mail_spool: `${dir}/spool`,
        local_aliases: `${dir}/aliases`,
      },
      from: "cron@host.lan",
      recipients: ["root@host.lan"],
      payload: ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\ny\r\n")]),
      passwdFile: `${dir}/passwd`,
    });
    assert.deepEqual(result.outcomes.map((o) => [o.recipient, o.status]), [["alice", "delivered"]]);
    assert.deepEqual(result.transactions, []);
    assert.equal((await Deno.readTextFile(`${dir}/spool/alice`)).match(/^From /gm)?.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
