import assert from "node:assert/strict";
import { buildAccounts, type BuiltAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";
import { parseTomlConfig } from "../../../lib/config/toml.ts";
import { msmtprcToToml } from "../../../lib/config/to_toml.ts";
import { ConfigError } from "../../../lib/errors.ts";
import type { ConfigSource } from "../../../lib/config/source.ts";

const TESTDATA = new URL("../../testdata/config/", import.meta.url);
const NO_ENV = { env: (): undefined => undefined, home: "/h" };

function noEval(): Promise<string | undefined> {
  return Promise.reject(new Error("eval must not run in this test"));
}

async function rc(
  text: string,
  evalCommand: (command: string) => Promise<string | undefined> = noEval,
): Promise<ConfigSource> {
  return await parseMsmtprc(text, "rc", { evalCommand });
}

/** Name, defaults and own settings of each account: what a conversion must keep. */
function meaning(accounts: BuiltAccount[]): unknown[] {
  return accounts.map((a) => ({ name: a.name, base: a.base, own: a.own }));
}

/** Asserts msmtprc → TOML → accounts gives the msmtprc file's own accounts; returns the TOML. */
async function assertRoundTrip(source: ConfigSource): Promise<string> {
  const text = msmtprcToToml(source);
  const back = await parseTomlConfig(text, "converted.toml", NO_ENV);
  assert.deepEqual(
    meaning(buildAccounts(back, { home: "/h" })),
    meaning(buildAccounts(source, { home: "/h" })),
    text,
  );
  return text;
}

Deno.test("every msmtprc test file converts to TOML that builds the same accounts", async () => {
  let files = 0;
  for await (const entry of Deno.readDir(TESTDATA)) {
    if (!entry.name.endsWith(".msmtprc")) continue;
    files++;
    const text = await Deno.readTextFile(new URL(entry.name, TESTDATA));
    await assertRoundTrip(await rc(text));
  }
  assert.ok(files >= 5, `only ${files} msmtprc test files`);
});

Deno.test("a conversion keeps quoting: inner quotes, backslashes, tabs and control characters", async () => {
  const text = await assertRoundTrip(
    await rc(
      'account q\nfrom "Joe \\"Q\\" <j@x>"\nuser a\tb\npassword ""x""\n' +
        "logfile_time_format \x01%c\x7f\nlogfile h # not a comment\n",
    ),
  );
  assert.match(text, /^user = "a\\tb"$/m);
  assert.match(text, /^logfile = "h # not a comment"$/m);
});

Deno.test("odd but legal msmtprc names and arguments survive a conversion", async () => {
  await assertRoundTrip(
    await rc("account a\tb\nhost h\nuser x\ry\naccount \x01\x7f\naccount c : a\tb, \x01\x7f\n"),
  );
});

Deno.test("random argument strings survive a conversion", async () => {
  let state = 0x2545f491;
  const next = (n: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const alphabet = " \t\"'\\#:,=[]{}abcxyz\x01\x1f\x7fé€😀";
  const chars = [...alphabet];
  for (let round = 0; round < 200; round++) {
    let arg = "";
    const length = next(20);
    for (let i = 0; i < length; i++) arg += chars[next(chars.length)];
    // (host-like values such as domain are checked where read; free text only here)
    for (const command of ["from", "user", "password", "logfile_time_format", "ntlmdomain"]) {
      await assertRoundTrip(await rc(`account a\n${command} ${arg}\n`));
    }
  }
});

Deno.test("empty arguments that unset a setting are written as empty strings", async () => {
  const text = await assertRoundTrip(
    await rc("account p\nuser u\naccount c : p\nuser\nproxy_port\ntls_trust_file\n"),
  );
  assert.match(text, /^user = ""$/m);
  assert.match(text, /^proxy_port = ""$/m);
  assert.match(text, /^tls_trust_file = ""$/m);
});

Deno.test("eval lines are converted as the values they produced", async () => {
  const source = await rc("account a\neval echo host from-eval\n", (cmd) => {
    assert.equal(cmd, "echo host from-eval");
    return Promise.resolve("host from-eval");
  });
  const text = await assertRoundTrip(source);
  assert.match(text, /^host = "from-eval"$/m);
  assert.doesNotMatch(text, /^eval/m);
});

Deno.test("comments are not kept and the header says so", async () => {
  const text = msmtprcToToml(await rc("# my comment\naccount a\nhost h\n"));
  assert.doesNotMatch(text, /my comment/);
  assert.match(text, /^# postie configuration converted from rc/);
  assert.match(text, /Comments were not kept/);
});

Deno.test("account default : NAME at the end becomes the top-level default key", async () => {
  const text = await assertRoundTrip(await rc("account a\nhost h\naccount default : a\n"));
  assert.match(text, /^default = "a"$/m);
  assert.doesNotMatch(text, /accounts\.default/);
});

Deno.test("a default account with settings or before other accounts stays a table", async () => {
  const withSettings = await assertRoundTrip(
    await rc("account a\nhost h\naccount default : a\nport 26\n"),
  );
  assert.match(withSettings, /^\[accounts\.default\]\ninherit = \["a"\]\nport = 26$/m);
  const early = await assertRoundTrip(
    await rc("account a\nhost h\naccount default : a\naccount b\nhost b\n"),
  );
  assert.match(early, /^\[accounts\.default\]$/m);
});

Deno.test("commands before any account become the implicit default account", async () => {
  const text = await assertRoundTrip(await rc("host h\nport 2525\naccount b : default\n"));
  assert.match(text, /^\[accounts\.default\]\nhost = "h"\nport = 2525$/m);
});

Deno.test("compatibility commands are written under their current names", async () => {
  const text = await assertRoundTrip(
    await rc(
      "account a\nkeepbcc\ntls_nocertcheck\ntls_nostarttls\nconnect_timeout 5\n" +
        "add_missing_date_header off\ntls_force_sslv3 x\n",
    ),
  );
  assert.match(text, /^remove_bcc_headers = false$/m);
  assert.match(text, /^tls_certcheck = false$/m);
  assert.match(text, /^tls_starttls = false$/m);
  assert.match(text, /^timeout = 5$/m);
  assert.match(text, /^set_date_header = "off"$/m);
  assert.doesNotMatch(text, /keepbcc|nocertcheck|connect_timeout|sslv3/);
});

Deno.test("file names keep their ~ so the TOML file works for its owner", async () => {
  const text = await assertRoundTrip(await rc("defaults\nlogfile ~/m.log\ntls_cert_file ~/c\n"));
  assert.match(text, /^logfile = "~\/m\.log"$/m);
});

Deno.test("several defaults blocks become [[defaults]] tables in place", async () => {
  const text = await assertRoundTrip(
    await rc("defaults\nport 1\naccount a\nhost a\ndefaults\nport 2\naccount b\nhost b\n"),
  );
  assert.equal(text.match(/^\[\[defaults\]\]$/gm)?.length, 2);
  assert.ok(text.indexOf("[accounts.a]") < text.lastIndexOf("[[defaults]]"));
});

Deno.test("an invalid msmtprc file is refused with the loader's error", async () => {
  for (
    const [text, message] of [
      ["account a\nport 0\n", "rc: line 2: invalid argument 0 for command port"],
      ["account a : b\n", "rc: line 1: account b not (yet) defined"],
      ["account a\nhots x\n", "rc: line 2: unknown command hots"],
    ]
  ) {
    const source = await rc(text);
    assert.throws(
      () => msmtprcToToml(source),
      (e: unknown) => e instanceof ConfigError && e.message === message,
    );
  }
});
