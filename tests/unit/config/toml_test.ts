import assert from "node:assert/strict";
import { moduleGraph } from "../../support/module_graph.ts";
import { buildAccounts, type BuiltAccount, toAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";
import { parseTomlConfig, type TomlOptions } from "../../../lib/config/toml.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { loadDotenv } from "../../../lib/config/dotenv.ts";
import type { ConfigSource } from "../../../lib/config/source.ts";

const TESTDATA = new URL("../../testdata/config/", import.meta.url);

function options(vars: Record<string, string> = {}, extra: Partial<TomlOptions> = {}): TomlOptions {
  return {
    env: (name) => Object.hasOwn(vars, name) ? vars[name] : undefined,
    home: "/h",
    ...extra,
  };
}

async function toml(text: string, vars: Record<string, string> = {}): Promise<ConfigSource> {
  return await parseTomlConfig(text, "c.toml", options(vars));
}

async function build(text: string, vars: Record<string, string> = {}): Promise<BuiltAccount[]> {
  return buildAccounts(await toml(text, vars), { home: "/h" });
}

/** The error a TOML text ends in, from reading or from building. */
async function tomlError(text: string, vars: Record<string, string> = {}): Promise<ConfigError> {
  try {
    await build(text, vars);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    assert.equal(e.exitCode, 78);
    return e;
  }
  throw new Error("no error");
}

/** Name, defaults and own settings: what must agree between the two formats. */
function meaning(accounts: BuiltAccount[]): unknown[] {
  return accounts.map((a) => ({ name: a.name, base: a.base, own: a.own }));
}

async function msmtprcMeaning(text: string): Promise<unknown[]> {
  const source = await parseMsmtprc(text, "rc", {
    evalCommand: () => Promise.reject(new Error("no eval in tests")),
  });
  return meaning(buildAccounts(source, { home: "/h" }));
}

Deno.test("defaults and account tables mean what the same msmtprc means", async () => {
  const fromToml = await build(`
default = "work"
[defaults]
port = 587
tls = true
logfile = "~/log"
[accounts.work]
host = "smtp.example.com"
auth = "plain"
user = "alice"
[accounts.home]
inherit = ["work"]
host = "mail.example.org"
timeout = 30
`);
  const fromRc = await msmtprcMeaning(
    "defaults\nport 587\ntls on\nlogfile ~/log\naccount work\nhost smtp.example.com\n" +
      "auth plain\nuser alice\naccount home : work\nhost mail.example.org\ntimeout 30\n" +
      "account default : work\n",
  );
  assert.deepEqual(meaning(fromToml), fromRc);
});

Deno.test("booleans become on/off, integers numbers and strings stay as written", async () => {
  const source = await toml(`
[accounts.a]
tls = true
tls_starttls = false
port = 2525
from = "Joe <joe@example.com>"
`);
  assert.deepEqual(
    source.blocks[0].commands.map((c) => [c.name, c.arg]),
    [["tls", "on"], ["tls_starttls", "off"], ["port", "2525"], [
      "from",
      "Joe <joe@example.com>",
    ]],
  );
});

Deno.test("auth takes true, false or a method name", async () => {
  const [on, off, plain] = await build(`
[accounts.on]
auth = true
[accounts.off]
auth = false
[accounts.plain]
auth = "plain"
`);
  assert.equal(on.own.auth, "on");
  assert.equal(off.own.auth, "off");
  assert.equal(plain.own.auth, "PLAIN");
});

Deno.test('timeout takes a number of seconds or "off"', async () => {
  const [ten, off] = await build('[accounts.a]\ntimeout = 10\n[accounts.b]\ntimeout = "off"\n');
  assert.equal(ten.own.timeout, 10);
  assert.equal(off.own.timeout, 0);
});

Deno.test("an empty string unsets a setting like an empty msmtprc argument", async () => {
  const [, child] = await build(
    '[accounts.p]\nuser = "u"\ntls_trust_file = "/ca"\n[accounts.c]\ninherit = "p"\n' +
      'user = ""\ntls_trust_file = ""\n',
  );
  assert.equal(child.own.user, null);
  assert.equal(child.own.tls_trust_file, null);
  assert.equal(toAccount(child).settings.user, null);
});

Deno.test("default = NAME is account default : NAME read after every other account", async () => {
  const accounts = await build(
    'default = "b"\n[accounts.a]\nhost = "a"\n[defaults]\nport = 26\n[accounts.b]\nhost = "b"\n',
  );
  assert.deepEqual(accounts.map((a) => a.name), ["a", "b", "default"]);
  const fallback = accounts[2];
  assert.equal(fallback.own.host, "b");
  assert.equal(fallback.base.port, 26);
  assert.equal(fallback.line, 1);
});

Deno.test("a file with both default = NAME and [accounts.default] is refused", async () => {
  const e = await tomlError('default = "a"\n[accounts.a]\nhost = "a"\n[accounts.default]\n');
  assert.equal(e.message, "c.toml: line 1: account default was already defined");
});

Deno.test("defaults apply only to accounts written below them, as in msmtprc", async () => {
  const [early, late] = await build(
    '[accounts.early]\nhost = "e"\n[defaults]\nport = 30\n[accounts.late]\nhost = "l"\n',
  );
  assert.deepEqual(early.base, {});
  assert.deepEqual(late.base, { port: 30 });
});

Deno.test("[[defaults]] tables add up, each for the accounts below it", async () => {
  const fromToml = await build(`
[[defaults]]
port = 30
[accounts.a]
host = "a"
[[defaults]]
host = "d"
tls = true
[accounts.b]
`);
  const fromRc = await msmtprcMeaning(
    "defaults\nport 30\naccount a\nhost a\ndefaults\nhost d\ntls\naccount b\n",
  );
  assert.deepEqual(meaning(fromToml), fromRc);
});

Deno.test("inherit takes one name or a list, applied in order", async () => {
  const accounts = await build(`
[accounts.a]
host = "a"
port = 1
[accounts.b]
host = "b"
[accounts.one]
inherit = "a"
[accounts.two]
inherit = ["a", "b"]
`);
  assert.deepEqual(accounts[2].own, { host: "a", port: 1 });
  assert.deepEqual(accounts[3].own, { host: "b", port: 1 });
});

Deno.test("a parent written below its child is not (yet) defined, with the child's line", async () => {
  const e = await tomlError('[accounts.child]\ninherit = ["base"]\n[accounts.base]\nhost = "x"\n');
  assert.equal(e.message, "c.toml: line 1: account base not (yet) defined");
  assert.equal(e.line, 1);
});

Deno.test("an unknown key is an unknown command at its line", async () => {
  const e = await tomlError('[accounts.a]\nhost = "x"\n\nhots = "y"\n');
  assert.equal(e.message, "c.toml: line 4: unknown command hots");
});

Deno.test("eval is not a TOML command", async () => {
  const e = await tomlError('[accounts.a]\neval = "echo host x"\n');
  assert.equal(e.message, "c.toml: line 2: unknown command eval");
});

Deno.test("a value the shared rules refuse is reported with msmtprc's words and its line", async () => {
  const e = await tomlError("[defaults]\ntls = true\n[accounts.a]\nport = 99999\n");
  assert.equal(e.message, "c.toml: line 4: invalid argument 99999 for command port");
});

Deno.test("line numbers are found for dotted keys, inline tables and quoted names", async () => {
  const source = await toml(`# comment
accounts.a.host = "x"

[accounts."b c"]
user = """
two\\
"""
port = 25
[accounts.d]
x = { y = 1 }
timeout = 5
`);
  const lines = source.blocks.map((b) => [b.line, ...b.commands.map((c) => c.line)]);
  assert.deepEqual(lines, [[2, 2], [4, 5, 8], [9, 10, 11]]);
});

Deno.test("a byte-order mark does not hide the first line", async () => {
  const e = await tomlError('\ufeff[accounts.a]\nhots = "x"\n');
  assert.equal(e.message, "c.toml: line 2: unknown command hots");
});

Deno.test("a TOML syntax error names the file and line and exits 78", async () => {
  const e = await tomlError('[accounts.a]\nhost = "x"\nport = \n');
  assert.equal(e.line, 3);
  assert.match(e.message, /^c\.toml: line 3: invalid TOML: /);
  assert.ok(!e.message.includes("\n"));
});

Deno.test("a duplicate key is a TOML syntax error", async () => {
  const e = await tomlError('[accounts.a]\nhost = "x"\nhost = "y"\n');
  assert.equal(e.line, 3);
});

Deno.test("settings at the top level are refused with a hint", async () => {
  const e = await tomlError('host = "x"\n');
  assert.equal(
    e.message,
    "c.toml: line 1: unknown top-level key host; settings belong in [defaults] or [accounts.NAME]",
  );
});

Deno.test("values of the wrong type are refused with the types the command takes", async () => {
  const cases: [string, string][] = [
    ["host = true", 'invalid value for command host: expected a string or { env = "NAME" }'],
    ["port = 1.5", "invalid value for command port: expected a number, a string or"],
    ["port = [25]", "invalid value for command port"],
    ["timeout = 1979-05-27", "expected a number, true/false, a string"],
    ['user = { name = "x" }', "invalid value for command user"],
    ['password = { env = "A", default = "x" }', 'write { env = "NAME" }'],
  ];
  for (const [line, expected] of cases) {
    const e = await tomlError(`[accounts.a]\n${line}\n`);
    assert.ok(e.message.startsWith("c.toml: line 2: "), e.message);
    assert.ok(e.message.includes(expected), e.message);
  }
});

Deno.test("line breaks in values are refused without quoting the value", async () => {
  const e = await tomlError('[accounts.a]\npassword = "one\\ntwo"\n');
  assert.equal(e.message, "c.toml: line 2: the value of password must not contain a line break");
});

Deno.test("account names msmtprc could not write are refused", async () => {
  assert.match(
    (await tomlError('[accounts."a:b"]\n')).message,
    /must not contain colons or commas/,
  );
  assert.match((await tomlError('[accounts."a,b"]\n')).message, /colons or commas/);
  const control = await tomlError('[accounts."a\\nb"]\n');
  assert.match(control.message, /must not contain a line break/);
  assert.ok(!control.message.includes("\n"));
  assert.match((await tomlError('[accounts." a"]\n')).message, /blanks/);
  assert.match((await tomlError('[accounts.a]\ninherit = ["x:y"]\n')).message, /colons/);
  assert.match((await tomlError("[accounts.a]\ninherit = 3\n")).message, /inherit must be/);
  assert.match((await tomlError("default = 3\n")).message, /default must be the name/);
  assert.match((await tomlError("[defaults]\ninherit = []\n")).message, /not in defaults/);
  assert.match((await tomlError("accounts = 3\n")).message, /accounts must be a table/);
  assert.match((await tomlError("[accounts]\na = 3\n")).message, /account a must be a table/);
});

Deno.test("an empty account name is missing, as in msmtprc", async () => {
  const e = await tomlError('[accounts.""]\nhost = "x"\n');
  assert.equal(e.message, "c.toml: line 1: missing account name");
});

Deno.test("tls_nocertcheck = true is the bare compatibility command", async () => {
  const [a] = await build("[accounts.a]\ntls_nocertcheck = true\ntls_nostarttls = true\n");
  assert.deepEqual(a.own, { tls_certcheck: false, tls_starttls: false });
  const e = await tomlError("[accounts.a]\ntls_nocertcheck = false\n");
  assert.equal(e.message, "c.toml: line 2: command tls_nocertcheck does not take an argument");
});

Deno.test("{ env = NAME } reads the variable's value", async () => {
  const [a] = await build(
    '[accounts.a]\npassword = { env = "SMTP_PASSWORD" }\nport = { env = "P" }',
    {
      SMTP_PASSWORD: "s3cret",
      P: "2525",
    },
  );
  assert.equal(a.own.password, "s3cret");
  assert.equal(a.own.port, 2525);
});

Deno.test("a missing variable names the file, line, key and variable", async () => {
  const e = await tomlError('[accounts.a]\nhost = "x"\npassword = { env = "SMTP_PASSWORD" }\n');
  assert.equal(
    e.message,
    "c.toml: line 3: environment variable SMTP_PASSWORD for command password is not set",
  );
});

Deno.test("a variable's value the command refuses is reported without the value", async () => {
  const bad = await tomlError('[accounts.a]\nauth = { env = "AUTH" }\n', { AUTH: "hunter2" });
  assert.equal(
    bad.message,
    "c.toml: line 2: environment variable AUTH does not hold a valid value for command auth",
  );
  const empty = await tomlError('[accounts.a]\nhost = { env = "H" }\n', { H: "" });
  assert.match(empty.message, /environment variable H for command host is empty/);
  const broken = await tomlError('[accounts.a]\nuser = { env = "U" }\n', { U: "a\nhunter2" });
  assert.match(broken.message, /contains a line break/);
  assert.ok(!broken.message.includes("hunter2"));
  const name = await tomlError('[accounts.a]\nuser = { env = "A-B" }\n');
  assert.match(name.message, /invalid environment variable name A-B for command user/);
});

Deno.test("env_file is read relative to the config file, after the environment", async () => {
  const path = new URL("basic.toml", TESTDATA).pathname;
  const text = await Deno.readTextFile(path);
  // Checked-out test files are not private; the permission check has its own tests.
  const readEnvFile = (p: string) => loadDotenv(p, { readTextFile: (f) => Deno.readTextFile(f) });
  const source = await parseTomlConfig(
    text,
    path,
    options({ WORK_PASSWORD: "from-env" }, { readEnvFile }),
  );
  const [work, personal] = buildAccounts(source, { home: "/h" });
  assert.equal(work.own.password, "from-env");
  assert.equal(personal.own.password, "personal secret");
});

Deno.test("variables named like object properties are only variables", async () => {
  const source = await parseTomlConfig(
    'env_file = "x.env"\n[accounts.a]\nuser = { env = "toString" }\nhost = { env = "constructor" }\n',
    "c.toml",
    {
      env: () => undefined,
      readEnvFile: () => Promise.resolve({ constructor: "h" }),
    },
  ).catch((e) => e);
  assert.ok(source instanceof ConfigError);
  assert.equal(
    source.message,
    "c.toml: line 3: environment variable toString for command user is not set",
  );
});

Deno.test("env_file uses the given reader, so callers can check the file first", async () => {
  const seen: string[] = [];
  const source = await parseTomlConfig(
    'env_file = "~/.smtp.env"\n[accounts.a]\nuser = { env = "U" }\n',
    "/etc/c.toml",
    options({}, {
      readEnvFile: (p) => {
        seen.push(p);
        return Promise.resolve({ U: "joe" });
      },
    }),
  );
  assert.deepEqual(seen, ["/h/.smtp.env"]);
  assert.equal(source.blocks[0].commands[0].arg, "joe");
});

Deno.test("a missing env_file is a config error naming both files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const e = await parseTomlConfig('\nenv_file = "nope.env"\n', `${dir}/c.toml`, options())
      .then(() => undefined, (e) => e);
    assert.ok(e instanceof ConfigError);
    assert.equal(
      e.message,
      `${dir}/c.toml: line 2: env_file: ${dir}/nope.env: No such file or directory`,
    );
    assert.equal(e.exitCode, 78);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a literal password marks the file as holding one; an env reference does not", async () => {
  assert.equal((await toml('[accounts.a]\npassword = "x"\n')).holdsPassword, true);
  assert.equal((await toml('[accounts.a]\npassword = ""\n')).holdsPassword, true);
  assert.equal(
    (await toml('[accounts.a]\npassword = { env = "P" }\n', { P: "x" })).holdsPassword,
    false,
  );
  assert.equal((await toml('[accounts.a]\npasswordeval = "pass x"\n')).holdsPassword, false);
});

Deno.test("TOML and dotenv are not loaded on the msmtprc start-up path", async () => {
  const reached = [...(await moduleGraph()).staticallyReached];
  assert.ok(reached.some((s) => s.endsWith("/lib/config/resolve.ts")), "the walk found config");
  assert.deepEqual(
    reached.filter((s) => s.startsWith("npm:") || /\/lib\/config\/(toml|dotenv)\.ts$/.test(s)),
    [],
  );
});
