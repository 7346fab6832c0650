/**
 * Usage errors and accepted sendmail no-op forms, run through Debian's msmtp and postie
 * with the same arguments: the exit code and standard error must match byte for byte.
 * Accepted forms use `-P` and a private config, so nothing is ever sent.
 */

import assert from "node:assert/strict";
import {
  haveMsmtp,
  runMsmtp,
  type RunOptions,
  runPostie,
  withoutDocumentedDifferences,
} from "../support/differential.ts";

/** A command line, and what it needs beyond the shared config file. */
interface Case {
  args: string[];
  options?: RunOptions;
}

const CASES: Case[] = [
  // getopt's own diagnostics
  { args: ["--bogus", "rcpt@example.org"] },
  { args: ["--bogus=x"] },
  { args: ["-r", "a@example.com", "rcpt@example.org"] },
  // -q and -bp are postie's queue (docs/QUEUE.md); other unknown letters still match msmtp
  { args: ["-y"] },
  { args: ["-tz"] },
  { args: ["-f"] },
  { args: ["-tf"] },
  { args: ["--from"] },
  { args: ["--rm"] },
  { args: ["-P", "-b"] },
  { args: ["--t"] },
  { args: ["--a=x"] },
  { args: ["--set-"] },
  // (a bare `--=x` lists every long option, postie's own included, so it differs)
  { args: ["---x"] },
  { args: ["--vers=3"] },
  { args: ["--pretend=1"] },
  { args: ["--read-recipients=x"] },
  { args: ["rcpt@example.org", "--bogus"] },
  // msmtp's own usage errors
  { args: ["-a", "default", "--host=x", "rcpt@example.org"] },
  { args: ["--host=x", "-a", "default"] },
  { args: ["-f", "a@b.c", "--read-envelope-from", "rcpt@example.org"] },
  { args: ["--read-envelope-from", "-f", "<>"] },
  { args: ["-S", "--rmqs=x"] },
  { args: ["--rmqs=x", "-S"] },
  { args: ["-S", "rcpt@example.org"] },
  { args: ["--rmqs=x", "-P", "rcpt@example.org"] },
  { args: ["-bx"] },
  { args: ["-bq"] },
  { args: ["-bi", "-bm"] },
  { args: ["-b", ""] },
  { args: [] },
  { args: ["-d"] },
  { args: ["-bm", "-i"] },
  { args: ["--tls=bad", "--bogus"] },
  // option values checked while parsing
  { args: ["--tls=maybe", "rcpt@example.org"] },
  { args: ["--tls=", "-P"] },
  { args: ["--port=0", "-P"] },
  { args: ["--port=65536", "-P"] },
  { args: ["--port=", "-P"] },
  { args: ["--timeout=0", "-P"] },
  { args: ["--connect-timeout=x", "-P"] },
  { args: ["-N", "sometimes", "-P"] },
  { args: ["-Nfailure,,delay", "-P"] },
  { args: ["-R", "HDRS", "-P"] },
  { args: ["--dsn-return=", "-P"] },
  { args: ["--auth=PLAIN", "-P"] },
  { args: ["--syslog=", "-P"] },
  { args: ["--syslog=LOG_FOO", "-P"] },
  { args: ["--keepbcc=maybe", "-P"] },
  { args: ["--add-missing-from-header=auto", "-P"] },
  { args: ["--set-date-header=on", "-P"] },
  { args: ["--undisclosed-recipients=", "-P"] },
  { args: ["--protocol=LMTP", "-P"] },
  { args: ["--tls-fingerprint=AB", "-P"] },
  { args: ["--proxy-port=0", "-P"] },
  { args: ["--tls-min-dh-prime-bits=0", "-P"] },
  // accepted forms, as real callers write them
  { args: ["-P", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"] },
  { args: ["-P", "-oem", "-oi", "-f", "a@b.c", "--", "rcpt@example.org"] },
  { args: ["-P", "-bm", "-i", "-oi", "-odi", "-om", "-FJoe", "rcpt@example.org"] },
  {
    args: [
      "-P",
      "-oi",
      "-oem",
      "-ODeliveryMode=b",
      "-h",
      "10",
      "-L",
      "tag",
      "-G",
      "-n",
      "-m",
      "-A",
      "c",
      "-B",
      "8BITMIME",
      "rcpt@example.org",
    ],
  },
  { args: ["-Pti", "rcpt@example.org"], options: { stdin: "To: x@example.org\n\nbody\n" } },
  { args: ["rcpt@example.org", "-P", "--tls", "--tls=off", "--auth=plain", "--user="] },
  { args: ["--pre", "--dsn-return=hdrs", "-R", "headers", "-N", "never", "--auth="] },
  { args: ["-P", "--tls-force-sslv3=anything", "--keepbcc", "--add-missing-date-header=off"] },
  { args: ["-P", "--", "-dash@example.org"] },
  { args: ["-P", "rcpt@example.org", "--bogus"], options: { env: { POSIXLY_CORRECT: "1" } } },
  { args: ["-P", "-S"] },
  { args: ["-P", "--rmqs=@example.org"] },
  { args: ["--version", "-S", "rcpt@example.org"] },
  { args: ["--help", "--version"] },
  { args: ["-d0.1"] },
];

/** glibc prefixes its messages with argv[0] as invoked; the harness runs msmtp by path. */
function normalise(stderr: string): string {
  return stderr.replace(/^\/usr\/bin\/msmtp: /gm, "postie: ");
}

Deno.test({
  name: "usage errors and accepted no-op forms match msmtp's exit code and stderr",
  ignore: !haveMsmtp(),
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "postie-usage-" });
    try {
      const config = `${dir}/msmtprc`;
      await Deno.writeTextFile(config, "account default\nhost localhost\nfrom a@b.c\n", {
        mode: 0o600,
      });
      for (const { args, options = {} } of CASES) {
        const argv = ["-C", config, ...args];
        await t.step(`postie ${args.join(" ") || "(no arguments)"}`, async () => {
          const [expected, actual] = await Promise.all([
            runMsmtp(argv, options),
            runPostie(argv, options).then(withoutDocumentedDifferences),
          ]);
          assert.deepEqual(
            { code: actual.code, stderr: actual.stderr },
            { code: expected.code, stderr: normalise(expected.stderr) },
          );
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
