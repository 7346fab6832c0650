import assert from "node:assert/strict";
import { applyAliases, expandAliases, parseAliases } from "../../../lib/message/aliases.ts";
import { ConfigError } from "../../../lib/errors.ts";

const FILE = new URL("../../testdata/message/aliases.txt", import.meta.url).pathname;
const table = parseAliases(await Deno.readTextFile(FILE), FILE);

Deno.test("aliases expand recursively in file order", () => {
  assert.deepEqual(expandAliases(["root"], table), [
    "admin@example.org",
    "ops1@example.org",
    "ops2@example.org",
  ]);
});

Deno.test("every recipient is expanded, the one after an alias too (msmtp skips it)", () => {
  assert.deepEqual(expandAliases(["root", "unknownlocal", "x@example.org"], table), [
    "admin@example.org",
    "ops1@example.org",
    "ops2@example.org",
    "catchall@example.org",
    "x@example.org",
  ]);
});

Deno.test("unknown local names go to default:, addresses with @ are left alone", () => {
  assert.deepEqual(expandAliases(["nobody", "a@b"], table), ["catchall@example.org", "a@b"]);
  const noDefault = parseAliases("root: r@x\n", "f");
  assert.deepEqual(expandAliases(["other"], noDefault), ["other"]);
});

Deno.test("# starts a comment anywhere and blank lines are ignored", () => {
  const t = parseAliases("# c\n\n  a : x@y, z@y # tail\n#b: q@y\n", "f");
  assert.deepEqual([...t.entries], [["a", ["x@y", "z@y"]]]);
});

Deno.test("parse errors read as msmtp's and are config errors (78)", () => {
  const cases: [string, string][] = [
    ["a: b@x\nnocolon\n", "f: line 2: single ':' delimiter expected"],
    ["a: b: c\n", "f: line 1: single ':' delimiter expected"],
    ["a@x: b@x\n", "f: line 1: invalid alias 'a@x'"],
    [": b@x\n", "f: line 1: invalid alias ''"],
    ["a: b@x\na: c@x\n", "f: line 2: duplicate alias 'a'"],
    ["a: " + "b".repeat(507) + "\n", "f: line 1: longer than 511 characters"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseAliases(text, "f"), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, message);
      assert.equal(e.exitCode, 78);
      return true;
    });
  }
});

Deno.test("a loop stops after 16 levels with msmtp's message", () => {
  const loop = parseAliases("a: b\nb: a\n", "f");
  assert.throws(() => expandAliases(["a"], loop), {
    message: "f: Too many redirects when expanding alias a.",
  });
});

Deno.test("a missing aliases file is an error only when a recipient is local", async () => {
  assert.deepEqual(await applyAliases("/nonexistent/aliases", ["a@x.org"]), ["a@x.org"]);
  await assert.rejects(applyAliases("/nonexistent/aliases", ["root"]), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, "/nonexistent/aliases: No such file or directory");
    assert.equal(e.exitCode, 78);
    return true;
  });
});

Deno.test("applyAliases reads the file and expands", async () => {
  assert.deepEqual(await applyAliases(FILE, ["unknownlocal", "root"]), [
    "catchall@example.org",
    "admin@example.org",
    "ops1@example.org",
    "ops2@example.org",
  ]);
});
