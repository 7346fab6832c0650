import assert from "node:assert/strict";
import { ConfigError } from "../../../lib/errors.ts";
import {
  loadLocalAliases,
  parseLocalAliases,
  resolveLocal,
  validateLocalAliases,
} from "../../../lib/local/aliases.ts";
import { POSTIE } from "../../support/differential.ts";

const SYSTEM_STYLE = `# /etc/aliases
mailer-daemon: postmaster
postmaster: root
nobody: root
root: admin@example.org,
\tops
"ops": alice, \\bob, /var/log/ops.mbox
Alice: alice
`;

Deno.test("an aliases file in /etc/aliases style is parsed with continuations, quotes and comments", () => {
  const table = parseLocalAliases(SYSTEM_STYLE, "/etc/aliases");
  assert.deepEqual([...table.entries.keys()], [
    "mailer-daemon",
    "postmaster",
    "nobody",
    "root",
    "ops",
    "alice",
  ]);
  assert.deepEqual(table.entries.get("root")?.targets, ["admin@example.org", "ops"]);
  assert.equal(table.entries.get("root")?.line, 5);
  assert.deepEqual(table.entries.get("ops")?.targets, ["alice", "\\bob", "/var/log/ops.mbox"]);
});

Deno.test("a chain of aliases ends in mailboxes, files and forwarded addresses", () => {
  const table = parseLocalAliases(SYSTEM_STYLE, "/etc/aliases");
  assert.deepEqual(resolveLocal("MAILER-DAEMON", table), [
    { kind: "remote", address: "admin@example.org" },
    { kind: "mailbox", user: "alice" },
    { kind: "mailbox", user: "bob" },
    { kind: "file", path: "/var/log/ops.mbox" },
  ]);
  assert.deepEqual(resolveLocal("carol", table), [{ kind: "mailbox", user: "carol" }]);
  assert.deepEqual(resolveLocal("carol", undefined), [{ kind: "mailbox", user: "carol" }]);
});

Deno.test("a name listing itself is its own mailbox, not a loop", () => {
  const table = parseLocalAliases("root: root, ops\nops: root\n", "a");
  assert.deepEqual(resolveLocal("root", table), [{ kind: "mailbox", user: "root" }]);
});

Deno.test("an alias loop is reported with its path, the file and the line", () => {
  const table = parseLocalAliases("a: b\nb: c\nc: a, x@example.org\n", "/etc/aliases");
  assert.throws(() => resolveLocal("a", table), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, "/etc/aliases: line 3: alias loop: a -> b -> c -> a");
    assert.equal(e.exitCode, 78);
    return true;
  });
  assert.throws(() => validateLocalAliases(table), /alias loop/);
});

Deno.test("nesting deeper than 20 aliases is refused", () => {
  const lines = Array.from({ length: 25 }, (_, i) => `n${i}: n${i + 1}`).join("\n");
  const table = parseLocalAliases(lines + "\n", "f");
  assert.throws(() => resolveLocal("n0", table), /nested deeper than 20/);
  assert.deepEqual(resolveLocal("n10", table), [{ kind: "mailbox", user: "n25" }]);
});

Deno.test("malformed lines, duplicates, pipes and includes are refused with file and line", () => {
  const cases: [string, string][] = [
    ["root admin\n", "f: line 1: ':' expected after the name"],
    ["root: a\nROOT: b\n", "f: line 2: duplicate alias 'ROOT' (first on line 1)"],
    [
      "# x\nroot: |/usr/bin/logger\n",
      "f: line 2: pipe targets are not supported (|/usr/bin/logger); deliver to a mailbox or an address",
    ],
    ["root: :include:/etc/list\n", "f: line 1: :include: is not supported (:include:/etc/list)"],
    ["  root: x\n", "f: line 1: continuation line without an alias"],
    ["a@b: x\n", "f: line 1: invalid alias name 'a@b'"],
    ["root:\n", "f: line 1: alias 'root' has no target"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseLocalAliases(text, "f"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, text);
      assert.equal(e.message, message);
      return true;
    });
  }
});

Deno.test("a missing default aliases file is no aliases, a missing configured one an error", async () => {
  assert.equal(await loadLocalAliases("/nonexistent/aliases", true), undefined);
  await assert.rejects(
    loadLocalAliases("/nonexistent/aliases", false),
    /^Error: \/nonexistent\/aliases: No such file or directory$|nonexistent\/aliases: No such file/,
  );
});

Deno.test("a link named newaliases checks the aliases file and counts its aliases", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const link = `${dir}/newaliases`;
    await Deno.symlink(POSTIE, link);
    await Deno.writeTextFile(`${dir}/good`, "postmaster: root\nroot: root, admin@example.org\n");
    await Deno.writeTextFile(`${dir}/loop`, "a: b\nb: a\n");
    const run = async (args: string[]) => {
      const out = await new Deno.Command(link, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return [out.code, dec.decode(out.stdout), dec.decode(out.stderr)];
    };
    assert.deepEqual(await run([`${dir}/good`]), [0, `${dir}/good: 2 aliases\n`, ""]);
    assert.deepEqual(await run([`${dir}/loop`]), [
      78,
      "",
      `newaliases: ${dir}/loop: line 2: alias loop: a -> b -> a\n`,
    ]);
    assert.deepEqual(await run([`${dir}/missing`]), [
      78,
      "",
      `newaliases: ${dir}/missing: No such file or directory\n`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
