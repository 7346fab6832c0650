import assert from "node:assert/strict";
import { MAILX_USAGE, parseMailxArgs } from "../../../lib/cli/mailx.ts";
import { UsageError } from "../../../lib/errors.ts";

Deno.test("mail's sending options become a compose request", () => {
  const inv = parseMailxArgs([
    "-s",
    "Backup: done",
    "-a",
    "/var/log/a.log",
    "-c",
    "ann@example.org, bob@example.org",
    "-b",
    "audit@example.org",
    "-a/var/log/b.log",
    "-r",
    "backup@example.org",
    "root",
    "-i",
    "-n",
    "ops@example.org",
  ]);
  assert.equal(inv.mode, "sendmail");
  assert.deepEqual(inv.recipients, ["root", "ops@example.org"]);
  assert.deepEqual(inv.compose, {
    subject: "Backup: done",
    attachments: ["/var/log/a.log", "/var/log/b.log"],
    htmlFile: undefined,
    cc: ["ann@example.org, bob@example.org"],
    bcc: ["audit@example.org"],
    discardEmpty: false,
  });
  assert.equal(parseMailxArgs(["-E", "root"]).compose?.discardEmpty, true);
  assert.equal(inv.from, "backup@example.org");
  assert.equal(inv.fullName, undefined);
  assert.equal(inv.debug, false);
  assert.equal(inv.readRecipients, false);
});

Deno.test("-r with a display name sets the sender and the full name", () => {
  const inv = parseMailxArgs(["-r", '"Backup, Robot" <backup@example.org>', "root"]);
  assert.equal(inv.from, "backup@example.org");
  assert.equal(inv.fullName, "Backup, Robot");
  const plain = parseMailxArgs(["-r", "Robot <r@example.org>", "root"]);
  assert.equal(plain.fullName, "Robot");
  assert.equal(plain.from, "r@example.org");
});

Deno.test("-v shows the dialogue; a mail with only Bcc recipients is allowed", () => {
  const inv = parseMailxArgs(["-v", "-b", "a@example.org"]);
  assert.equal(inv.debug, true);
  assert.deepEqual(inv.recipients, []);
  assert.deepEqual(inv.compose?.bcc, ["a@example.org"]);
});

Deno.test("-- ends mail's options, and POSIXLY_CORRECT stops at the first recipient", () => {
  assert.deepEqual(parseMailxArgs(["--", "-s"]).recipients, ["-s"]);
  const posix = parseMailxArgs(["root", "-s", "x"], { POSIXLY_CORRECT: "1" });
  assert.deepEqual(posix.recipients, ["root", "-s", "x"]);
  assert.equal(posix.compose?.subject, undefined);
});

Deno.test("mail's usage errors carry the usage line", () => {
  for (
    const [argv, message] of [
      [["-x", "root"], "invalid option -- 'x'"],
      [["root", "-s"], "option requires an argument -- 's'"],
      [["-s", "x"], "no recipients given; this mail only sends and reads no mailbox"],
      [["--subject=x", "root"], "unrecognized option '--subject=x'"],
    ] as const
  ) {
    assert.throws(() => parseMailxArgs(argv), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      assert.equal(error.exitCode, 64);
      assert.deepEqual(error.details, [MAILX_USAGE]);
      return true;
    });
  }
});
