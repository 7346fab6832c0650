/**
 * The relay's configuration commands: the same values from msmtprc and TOML, the value
 * rules, `--pretend`, `--convert-to-toml`, the users file and the network lists.
 */

import assert from "node:assert/strict";
import { buildAccounts, toAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";
import { parseTomlConfig } from "../../../lib/config/toml.ts";
import { msmtprcToToml } from "../../../lib/config/to_toml.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { parseArgs } from "../../../lib/cli/args.ts";
import { formatSettings } from "../../../lib/cli/pretend.ts";
import { inNetworks, parseHostPort, parseNetworks } from "../../../lib/config/networks.ts";
import { parseUsers, verifyPassword } from "../../../lib/relay/users.ts";
import { BareNewlineCheck } from "../../../lib/relay/bare_newline.ts";
import { UsageError } from "../../../lib/errors.ts";

const RC = `defaults
listen 127.0.0.1:2525, [::1]:2525
listen_tls_cert_file /etc/postie/cert.pem
listen_tls_key_file /etc/postie/key.pem
listen_users /etc/postie/users
listen_allow 10.0.0.0/8 fd00::/8
listen_allow_from *@example.org
listen_max_size 1000000
listen_max_recipients 50
listen_max_connections 20
listen_idle_timeout 60
listen_rate 30
listen_bare_newlines reject
metrics_listen 0.0.0.0:9125

account default
host mail.example.org
`;

const TOML = `[defaults]
listen = ["127.0.0.1:2525", "[::1]:2525"]
listen_tls_cert_file = "/etc/postie/cert.pem"
listen_tls_key_file = "/etc/postie/key.pem"
listen_users = "/etc/postie/users"
listen_allow = ["10.0.0.0/8", "fd00::/8"]
listen_allow_from = "*@example.org"
listen_max_size = 1000000
listen_max_recipients = 50
listen_max_connections = 20
listen_idle_timeout = 60
listen_rate = 30
listen_bare_newlines = "reject"
metrics_listen = "0.0.0.0:9125"

[accounts.default]
host = "mail.example.org"
`;

async function fromRc(text: string) {
  return buildAccounts(await parseMsmtprc(text, "rc"), { home: "/h" }).map(toAccount);
}

Deno.test("the relay commands mean the same in msmtprc and TOML", async () => {
  const [rc] = await fromRc(RC);
  const [toml] = buildAccounts(
    await parseTomlConfig(TOML, "c.toml", { env: () => undefined, home: "/h" }),
    { home: "/h" },
  ).map(toAccount);
  assert.deepEqual(toml.settings, rc.settings);
  assert.equal(rc.settings.listen, "127.0.0.1:2525, [::1]:2525");
  assert.equal(rc.settings.listen_allow, "10.0.0.0/8, fd00::/8");
  assert.equal(rc.settings.listen_rate, 30);
  assert.equal(rc.settings.listen_bare_newlines, "reject");
});

Deno.test("the relay defaults: Postfix's size and recipient limits, 5 minutes idle, no rate, normalize", async () => {
  const [a] = await fromRc("account default\nhost x\n");
  assert.equal(a.settings.listen, null);
  assert.equal(a.settings.listen_max_size, 10240000);
  assert.equal(a.settings.listen_max_recipients, 1000);
  assert.equal(a.settings.listen_max_connections, 100);
  assert.equal(a.settings.listen_idle_timeout, 300);
  assert.equal(a.settings.listen_rate, 0);
  assert.equal(a.settings.listen_bare_newlines, "normalize");
});

for (
  const [line, message] of [
    ["listen 127.0.0.1:x", "rc: line 1: invalid argument 127.0.0.1:x for command listen"],
    ["listen 127.0.0.1:0", "rc: line 1: invalid argument 127.0.0.1:0 for command listen"],
    ["metrics_listen a:1 b:2", "rc: line 1: invalid argument a:1 b:2 for command metrics_listen"],
    [
      "listen_allow 10.0.0.0/33",
      "rc: line 1: invalid argument 10.0.0.0/33 for command listen_allow",
    ],
    [
      "listen_allow example.org",
      "rc: line 1: invalid argument example.org for command listen_allow",
    ],
    ["listen_max_size 0", "rc: line 1: invalid argument 0 for command listen_max_size"],
    ["listen_max_size", "rc: line 1: command listen_max_size needs an argument"],
    [
      "listen_bare_newlines keep",
      "rc: line 1: invalid argument keep for command listen_bare_newlines",
    ],
  ]
) {
  Deno.test(`a bad relay value is a config error naming the file and line: ${line}`, async () => {
    await assert.rejects(fromRc(`${line}\n`), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, message);
      assert.equal(e.exitCode, 78);
      return true;
    });
  });
}

