import assert from "node:assert/strict";
import { syslogArgs } from "../../../lib/log/syslog.ts";

Deno.test("syslogArgs() maps msmtp's facility names and uses err for failures", () => {
  assert.deepEqual(syslogArgs("LOG_MAIL", "rec", false), [
    "-t",
    "postie",
    "-p",
    "mail.info",
    "--",
    "rec",
  ]);
  assert.equal(syslogArgs("LOG_LOCAL7", "rec", true)[3], "local7.err");
  assert.equal(syslogArgs("LOG_USER", "-starts-with-dash", false)[5], "-starts-with-dash");
});
