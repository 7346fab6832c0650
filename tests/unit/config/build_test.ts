import assert from "node:assert/strict";
import { buildAccounts, toAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";

async function build(text: string) {
  return buildAccounts(
    await parseMsmtprc(text, "rc", { evalCommand: () => Promise.resolve(undefined) }),
    { home: "/h" },
  );
}

async function buildError(text: string): Promise<string> {
  try {
    await build(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("no error");
}

Deno.test("defaults apply to accounts defined later and accumulate", async () => {
  const [early, late] = await build(
    "account early\ndefaults\nport 30\ndefaults\nhost d\naccount late\n",
  );
  assert.equal(toAccount(early).settings.port, 0);
  assert.equal(toAccount(late).settings.port, 30);
  assert.equal(toAccount(late).settings.host, "d");
  assert.deepEqual(late.own, {});
});

Deno.test("a child takes what its parents set, in order, but not their defaults", async () => {
  const accounts = await build(
    "defaults\nport 30\naccount a\nhost a\ndefaults\nport 31\naccount b\nhost b\ntls\n" +
      "account c : a, b\n",
  );
  const c = toAccount(accounts[2]);
  assert.equal(c.settings.host, "b");
  assert.equal(c.settings.port, 31);
  assert.equal(c.settings.tls, true);
});

Deno.test("allow_from_override is inherited (msmtp 1.8.24 fix)", async () => {
  const accounts = await build(
    "account locked\nfrom f@x\nallow_from_override off\naccount default : locked\n",
  );
  assert.equal(toAccount(accounts[1]).settings.allow_from_override, false);
  assert.equal(toAccount(accounts[1]).settings.from, "f@x");
});

Deno.test("an undefined parent is reported on the account line", async () => {
  assert.equal(
    await buildError("account a\nhost h\naccount b : a, c\n"),
    "rc: line 3: account c not (yet) defined",
  );
});

Deno.test("parents are checked before the name, the name before duplicates", async () => {
  assert.equal(await buildError("account : zz\n"), "rc: line 1: account zz not (yet) defined");
  assert.equal(await buildError("account x\naccount : x\n"), "rc: line 2: missing account name");
  assert.equal(await buildError("account a\naccount b : a,\n"), "rc: line 2: missing account name");
  assert.equal(
    await buildError("host h\naccount default\n"),
    "rc: line 2: account default was already defined",
  );
});

Deno.test("value errors carry the file and the command's line", async () => {
  assert.equal(
    await buildError("account a\n\nport 99999\n"),
    "rc: line 3: invalid argument 99999 for command port",
  );
  assert.equal(await buildError("account a\nfoo\n"), "rc: line 2: unknown command foo");
});
