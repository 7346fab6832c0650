import assert from "node:assert/strict";
import { netrcPassword, parseNetrc, searchNetrc } from "../../../lib/secrets/netrc.ts";

Deno.test("netrc entries are read in file order with login and password", () => {
  const entries = parseNetrc(
    "machine a.example login alice password pw1\nmachine b.example\n  login bob\n  password pw2\n",
  );
  assert.deepEqual(entries, [
    { host: "a.example", login: "alice", password: "pw1" },
    { host: "b.example", login: "bob", password: "pw2" },
  ]);
});

Deno.test("netrc accepts user and passwd as synonyms", () => {
  assert.deepEqual(parseNetrc("machine h user u passwd p"), [
    { host: "h", login: "u", password: "p" },
  ]);
});

Deno.test("netrc search needs the host and the login to match", () => {
  const entries = parseNetrc(
    "machine h login bob password b\nmachine h login alice password a\nmachine g login alice password g",
  );
  assert.equal(searchNetrc(entries, "h", "alice")?.password, "a");
  assert.equal(searchNetrc(entries, "g", "alice")?.password, "g");
  assert.equal(searchNetrc(entries, "h", "carol"), undefined);
  assert.equal(searchNetrc(entries, "H", "alice"), undefined);
});

Deno.test("a netrc default entry never matches", () => {
  const entries = parseNetrc("default login alice password d");
  assert.deepEqual(entries, [{ host: null, login: "alice", password: "d" }]);
  assert.equal(searchNetrc(entries, "anything", "alice"), undefined);
});

Deno.test("a netrc machine without login is dropped, as msmtp's netrc.c does", () => {
  const entries = parseNetrc("machine h password p\nmachine g login u password q");
  assert.deepEqual(entries, [{ host: "g", login: "u", password: "q" }]);
  assert.equal(searchNetrc(entries, "h", "anyone"), undefined);
});

Deno.test("netrc tokens may be quoted and comments run to the end of the line", () => {
  const entries = parseNetrc(
    "# my servers\nmachine h login \"a b\" password 'p w#1' # trailing\n",
  );
  assert.deepEqual(entries, [{ host: "h", login: "a b", password: "p w#1" }]);
});

Deno.test("a netrc macdef is skipped up to the next empty line", () => {
  const entries = parseNetrc(
    "machine h login u password p\nmacdef init\nmachine evil login u password x\n\nmachine g login v password q\n",
  );
  assert.deepEqual(entries, [
    { host: "h", login: "u", password: "p" },
    { host: "g", login: "v", password: "q" },
  ]);
});

Deno.test("netrc login and password before any machine belong to no entry", () => {
  assert.deepEqual(parseNetrc("login u password p\nmachine h login v password q"), [
    { host: "h", login: "v", password: "q" },
  ]);
});

Deno.test("netrc account values are skipped, CRLF line ends are fine", () => {
  assert.deepEqual(parseNetrc("machine h\r\nlogin u\r\naccount acct\r\npassword p\r\n"), [
    { host: "h", login: "u", password: "p" },
  ]);
});

Deno.test("a matching netrc entry without a password gives no password", () => {
  const entries = parseNetrc("machine h login u");
  assert.equal(searchNetrc(entries, "h", "u")?.password, null);
});

Deno.test("netrcPassword reads a file and answers null when it is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/netrc`, "machine h login u password p\n");
    assert.equal(await netrcPassword(`${dir}/netrc`, "h", "u"), "p");
    assert.equal(await netrcPassword(`${dir}/netrc`, "h", "x"), null);
    assert.equal(await netrcPassword(`${dir}/missing`, "h", "u"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
