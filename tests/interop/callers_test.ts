/**
 * Real programs that send mail through a sendmail command, with postie as that command: mutt
 * in batch mode, s-nail, `git send-email --sendmail-cmd`, a cron-style call and PHP's
 * `mail()` (`-t -i`, LF and CRLF input). Each runs with a temporary HOME whose `.msmtprc`
 * points at the capture server (scripts/capture_server.ts), and a `sendmail` symlink to
 * the installed postie; the captured mail must carry the envelope and the headers and body the
 * caller wrote. Where the caller's bytes are fixed (cron, PHP), postie's captured mail is also
 * compared with Debian msmtp's for the same call.
 *
 * Test names carry a `[callers NAME]` tag for scripts/reliability_report.ts; a caller whose
 * program is missing is an ignored test whose name ends with `(skipped: REASON)`.
 */

import assert from "node:assert/strict";
import { type CapturedMail, startCaptureServer } from "../../scripts/capture_server.ts";
import {
  compareWithMsmtp,
  haveMsmtp,
  POSTIE,
  run,
  type RunResult,
} from "../support/differential.ts";

interface Sandbox {
  dir: string;
  home: string;
  /** The `sendmail` symlink to the installed postie. */
  sendmail: string;
  env: Record<string, string>;
  /** Mails the capture server accepted, waiting (bounded) for `count` sessions to end. */
  mails(count?: number): Promise<CapturedMail[]>;
  close(): Promise<void>;
}

