import assert from "node:assert/strict";
import { buildAccounts, toAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";
import { checkAccount } from "../../../lib/config/resolve.ts";
import { parseTomlConfig } from "../../../lib/config/toml.ts";
import { msmtprcToToml } from "../../../lib/config/to_toml.ts";
import { applyCommand } from "../../../lib/config/values.ts";
import type { PartialSettings } from "../../../lib/config/account.ts";
import { ConfigError } from "../../../lib/errors.ts";

const NO_ENV = { env: (): undefined => undefined, home: "/h" };
const noEval = () => Promise.reject(new Error("no eval"));

const RC = `account cron
direct on
dns_server 127.0.0.1:5353
mta_sts off
dane off
local_domains Host.LAN., example.internal
local_aliases ~/aliases
mail_spool /tmp/spool
maildir ~/Maildir
from cron@host.lan
`;

Deno.test("the direct and local delivery commands are read from msmtprc", async () => {
  const source = await parseMsmtprc(RC, "rc", { evalCommand: noEval });
  const [account] = buildAccounts(source, { home: "/h" }).map(toAccount);
  const s = account.settings;
  assert.deepEqual(
    [
      s.direct,
      s.dns_server,
      s.mta_sts,
      s.dane,
      s.local_domains,
      s.local_aliases,
      s.mail_spool,
      s.maildir,
    ],
    [
      true,
      "127.0.0.1:5353",
      false,
      false,
      "host.lan,example.internal",
      "/h/aliases",
      "/tmp/spool",
      "~/Maildir",
    ],
  );
  // no relay host is needed when delivering directly
  assert.equal(checkAccount(s, true), undefined);
  assert.equal(checkAccount({ ...s, direct: false }, true), "host not set");
});

Deno.test("the same settings in TOML, and msmtprc converted to TOML, build the same account", async () => {
  const toml = `[accounts.cron]
direct = true
dns_server = "127.0.0.1:5353"
mta_sts = false
dane = false
local_domains = "Host.LAN., example.internal"
local_aliases = "~/aliases"
mail_spool = "/tmp/spool"
maildir = "~/Maildir"
from = "cron@host.lan"
`;
  const fromToml = buildAccounts(await parseTomlConfig(toml, "c.toml", NO_ENV), { home: "/h" });
  const source = await parseMsmtprc(RC, "rc", { evalCommand: noEval });
  const fromRc = buildAccounts(source, { home: "/h" });
  assert.deepEqual(fromToml.map((a) => a.own), fromRc.map((a) => a.own));
  const converted = msmtprcToToml(source);
  assert.match(converted, /^direct = true$/m);
  assert.match(converted, /^local_aliases = "~\/aliases"$/m);
  const back = buildAccounts(await parseTomlConfig(converted, "x.toml", NO_ENV), { home: "/h" });
  assert.deepEqual(back.map((a) => a.own), fromRc.map((a) => a.own));
});

Deno.test("bad arguments of the direct commands are refused with file and line", async () => {
  const cases: [string, string][] = [
    [
      "dns_server 999.1.1.1",
      "rc: line 2: invalid argument 999.1.1.1 for command dns_server: expected an IP address, IP:PORT or [IPv6]:PORT",
    ],
    [
      "dns_server ns.example.org",
      "rc: line 2: invalid argument ns.example.org for command dns_server: expected an IP address, IP:PORT or [IPv6]:PORT",
    ],
    [
      "dns_server 127.0.0.1:0",
      "rc: line 2: invalid argument 127.0.0.1:0 for command dns_server: expected an IP address, IP:PORT or [IPv6]:PORT",
    ],
    ["direct maybe", "rc: line 2: invalid argument maybe for command direct"],
    ["local_domains a/b", "rc: line 2: invalid argument a/b for command local_domains"],
  ];
  for (const [line, message] of cases) {
    const source = await parseMsmtprc(`account a\n${line}\n`, "rc", { evalCommand: noEval });
    assert.throws(() => buildAccounts(source, {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError, line);
      assert.equal(e.message, message);
      assert.equal(e.exitCode, 78);
      return true;
    });
  }
  const ok: PartialSettings = {};
  applyCommand(ok, "dns_server", "[::1]:5353");
  applyCommand(ok, "local_domains", "");
  assert.deepEqual(ok, { dns_server: "[::1]:5353", local_domains: null });
});

Deno.test("--pretend shows the direct settings only when one is set", async () => {
  const { formatSettings } = await import("../../../lib/cli/pretend.ts");
  const { parseArgs } = await import("../../../lib/cli/args.ts");
  const { DEFAULT_SETTINGS } = await import("../../../lib/config/account.ts");
  const inv = parseArgs(["-P", "root"]);
  const plain = formatSettings({
    name: "a",
    file: "rc",
    set: {},
    settings: { ...DEFAULT_SETTINGS },
  }, inv);
  assert.ok(
    !plain.some((l) => l.startsWith("direct")),
    "an msmtp account prints exactly msmtp's lines",
  );
  const direct = formatSettings({
    name: "a",
    file: "rc",
    set: {},
    settings: {
      ...DEFAULT_SETTINGS,
      direct: true,
      dns_server: "127.0.0.1:5353",
      maildir: "~/Maildir",
    },
  }, inv);
  const at = direct.indexOf("direct = on");
  assert.deepEqual(direct.slice(at, at + 8), [
    "direct = on",
    "dns_server = 127.0.0.1:5353",
    "mta_sts = on",
    "dane = on",
    "local_domains = (not set)",
    "local_aliases = (not set)",
    "mail_spool = (not set)",
    "maildir = ~/Maildir",
  ]);
});
