import assert from "node:assert/strict";
import {
  type AccountSelection,
  checkAccount,
  type Env,
  errorPreamble,
  fromMatches,
  realEnv,
  resolveAccount,
} from "../../../lib/config/resolve.ts";
import { DEFAULT_SETTINGS } from "../../../lib/config/account.ts";
import { fnmatch } from "../../../lib/config/fnmatch.ts";

/** What `sendmail -P` selects (an account for sending, no from required), with additions. */
function invocation(over: AccountSelection = {}): AccountSelection {
  return { sending: true, requireFrom: false, ...over };
}

interface FakeFile {
  text: string;
  uid?: number;
  mode?: number;
}

function fakeEnv(
  files: Record<string, FakeFile>,
  vars: Record<string, string> = {},
  uid = 1000,
): Env {
  return {
    getenv: (name) => vars[name],
    home: () => "/home/joe",
    exists: (path) => path in files,
    hostname: () => "box",
    canonicalHostname: (h) => `${h}.example`,
    loginName: () => "joe",
    uid: () => uid,
    readTextFile: (path) => {
      const f = files[path];
      if (f === undefined) return Promise.reject(new Deno.errors.NotFound(path));
      return Promise.resolve(f.text);
    },
    stat: (path) =>
      Promise.resolve({ uid: files[path]?.uid ?? uid, mode: files[path]?.mode ?? 0o600 }),
    evalCommand: (c) => Promise.resolve(c.startsWith("echo ") ? c.slice(5) : undefined),
  };
}

async function loadError(inv: AccountSelection, env: Env): Promise<Error> {
  try {
    await resolveAccount(inv, env);
  } catch (e) {
    return e as Error;
  }
  throw new Error("no error");
}

const USER_RC = "/home/joe/.msmtprc";

Deno.test("missing files are ignored and named in the preamble", async () => {
  const env = fakeEnv({}, { EMAIL: "e@x", SMTPSERVER: "s" });
  const { account, preamble } = await resolveAccount(invocation(), env);
  assert.deepEqual(preamble, [
    "ignoring system configuration file /etc/msmtprc: No such file or directory",
    `ignoring user configuration file ${USER_RC}: No such file or directory`,
    "falling back to default account",
    "using environment variables EMAIL and SMTPSERVER",
  ]);
  assert.equal(account.settings.host, "s");
  assert.equal(account.settings.from, "e@x");
  assert.equal(account.settings.port, 25);
});

Deno.test("POSTIE_SYSCONFDIR moves the system file", async () => {
  const env = fakeEnv(
    { "/sys/msmtprc": { text: "account default\nhost h\nfrom a@b\n" } },
    { POSTIE_SYSCONFDIR: "/sys" },
  );
  const { preamble } = await resolveAccount(invocation(), env);
  assert.equal(preamble[0], "loaded system configuration file /sys/msmtprc");
  assert.equal(preamble.at(-1), "using account default from /sys/msmtprc");
});

Deno.test("a missing -C file is an I/O error after the system line", async () => {
  const e = await loadError(invocation({ configFile: "rc" }), fakeEnv({}));
  assert.equal(e.message, "rc: No such file or directory");
  assert.equal((e as { exitCode?: number }).exitCode, 74);
  assert.deepEqual(errorPreamble(e), [
    "ignoring system configuration file /etc/msmtprc: No such file or directory",
  ]);
});

Deno.test("user accounts replace system accounts of the same name", async () => {
  const env = fakeEnv({
    "/etc/msmtprc": { text: "account default\nhost sys\nfrom s@x\naccount only\nhost o\n" },
    [USER_RC]: { text: "account default\nhost usr\nfrom u@x\n" },
  });
  assert.equal((await resolveAccount(invocation(), env)).account.settings.host, "usr");
  const e = await loadError(invocation({ account: "nope" }), env);
  assert.equal(e.message, `account nope not found in /etc/msmtprc and ${USER_RC}`);
});

Deno.test("a file holding a password must be private to its owner", async () => {
  const text = "account default\nhost h\nfrom a@b\npassword p\n";
  const open = fakeEnv({ [USER_RC]: { text, mode: 0o644 } });
  assert.equal(
    (await loadError(invocation(), open)).message,
    `${USER_RC}: contains secrets and therefore must have no more than user read/write permissions`,
  );
  const foreign = fakeEnv({ [USER_RC]: { text, uid: 0 } });
  assert.equal(
    (await loadError(invocation(), foreign)).message,
    `${USER_RC}: contains secrets and therefore must be owned by you`,
  );
  const asRoot = fakeEnv({ [USER_RC]: { text, mode: 0o644, uid: 5 } }, {}, 0);
  assert.equal((await resolveAccount(invocation(), asRoot)).account.settings.password, "p");
});

Deno.test("-f chooses the first account whose from matches", async () => {
  const env = fakeEnv({
    [USER_RC]: { text: "account w\nhost w\nfrom *@wild.example\naccount s\nhost s\nfrom s@x\n" },
  });
  const { account, preamble } = await resolveAccount(invocation({ from: "S+tag@X" }), env);
  assert.equal(account.name, "s");
  assert.equal(account.settings.from, "S+tag@X");
  assert.ok(preamble.includes("account chosen by envelope from address S+tag@X: s"));
});

Deno.test("sub-addresses, globs and plain addresses match as in msmtp 1.8.23", () => {
  assert.equal(fromMatches("joe@x", "JOE+a+b@X"), true);
  assert.equal(fromMatches("*@wild.example", "a+b@wild.example"), false);
  assert.equal(fromMatches("*@wild.example", "A@WILD.example"), false);
  assert.equal(fromMatches("x+y@p", "x+y@p"), true);
  assert.equal(fnmatch("[!a-c]?@x", "d1@x"), true);
  assert.equal(fnmatch("[ab]?@x", "c1@x"), false);
});