async function sandbox(options: { aliases?: string } = {}): Promise<Sandbox> {
  const server = startCaptureServer();
  const dir = await Deno.makeTempDir({ prefix: "postie-callers-" });
  const home = `${dir}/home`;
  await Deno.mkdir(`${dir}/bin`);
  await Deno.mkdir(home);
  const sendmail = `${dir}/bin/sendmail`;
  await Deno.symlink(POSTIE, sendmail);
  const rc = [
    "defaults",
    "auth off",
    "tls off",
    "account default",
    "host 127.0.0.1",
    `port ${server.port}`,
    "from default@example.org",
  ];
  if (options.aliases !== undefined) {
    await Deno.writeTextFile(`${dir}/aliases`, options.aliases);
    rc.push(`aliases ${dir}/aliases`);
  }
  await Deno.writeTextFile(`${home}/.msmtprc`, rc.join("\n") + "\n");
  await Deno.chmod(`${home}/.msmtprc`, 0o600);
  return {
    dir,
    home,
    sendmail,
    env: {
      HOME: home,
      PATH: `${dir}/bin:/usr/bin:/bin`,
      TERM: "dumb",
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      USER: "root",
      LOGNAME: "root",
    },
    async mails(count = 1) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${count} sessions did not end in 10 s`)),
          10_000,
        );
      });
      try {
        await Promise.race([server.waitForSessions(count), timeout]);
      } finally {
        clearTimeout(timer);
      }
      return server.sessions.flatMap((s) => s.mails);
    },
    async close() {
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const decoder = new TextDecoder();
const text = (mail: CapturedMail): string => decoder.decode(mail.data);

/** The header block of a captured mail, unfolded, as name → values (names lower-cased). */
function headers(mail: CapturedMail): Map<string, string[]> {
  const head = text(mail).split("\r\n\r\n", 1)[0].replace(/\r\n[ \t]+/g, " ");
  const map = new Map<string, string[]>();
  for (const line of head.split("\r\n")) {
    const at = line.indexOf(":");
    const name = line.slice(0, at).toLowerCase();
    map.set(name, [...(map.get(name) ?? []), line.slice(at + 1).trim()]);
  }
  return map;
}

function body(mail: CapturedMail): string {
  const all = text(mail);
  return all.slice(all.indexOf("\r\n\r\n") + 4);
}

function missing(path: string, pkg: string): string | undefined {
  try {
    Deno.statSync(path);
    return undefined;
  } catch {
    return `${path} is missing: install ${pkg}`;
  }
}

function callerTest(
  caller: string,
  sentence: string,
  skip: string | undefined,
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({
    name: `[callers ${caller}] ${sentence}` + (skip ? ` (skipped: ${skip})` : ""),
    ignore: skip !== undefined,
    fn,
  });
}

function assertRan(result: RunResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
}

const BODY = "Hello through a real caller.\n.A line starting with a dot\nGr\u00fc\u00dfe\n";

callerTest(
  "mutt",
  "mutt in batch mode hands its mail to postie, which delivers it intact",
  missing("/usr/bin/mutt", "mutt"),
  async () => {
    const box = await sandbox();
    try {
      const muttrc = `${box.dir}/muttrc`;
      await Deno.writeTextFile(
        muttrc,
        [
          `set sendmail="${box.sendmail} -oem -oi"`,
          'set from="Mutt User <mutt@example.org>"',
          "set use_from=yes",
          "set use_envelope_from=yes",
          'set record=""',
          "set copy=no",
          "set charset=utf-8",
          "set send_charset=utf-8",
          `set folder="${box.home}/Mail"`,
          `set spoolfile="${box.home}/Mail/inbox"`,
          "",
        ].join("\n"),
      );
      const result = await run(
        "/usr/bin/mutt",
        ["-n", "-F", muttrc, "-s", "mutt subject", "--", "rcpt@example.net"],
        { env: box.env, stdin: BODY, cwd: box.dir },
      );
      assertRan(result, "mutt");
      const [mail] = await box.mails();
      assert.equal(mail.from, "mutt@example.org");
      assert.deepEqual(mail.recipients, ["rcpt@example.net"]);
      const h = headers(mail);
      assert.deepEqual(h.get("subject"), ["mutt subject"]);
      assert.deepEqual(h.get("from"), ["Mutt User <mutt@example.org>"]);
      assert.deepEqual(h.get("to"), ["rcpt@example.net"]);
      assert.match(
        body(mail),
        /^Hello through a real caller\.\r\n\.A line starting with a dot\r\n/,
      );
    } finally {
      await box.close();
    }
  },
);

callerTest(
  "s-nail",
  "s-nail with postie as its mta delivers the mail intact",
  missing("/usr/bin/s-nail", "s-nail"),
  async () => {
    const box = await sandbox();
    try {
      const result = await run(
        "/usr/bin/s-nail",
        [
          "-n",
          "-#",
          "-S",
          `mta=${box.sendmail}`,
          // s-nail running as root hands the MTA HOME from the passwd file, not the
          // environment's, so the configuration is named explicitly.
          "-S",
          `mta-arguments=-C ${box.home}/.msmtprc`,
          "-S",
          "sendwait",
          "-S",
          "from=Nail User <nail@example.org>",
          "-S",
          "ttycharset=utf-8",
          "-s",
          "s-nail subject",
          "rcpt@example.net",
        ],
        { env: { ...box.env, MAILRC: "/dev/null" }, stdin: BODY, cwd: box.dir },
      );
      assertRan(result, "s-nail");
      const [mail] = await box.mails();
      assert.deepEqual(mail.recipients, ["rcpt@example.net"]);
      const h = headers(mail);
      assert.deepEqual(h.get("subject"), ["s-nail subject"]);
      assert.deepEqual(h.get("from"), ["Nail User <nail@example.org>"]);
      assert.deepEqual(h.get("to"), ["rcpt@example.net"]);
      assert.match(body(mail), /Hello through a real caller\.\r\n\.A line starting with a dot\r\n/);
    } finally {
      await box.close();
    }
  },
);

callerTest(
  "git-send-email",
  "git send-email --sendmail-cmd hands a patch to postie, which delivers it intact",
  missing("/usr/lib/git-core/git-send-email", "git-email"),
  async () => {
    const box = await sandbox();
    try {
      const repo = `${box.dir}/repo`;
      const env = {
        ...box.env,
        GIT_AUTHOR_NAME: "Dev Eloper",
        GIT_AUTHOR_EMAIL: "dev@example.org",
        GIT_COMMITTER_NAME: "Dev Eloper",
        GIT_COMMITTER_EMAIL: "dev@example.org",
        GIT_CONFIG_NOSYSTEM: "1",
      };
      const git = async (...args: string[]) => {
        const result = await run("/usr/bin/git", args, { env, cwd: repo });
        assertRan(result, `git ${args[0]}`);
        return result;
      };
      await Deno.mkdir(repo);
      await git("init", "-q");
      await Deno.writeTextFile(`${repo}/hello.txt`, "hello\n");
      await git("add", "hello.txt");
      await git("commit", "-q", "-m", "Add hello");
      await Deno.writeTextFile(`${repo}/hello.txt`, "hello\n.dot line\nworld\n");
      await git("commit", "-q", "-a", "-m", "Say more in hello");
      const patch = (await git("format-patch", "-1", "-o", `${box.dir}/out`)).stdout.trim();
      await git(
        "send-email",
        `--sendmail-cmd=${box.sendmail}`,
        "--to=Maintainer <maint@example.net>",
        "--from=Dev Eloper <dev@example.org>",
        "--envelope-sender=dev@example.org",
        "--confirm=never",
        "--suppress-cc=all",
        "--quiet",
        patch,
      );
      const [mail] = await box.mails();
      assert.equal(mail.from, "dev@example.org");
      assert.deepEqual(mail.recipients, ["maint@example.net"]);
      const h = headers(mail);
      assert.deepEqual(h.get("subject"), ["[PATCH] Say more in hello"]);
      assert.deepEqual(h.get("from"), ["Dev Eloper <dev@example.org>"]);
      assert.deepEqual(h.get("to"), ["Maintainer <maint@example.net>"]);
      // The patch body as format-patch wrote it, with CRLF on the wire.
      const written = await Deno.readTextFile(patch);
      const patchBody = written.slice(written.indexOf("\n\n") + 2).replaceAll("\n", "\r\n");
      assert.equal(body(mail), patchBody);
      assert.match(body(mail), /\r\n\+\.dot line\r\n/);
    } finally {
      await box.close();
    }
  },
);

/** Runs one sendmail call through postie and, when installed, through Debian's msmtp. */
async function bothSendmails(
  args: string[],
  stdin: string,
  options: { aliases?: string } = {},
): Promise<{ postie: CapturedMail; msmtp?: CapturedMail }> {
  const box = await sandbox(options);
  try {
    assertRan(await run(box.sendmail, args, { env: box.env, stdin }), "postie");
    const [postie] = await box.mails(1);
    let msmtp: CapturedMail | undefined;
    if (haveMsmtp()) {
      assertRan(await run("/usr/bin/msmtp", args, { env: box.env, stdin }), "msmtp");
      msmtp = (await box.mails(2))[1];
    }
    return { postie, msmtp };
  } finally {
    await box.close();
  }
}

/**
 * The mail's text with the Date and Message-ID headers both programs add when missing (from
 * the clock and random bytes) blanked.
 */
function sameButGenerated(mail: CapturedMail): string {
  return text(mail).replace(/^Date: .*\r\n/m, "Date: (now)\r\n")
    .replace(/^Message-ID: <[0-9a-f]{32}\.default@example\.org>\r\n/m, "Message-ID: (new)\r\n");
}

/** The mail's text without the Date and Message-ID headers added in front of the caller's. */
function withoutGenerated(mail: CapturedMail): string {
  let all = text(mail);
  for (const added of [/^Date: [^\r\n]*\r\n/, /^Message-ID: <[^\r\n]*>\r\n/]) {
    for (let i = 0; i < 2; i++) all = all.replace(added, "");
  }
  return all;
}

const CRON_MAIL = [
  "From: root (Cron Daemon)",
  "To: backup",
  "Subject: Cron <root@host> /usr/local/bin/backup",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=UTF-8",
  "Content-Transfer-Encoding: 8bit",
  "X-Cron-Env: <SHELL=/bin/sh>",
  "X-Cron-Env: <HOME=/root>",
  "X-Cron-Env: <LOGNAME=root>",
  "",
  "backup done: 3 files, gr\u00fc\u00dfe",
  "",
].join("\n");

callerTest(
  "cron",
  "a cron-style call (-FCronDaemon -i -B8BITMIME -oem user) reaches the aliased address intact",
  undefined,
  async (t) => {
    const { postie, msmtp } = await bothSendmails(
      ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "backup"],
      CRON_MAIL,
      { aliases: "# cron's MAILTO is a local user name\nbackup: ops@example.net\n" },
    );
    assert.deepEqual(postie.recipients, ["ops@example.net"]);
    assert.equal(postie.from, "default@example.org");
    const h = headers(postie);
    assert.deepEqual(h.get("from"), ["root (Cron Daemon)"]);
    assert.deepEqual(h.get("to"), ["backup"]);
    assert.match(body(postie), /^backup done: 3 files, gr\u00fc\u00dfe\r\n$/);
    await compareWithMsmtp(t, () => {
      assert.ok(msmtp, "msmtp's mail was captured");
      assert.deepEqual(postie.recipients, msmtp.recipients);
      assert.equal(postie.from, msmtp.from);
      assert.equal(sameButGenerated(postie), sameButGenerated(msmtp));
      return Promise.resolve();
    });
  },
);

function phpMail(lineEnd: string): string {
  // What PHP's mail() pipes to `sendmail -t -i`: To and Subject first, then the extra
  // headers, a blank line and the message.
  return [
    "To: customer@example.net",
    "Subject: Your order",
    "From: shop@example.org",
    "Reply-To: support@example.org",
    "X-Mailer: PHP/8.2.7",
    "",
    "Thank you for your order.",
    ".",
    "..Two dots",
    "",
  ].join(lineEnd);
}

for (const [label, lineEnd] of [["LF", "\n"], ["CRLF", "\r\n"]] as const) {
  callerTest(
    `php-${label.toLowerCase()}`,
    `a PHP-style -t -i call with ${label} input delivers to the To address intact`,
    undefined,
    async (t) => {
      const input = phpMail(lineEnd);
      const { postie, msmtp } = await bothSendmails(["-t", "-i"], input);
      assert.deepEqual(postie.recipients, ["customer@example.net"]);
      assert.equal(postie.from, "default@example.org");
      // Unchanged apart from CRLF line ends and the Date and Message-ID headers msmtp
      // puts on top when missing.
      assert.equal(
        withoutGenerated(postie),
        input.replaceAll("\r\n", "\n").replaceAll("\n", "\r\n"),
      );
      assert.match(text(postie), /^Date: /m);
      assert.match(text(postie), /^Message-ID: </m);
      await compareWithMsmtp(t, () => {
        assert.ok(msmtp, "msmtp's mail was captured");
        assert.deepEqual(postie.recipients, msmtp.recipients);
        assert.equal(sameButGenerated(postie), sameButGenerated(msmtp));
        return Promise.resolve();
      });
    },
  );
}

callerTest(
  "php",
  "PHP's own mail() with sendmail_path pointing at postie delivers to the To address intact",
  missing("/usr/bin/php", "php-cli"),
  async () => {
    const box = await sandbox();
    try {
      // PHP runs `sendmail_path` through sh with -t -i, exactly as a web application's
      // mail() call does; -n keeps the system php.ini out of it.
      const script = `<?php
$ok = mail(
  "customer@example.net",
  "Your order",
  "Thank you for your order.\\n.\\n..Two dots\\n",
  "From: shop@example.org\\r\\nReply-To: support@example.org\\r\\nX-Mailer: PHP/" . PHP_VERSION
);
exit($ok ? 0 : 1);
`;
      await Deno.writeTextFile(`${box.dir}/send.php`, script);
      const result = await run(
        "/usr/bin/php",
        ["-n", "-d", `sendmail_path=${box.sendmail} -t -i`, `${box.dir}/send.php`],
        { env: box.env },
      );
      assertRan(result, "php");
      const [mail] = await box.mails(1);
      assert.deepEqual(mail.recipients, ["customer@example.net"]);
      assert.equal(mail.from, "default@example.org");
      const h = headers(mail);
      assert.deepEqual(h.get("to"), ["customer@example.net"]);
      assert.deepEqual(h.get("subject"), ["Your order"]);
      assert.deepEqual(h.get("from"), ["shop@example.org"]);
      assert.deepEqual(h.get("reply-to"), ["support@example.org"]);
      assert.match(h.get("x-mailer")?.[0] ?? "", /^PHP\/\d+\.\d+/);
      assert.equal(h.get("date")?.length, 1);
      assert.equal(h.get("message-id")?.length, 1);
      // a lone dot and a leading dot arrive as PHP wrote them (dot-stuffed on the wire only);
      // PHP itself ends the message with one more line end
      assert.equal(body(mail), "Thank you for your order.\r\n.\r\n..Two dots\r\n\r\n");
    } finally {
      await box.close();
    }
  },
);
