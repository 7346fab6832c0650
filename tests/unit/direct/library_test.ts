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
