import assert from "node:assert/strict";
import { parseArgs } from "../../../lib/cli/args.ts";
import { checkOverride, overrideSettings } from "../../../lib/config/overrides.ts";
import { UsageError } from "../../../lib/errors.ts";

function rejects(argv: string[], message: string): void {
  assert.throws(() => parseArgs(argv), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("option values are checked while parsing, with the option's name", () => {
  rejects(["--tls=maybe"], "invalid argument maybe for --tls");
  rejects(["--port=0"], "invalid argument 0 for --port");
  rejects(["--port=65536"], "invalid argument 65536 for --port");
  rejects(["--port="], "invalid argument  for --port");
  rejects(["--timeout=x"], "invalid argument x for --timeout");
  rejects(["--timeout=0"], "invalid argument 0 for --timeout");
  rejects(["--connect-timeout=-5"], "invalid argument -5 for --timeout");
  rejects(["-N", "sometimes"], "invalid argument sometimes for --dsn-notify");
  rejects(["-N", ""], "invalid argument  for --dsn-notify");
  rejects(["-R", "HDRS"], "invalid argument HDRS for --dsn-return");
  rejects(["--auth=PLAIN"], "invalid argument PLAIN for --auth");
  rejects(["--protocol=LMTP"], "invalid argument LMTP for --protocol");
  rejects(["--syslog=LOG_FOO"], "invalid argument LOG_FOO for --syslog");
  rejects(["--set-date-header=on"], "invalid argument on for --set-date-header");
  rejects(["--tls-fingerprint=AB"], "invalid argument AB for --tls-fingerprint");
  rejects(["--proxy-port=0"], "invalid argument 0 for --proxy-port");
  rejects(["--tls-min-dh-prime-bits=0"], "invalid argument 0 for --tls-min-dh-prime-bits");
});

Deno.test("overrideSettings() gives the settings, a later option winning", () => {
  const set = overrideSettings(
    parseArgs(["--tls", "--port=0x19", "--tls=off", "-R", "hdrs", "--keepbcc", "--auth="])
      .overrides,
  );
  assert.equal(set.tls, false);
  assert.equal(set.port, 25);
  assert.equal(set.dsn_return, "HDRS");
  assert.equal(set.remove_bcc_headers, false);
  assert.equal(set.auth, "on");
});

Deno.test('--maildomain= unsets, as in msmtp (the file\'s empty maildomain is "")', () => {
  assert.equal(overrideSettings(parseArgs(["--maildomain="]).overrides).maildomain, null);
  assert.equal(overrideSettings(parseArgs(["--maildomain=x"]).overrides).maildomain, "x");
});

Deno.test("checkOverride() reports the argument as typed", () => {
  assert.throws(
    () => checkOverride({ option: "--dsn-return", name: "dsn_return", arg: "x" }, "y"),
    { message: "invalid argument y for --dsn-return" },
  );
});
