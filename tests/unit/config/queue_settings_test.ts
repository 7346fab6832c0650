import assert from "node:assert/strict";
import { applyCommand, parseDuration, SettingValueError } from "../../../lib/config/values.ts";
import type { PartialSettings } from "../../../lib/config/account.ts";
import { buildAccounts, toAccount } from "../../../lib/config/build.ts";
import { parseMsmtprc } from "../../../lib/config/msmtprc.ts";
import { parseTomlConfig } from "../../../lib/config/toml.ts";
import { msmtprcToToml } from "../../../lib/config/to_toml.ts";
import { formatSettings } from "../../../lib/cli/pretend.ts";
import { parseArgs } from "../../../lib/cli/args.ts";

function apply(name: string, arg: string): PartialSettings {
  const set: PartialSettings = {};
  applyCommand(set, name, arg, { home: "/home/joe" });
  return set;
}

Deno.test("queue commands take their values in msmtprc words", () => {
  assert.deepEqual(apply("queue", "fallback"), { queue: "fallback" });
  assert.deepEqual(apply("queue_dir", "~/q"), { queue_dir: "/home/joe/q" });
  assert.deepEqual(apply("queue_lifetime", "2d"), { queue_lifetime: 172800 });
  assert.deepEqual(apply("queue_backoff", "1m,1h"), { queue_backoff: [60, 3600] });
  assert.deepEqual(apply("queue_backoff", "60"), { queue_backoff: [60, 4000] });
  assert.deepEqual(apply("queue_warn", "4h"), { queue_warn: 14400 });
  assert.deepEqual(apply("queue_warn", "off"), { queue_warn: null });
  assert.deepEqual(apply("failover", "backup, third"), { failover: ["backup", "third"] });
});

Deno.test("bad queue values are refused with the command's name", () => {
  for (
    const [name, arg] of [
      ["queue", "sometimes"],
      ["queue_lifetime", "forever"],
      ["queue_lifetime", "0"],
      ["queue_backoff", "1h,1m"],
      ["queue_backoff", "1,2,3"],
      ["queue_warn", "-5"],
      ["failover", "a b"],
    ]
  ) {
    assert.throws(
      () => apply(name, arg),
      (e: unknown) =>
        e instanceof SettingValueError &&
        e.message === `invalid argument ${arg} for command ${name}`,
    );
  }
  assert.throws(() => apply("queue_lifetime", ""), /command queue_lifetime needs an argument/);
});

Deno.test("durations are seconds or a number with s, m, h or d", () => {
  assert.deepEqual(
    ["300", "300s", "5m", "4h", "5d", "", "1.5h", "5w"].map(parseDuration),
    [300, 300, 300, 14400, 432000, undefined, undefined, undefined],
  );
});

const RC = `defaults
queue fallback
queue_dir /var/q
queue_backoff 1m,10m

account work
host mx.example
failover backup
queue_lifetime 1d
queue_warn 4h

account backup
host mx2.example
queue always
`;

Deno.test("msmtprc and TOML give the same queue settings, and conversion keeps them", async () => {
  const rc = await parseMsmtprc(RC, "rc");
  const fromRc = buildAccounts(rc, { home: "/h" }).map(toAccount);
  const toml = `
[defaults]
queue = "fallback"
queue_dir = "/var/q"
queue_backoff = ["1m", "10m"]

[accounts.work]
host = "mx.example"
failover = ["backup"]
queue_lifetime = 86400
queue_warn = "4h"

[accounts.backup]
host = "mx2.example"
queue = "always"
`;
  const fromToml = buildAccounts(await parseTomlConfig(toml, "c.toml", { env: () => undefined }), {
    home: "/h",
  }).map(toAccount);
  assert.deepEqual(fromToml.map((a) => a.settings), fromRc.map((a) => a.settings));
  const work = fromRc[0].settings;
  assert.equal(work.queue, "fallback");
  assert.deepEqual(work.failover, ["backup"]);
  assert.deepEqual(work.queue_backoff, [60, 600]);
  assert.equal(work.queue_lifetime, 86400);
  const converted = msmtprcToToml(rc);
  const back = buildAccounts(
    await parseTomlConfig(converted, "x.toml", { env: () => undefined }),
    { home: "/h" },
  ).map(toAccount);
  assert.deepEqual(back.map((a) => a.settings), fromRc.map((a) => a.settings), converted);
});

Deno.test("--pretend shows queue settings only for accounts that set one", async () => {
  const rc = await parseMsmtprc(RC + "\naccount plain\nhost mx3\n", "rc");
  const [work, , plain] = buildAccounts(rc, { home: "/h" }).map(toAccount);
  const lines = formatSettings(work, parseArgs(["-P", "x"]));
  assert.ok(lines.includes("queue = fallback"));
  assert.ok(lines.includes("queue_backoff = 60s,600s"));
  assert.ok(lines.includes("failover = backup"));
  assert.ok(lines.includes("queue_warn = 14400s"));
  const plainLines = formatSettings(plain, parseArgs(["-P", "x"]));
  assert.ok(!plainLines.some((l) => l.startsWith("queue")));
});