Deno.test("allow_from_override off keeps the account's from", async () => {
  const env = fakeEnv({
    [USER_RC]: { text: "account default\nhost h\nfrom f@x\nallow_from_override off\n" },
  });
  const { account } = await resolveAccount(invocation({ from: "other@x" }), env);
  assert.equal(account.settings.from, "f@x");
});

Deno.test("post-processing fills port, trust file, proxy port and expands %U %H %C", async () => {
  const env = fakeEnv({
    [USER_RC]: {
      text: "account default\nhost h\nfrom %U@%H\ndomain %C\ntls\ntls_starttls off\nproxy_host p\n",
    },
  });
  const s = (await resolveAccount(invocation(), env)).account.settings;
  assert.equal(s.port, 465);
  assert.equal(s.tls_trust_file, "system");
  assert.equal(s.proxy_port, 1080);
  assert.equal(s.from, "joe@box");
  assert.equal(s.domain, "box.example");
});

Deno.test("passwordeval runs before --pretend when auth is on", async () => {
  const env = fakeEnv({
    [USER_RC]: { text: "account default\nhost h\nfrom a@b\nauth on\npasswordeval echo pw\n" },
  });
  assert.equal((await resolveAccount(invocation(), env)).account.settings.password, "pw");
  const silent = fakeEnv({
    [USER_RC]: { text: "account default\nhost h\nfrom a@b\nauth on\npasswordeval true\n" },
  });
  assert.equal((await loadError(invocation(), silent)).message, "cannot read output of 'true'");
});

Deno.test("account checks name the account and its file", async () => {
  const env = fakeEnv({ [USER_RC]: { text: "account default\nfrom a@b\n" } });
  assert.equal(
    (await loadError(invocation(), env)).message,
    `account default from ${USER_RC}: host not set`,
  );
  assert.equal(checkAccount({ ...DEFAULT_SETTINGS, host: "h" }, false), "port not set");
});

Deno.test("--host builds the account from the command line alone", async () => {
  const inv = invocation({
    host: "mx",
    overrides: [{ option: "--tls", name: "tls", arg: "on" }],
  });
  const { account, preamble } = await resolveAccount(inv, fakeEnv({}));
  assert.deepEqual(preamble, ["using account specified on command line"]);
  assert.equal(account.settings.tls, true);
});

Deno.test("overrides may be a record of config commands, reported by the command's name", async () => {
  const { account } = await resolveAccount(
    { host: "mx", overrides: { port: "587", tls: "on", tls_starttls: "on" } },
    fakeEnv({}),
  );
  assert.equal(account.settings.port, 587);
  assert.equal(account.settings.tls, true);
  const e = await loadError({ host: "mx", overrides: { tls: "maybe" } }, fakeEnv({}));
  assert.equal(e.message, "invalid argument maybe for tls");
});

Deno.test("realEnv with variables given never reads the process environment", () => {
  const env = realEnv({ HOME: "/home/given", EMAIL: "given@example.org" });
  assert.equal(env.home(), "/home/given");
  assert.equal(env.getenv("EMAIL"), "given@example.org");
  assert.equal(env.getenv("PATH"), undefined);
});

Deno.test("POSTIE_* variables lie between the file and the overrides", async () => {
  const files = {
    [USER_RC]: { text: "account default\nhost file.example\nport 2525\nfrom f@x\nuser u\n" },
    "/run/secrets/pw": { text: "s3cret\n" },
  };
  const vars = { POSTIE_PORT: "587", POSTIE_USER: "env", POSTIE_PASSWORD_FILE: "/run/secrets/pw" };
  const { account, preamble } = await resolveAccount(
    invocation({ overrides: { user: "cli" } }),
    fakeEnv(files, vars),
  );
  assert.equal(account.settings.host, "file.example");
  assert.equal(account.settings.port, 587);
  assert.equal(account.settings.user, "cli");
  assert.equal(account.settings.password, "s3cret");
  assert.equal(account.name, "default");
  assert.equal(account.file, USER_RC);
  assert.ok(
    preamble.includes(
      "settings from the environment: POSTIE_PORT POSTIE_USER POSTIE_PASSWORD_FILE",
    ),
  );
  // the values never reach the preamble
  assert.ok(!preamble.join("\n").includes("s3cret"));
});

Deno.test("POSTIE_HOST makes an account when no file has one, before SMTPSERVER", async () => {
  const env = fakeEnv({}, { POSTIE_HOST: "env.example", SMTPSERVER: "s", EMAIL: "e@x" });
  const { account, preamble } = await resolveAccount(invocation(), env);
  assert.equal(account.settings.host, "env.example");
  assert.equal(account.settings.port, 25);
  assert.equal(account.file, undefined);
  assert.ok(preamble.includes("using account from POSTIE_* environment variables"));
  const socket = await resolveAccount(invocation(), fakeEnv({}, { POSTIE_SOCKET: "/run/lmtp" }));
  assert.equal(socket.account.settings.socket, "/run/lmtp");
});

Deno.test("environment: false leaves the POSTIE_* variables out", async () => {
  const env = fakeEnv({}, { POSTIE_PORT: "x", POSTIE_PASSWORD: "p", POSTIE_TLS: "on" });
  const { account, preamble } = await resolveAccount(
    invocation({ host: "plain.example", environment: false }),
    env,
  );
  assert.equal(account.settings.password, null);
  assert.equal(account.settings.tls, false);
  assert.deepEqual(preamble, ["using account specified on command line"]);
  // by default they count, and a bad one is an error naming it
  const error = await loadError(invocation({ host: "plain.example" }), env);
  assert.equal(error.message, 'POSTIE_PORT: invalid port "x"');
});