Deno.test("--pretend shows the relay settings only when one is set", async () => {
  const [plain] = await fromRc("account default\nhost x\n");
  assert.ok(!formatSettings(plain, parseArgs(["-P", "x"])).some((l) => l.startsWith("listen")));
  const [relay] = await fromRc(RC);
  const lines = formatSettings(relay, parseArgs(["-P", "x"]));
  assert.ok(lines.includes("listen = 127.0.0.1:2525, [::1]:2525"));
  assert.ok(lines.includes("listen_rate = 30"));
  assert.ok(lines.includes("metrics_listen = 0.0.0.0:9125"));
});

Deno.test("--convert-to-toml keeps the relay settings", async () => {
  const source = await parseMsmtprc(RC, "rc");
  const text = msmtprcToToml(source);
  const back = buildAccounts(
    await parseTomlConfig(text, "c.toml", { env: () => undefined, home: "/h" }),
    { home: "/h" },
  ).map(toAccount);
  const [rc] = await fromRc(RC);
  assert.deepEqual(back[0].settings, rc.settings);
});

Deno.test("-bd, -bs, --listen, --health and --hash-password parse into their modes", () => {
  assert.equal(parseArgs(["-bd"]).mode, "daemon");
  assert.equal(parseArgs(["-bs"]).mode, "smtp-stdio");
  assert.equal(parseArgs(["--health"]).mode, "health");
  assert.equal(parseArgs(["--hash-password"]).mode, "hash-password");
  assert.deepEqual(parseArgs(["-bd", "--listen=127.0.0.1:25", "--listen", "[::1]:2525"]).listen, [
    "127.0.0.1:25",
    "[::1]:2525",
  ]);
  assert.throws(() => parseArgs(["-bd", "--listen=nowhere"]), UsageError);
  assert.throws(() => parseArgs(["--listen=127.0.0.1:25"]), /--listen needs -bd or --health/);
  assert.throws(() => parseArgs(["-bd", "-bs"]), /cannot use -bs with -bd/);
  assert.throws(() => parseArgs(["-bd", "root"]), /too many arguments/);
  assert.throws(() => parseArgs(["-bx"]), /unsupported operation mode bx/);
});

Deno.test("networks: CIDR lists, IPv4-mapped addresses, bare addresses", () => {
  const nets = parseNetworks("10.0.0.0/8, 192.168.1.7 fd00::/8");
  assert.ok(inNetworks("10.200.3.4", nets));
  assert.ok(inNetworks("::ffff:10.1.1.1", nets));
  assert.ok(inNetworks("192.168.1.7", nets));
  assert.ok(!inNetworks("192.168.1.8", nets));
  assert.ok(inNetworks("fd12::1", nets));
  assert.ok(!inNetworks("fe80::1", nets));
  assert.ok(!inNetworks("not an address", nets));
  assert.ok(inNetworks("1.2.3.4", parseNetworks("0.0.0.0/0")));
  assert.throws(() => parseNetworks("10.0.0.0/x"), /invalid network 10\.0\.0\.0\/x/);
  assert.throws(() => parseNetworks("1.2.3.256"), /invalid network/);
  assert.deepEqual(parseHostPort("0.0.0.0:25", 1), { hostname: "0.0.0.0", port: 25 });
  assert.deepEqual(parseHostPort("[::]:587", 1), { hostname: "::", port: 587 });
  assert.throws(() => parseHostPort("host:99999", 1), /invalid address/);
});

Deno.test("the users file takes scrypt hashes and refuses plain passwords with the line", async () => {
  const hash = "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$" +
    "mA7Q3V5mA2oDhwlxe4GPnmN3iwVaLtWKRcrFq1D9yJc";
  const users = parseUsers(`# users\n\nalice:${hash}\n`, "users");
  assert.deepEqual([...users.keys()], ["alice"]);
  assert.equal(await verifyPassword(users.get("alice")!, "nope"), false);
  assert.throws(
    () => parseUsers("alice:$scrypt$ok\nbob:hunter2\n", "users"),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^users: line 1: the password of user alice is not a \$scrypt\$ hash; plain passwords are refused/
        .test(e.message),
  );
  assert.throws(
    () => parseUsers("bob:hunter2\n", "users"),
    /users: line 1: .*plain passwords are refused/,
  );
  assert.throws(
    () => parseUsers(`a:${hash}\na:${hash}\n`, "users"),
    /line 2: user a is listed twice/,
  );
  assert.throws(() => parseUsers("nocolon\n", "users"), /line 1: expected NAME:HASH/);
  assert.doesNotMatch(
    (() => {
      try {
        parseUsers("bob:hunter2\n", "users");
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })(),
    /hunter2/,
  );
});

Deno.test("bare CR and bare LF are found across chunk boundaries; CRLF split over two chunks is not", () => {
  const enc = new TextEncoder();
  const check = (...chunks: string[]): boolean => {
    const c = new BareNewlineCheck();
    for (const chunk of chunks) c.push(enc.encode(chunk));
    return c.end();
  };
  assert.equal(check("a\r", "\nb\r\n"), true);
  assert.equal(check("a\r", "b\r\n"), false);
  assert.equal(check("a\n"), false);
  assert.equal(check("a\r\n", "\n"), false);
  assert.equal(check("a\r"), false);
  assert.equal(check(""), true);
});
