import assert from "node:assert/strict";
import { MsmtprcSyntaxError, parseMsmtprc, splitLine } from "../../../lib/config/msmtprc.ts";
import { ExitCode } from "../../../lib/exit.ts";

const noEval = () => Promise.resolve(undefined);

Deno.test("a line is a command word and the rest, blanks trimmed, outer quotes removed", () => {
  assert.deepEqual(splitLine('\t host   "  x y "  '), { name: "host", arg: "  x y " });
  assert.deepEqual(splitLine('from ""a@b""'), { name: "from", arg: '"a@b"' });
  assert.deepEqual(splitLine('from "'), { name: "from", arg: '"' });
  assert.deepEqual(splitLine("host x # not a comment"), { name: "host", arg: "x # not a comment" });
  assert.equal(splitLine("   # comment"), undefined);
  assert.equal(splitLine("   "), undefined);
});

Deno.test("CRLF line ends are accepted", async () => {
  const src = await parseMsmtprc("account a\r\ntls\r\n", "rc", { evalCommand: noEval });
  assert.deepEqual(src.blocks[0].commands, [{ name: "tls", arg: "", line: 2 }]);
});

Deno.test("commands before any block form an implicit default account", async () => {
  const src = await parseMsmtprc("host h\naccount b : a, c \n", "rc", { evalCommand: noEval });
  assert.equal(src.blocks[0].kind, "account");
  assert.deepEqual(src.blocks.map((b) => b.kind === "account" && [b.name, b.parents]), [
    ["default", []],
    ["b", ["a", "c"]],
  ]);
});

Deno.test("defaults with an argument is an error with file and line", async () => {
  await assert.rejects(
    parseMsmtprc("\ndefaults x\n", "rc", { evalCommand: noEval }),
    (e: Error) => e.message === "rc: line 2: command defaults does not take an argument",
  );
});

Deno.test("an account name with a comma before any colon is an error", async () => {
  await assert.rejects(
    parseMsmtprc("account a,b\n", "rc", { evalCommand: noEval }),
    (e: Error) => e.message === "rc: line 1: an account name must not contain colons or commas",
  );
});

Deno.test("eval replaces its line by the command's first output line", async () => {
  const src = await parseMsmtprc("account a\neval x\n", "rc", {
    evalCommand: () => Promise.resolve("  port  26 "),
  });
  assert.deepEqual(src.blocks[0].commands, [{ name: "port", arg: "26", line: 2 }]);
});

Deno.test("eval without output is a read error without a line number", async () => {
  await assert.rejects(
    parseMsmtprc("account a\neval true\n", "rc", { evalCommand: noEval }),
    (e: Error) =>
      e instanceof MsmtprcSyntaxError && e.exitCode === ExitCode.IOERR &&
      e.message === "rc: cannot read output of 'true'",
  );
});

Deno.test("eval really runs sh -c", async () => {
  const src = await parseMsmtprc("account a\neval printf 'host h\\nx\\n'\n", "rc");
  assert.deepEqual(src.blocks[0].commands, [{ name: "host", arg: "h", line: 2 }]);
});

Deno.test("only a literal password line marks the file as holding a secret", async () => {
  const viaEval = await parseMsmtprc("account a\neval x\n", "rc", {
    evalCommand: () => Promise.resolve("password p"),
  });
  assert.equal(viaEval.holdsPassword, false);
  const literal = await parseMsmtprc("account a\npassword\n", "rc", { evalCommand: noEval });
  assert.equal(literal.holdsPassword, true);
});

Deno.test("lines longer than msmtp's 500 characters are read whole", async () => {
  const token = "t".repeat(5000);
  const src = await parseMsmtprc(`account a\npassword ${token}\n`, "rc", { evalCommand: noEval });
  assert.equal(src.blocks[0].commands[0].arg, token);
});
