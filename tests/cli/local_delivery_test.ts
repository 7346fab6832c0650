/**
 * Local delivery through the command line, as a cron job on a host without a relay uses it:
 * `sendmail root` with `direct on` lands in root's mbox (or a Maildir).
 */

import assert from "node:assert/strict";
import { POSTIE, run } from "../support/differential.ts";
import { asNobody, IS_ROOT, nobodyHome } from "../support/nobody.ts";

const CRON_MAIL =
  "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> run-parts /etc/cron.daily\n\n" +
  "From the daily run:\nall done\n";

async function setup(extra = ""): Promise<{ dir: string; sendmail: string }> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/spool`);
  await Deno.writeTextFile(`${dir}/aliases`, "# none\n");
  await Deno.writeTextFile(
    `${dir}/.msmtprc`,
    `account default\ndirect on\nfrom root@host.lan\nmail_spool ${dir}/spool\n` +
      `local_aliases ${dir}/aliases\n${extra}`,
    { mode: 0o600 },
  );
  const sendmail = `${dir}/sendmail`;
  await Deno.symlink(POSTIE, sendmail);
  return { dir, sendmail };
}

Deno.test("cron's `sendmail root` with no relay puts the mail in root's mbox", async () => {
  const { dir, sendmail } = await setup();
  try {
    const result = await run(sendmail, ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"], {
      env: { HOME: dir },
      stdin: CRON_MAIL,
    });
    assert.deepEqual([result.code, result.stdout, result.stderr], [0, "", ""]);
    const mbox = await Deno.readTextFile(`${dir}/spool/root`);
    assert.match(
      mbox,
      /^From root@host\.lan [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n/,
    );
    assert.match(mbox, /\nReturn-Path: <root@host\.lan>\nDate: .+\nMessage-ID: <[^>]+>\n/);
    assert.match(mbox, /\nFrom: root \(Cron Daemon\)\nTo: root\n/);
    assert.match(mbox, /\nSubject: Cron <root@host> run-parts \/etc\/cron\.daily\n/);
    assert.ok(mbox.endsWith("\n\n>From the daily run:\nall done\n\n"), mbox);
    // a second mail is appended after the first
    await run(sendmail, ["root"], { env: { HOME: dir }, stdin: "Subject: two\n\nsecond\n" });
    const both = await Deno.readTextFile(`${dir}/spool/root`);
    assert.equal(both.match(/^From root@host\.lan /gm)?.length, 2);
    assert.ok(both.startsWith(mbox));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mail to an unknown local user fails for good with EX_NOUSER and says so", async () => {
  const { dir, sendmail } = await setup();
  try {
    const result = await run(sendmail, ["nosuchuser"], {
      env: { HOME: dir },
      stdin: "Subject: x\n\ny\n",
    });
    assert.equal(result.code, 67);
    assert.equal(
      result.stderr,
      "sendmail: nosuchuser: unknown local user nosuchuser\n" +
        `sendmail: could not send mail (account default from ${dir}/.msmtprc)\n`,
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/spool`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with maildir set the mail appears complete in the Maildir's new/", async () => {
  const { dir, sendmail } = await setup();
  try {
    await Deno.writeTextFile(
      `${dir}/.msmtprc`,
      `account default\ndirect on\nfrom root@host.lan\nmaildir ${dir}/Maildir\nlocal_aliases ${dir}/aliases\n`,
      { mode: 0o600 },
    );
    const result = await run(sendmail, ["root"], {
      env: { HOME: dir },
      stdin: "Subject: md\n\nbody\n",
    });
    assert.deepEqual([result.code, result.stderr], [0, ""]);
    const files = [...Deno.readDirSync(`${dir}/Maildir/new`)];
    assert.equal(files.length, 1);
    assert.deepEqual([...Deno.readDirSync(`${dir}/Maildir/tmp`)], []);
    const text = await Deno.readTextFile(`${dir}/Maildir/new/${files[0].name}`);
    assert.match(text, /^Return-Path: <root@host\.lan>\n[^]*\nSubject: md\n\nbody\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a user whose cron mail cannot be written to the spool gets a temporary failure (75)",
  ignore: !IS_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const home = await nobodyHome(dir);
      await Deno.mkdir(`${dir}/spool`, { mode: 0o755 }); // root's, as /var/mail is not nobody's
      await Deno.writeTextFile(`${home}/aliases`, "");
      await Deno.writeTextFile(
        `${home}/.msmtprc`,
        `account default\ndirect on\nfrom nobody@host.lan\nmail_spool ${dir}/spool\nlocal_aliases ${home}/aliases\n`,
        { mode: 0o600 },
      );
      await Deno.chown(`${home}/.msmtprc`, 65534, 65534);
      const result = await asNobody(POSTIE, ["root"], home, "Subject: x\n\ny\n");
      assert.equal(result.code, 75, result.stderr);
      assert.equal(
        result.stderr,
        `postie: root: ${dir}/spool/root: Permission denied (temporary failure)\n` +
          `postie: could not send mail (account default from ${home}/.msmtprc)\n`,
      );
      assert.deepEqual([...Deno.readDirSync(`${dir}/spool`)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--serverinfo and --rmqs refuse a direct account with a clear line", async () => {
  const { dir, sendmail } = await setup();
  try {
    for (const option of ["--serverinfo", "--rmqs=example.org"]) {
      const result = await run(sendmail, [option], { env: { HOME: dir } });
      assert.equal(result.code, 78);
      assert.equal(
        result.stderr,
        `sendmail: ${
          option.split("=")[0]
        } needs a relay host; account default delivers directly (direct on)\n`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
