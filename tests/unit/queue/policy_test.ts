import assert from "node:assert/strict";
import {
  classifyFailure,
  DEFAULT_POLICY,
  isExpired,
  retryDelay,
  warningDue,
} from "../../../lib/queue/policy.ts";
import { SmtpReplyError } from "../../../lib/smtp/errors.ts";
import { connectFailed } from "../../../lib/net/errors.ts";

Deno.test("the back-off is Postfix's: 300 s doubling up to 4000 s", () => {
  const waits = [1, 2, 3, 4, 5, 6, 50].map((n) => retryDelay(DEFAULT_POLICY, n));
  assert.deepEqual(waits, [300, 600, 1200, 2400, 4000, 4000, 4000]);
});

Deno.test("a configured back-off is followed", () => {
  const policy = { ...DEFAULT_POLICY, backoffMin: 60, backoffMax: 100 };
  assert.deepEqual([1, 2, 3].map((n) => retryDelay(policy, n)), [60, 100, 100]);
});

Deno.test("a mail expires after 5 days in the queue, not before", () => {
  const queued = 1_000_000;
  assert.equal(isExpired(DEFAULT_POLICY, queued, queued + 5 * 86400_000 - 1), false);
  assert.equal(isExpired(DEFAULT_POLICY, queued, queued + 5 * 86400_000), true);
});

Deno.test("the delay warning is off by default and sent once when configured", () => {
  assert.equal(warningDue(DEFAULT_POLICY, 0, 10 ** 12, false), false);
  const policy = { ...DEFAULT_POLICY, warn: 3600 };
  assert.equal(warningDue(policy, 0, 3599_000, false), false);
  assert.equal(warningDue(policy, 0, 3600_000, false), true);
  assert.equal(warningDue(policy, 0, 3600_000, true), false);
});

function replyError(code: number, stage: "rcpt" | "greeting" | "end-of-data") {
  const raw = [`${code} ${code >= 500 ? "5.1.1" : "4.3.0"} text`];
  return new SmtpReplyError("refused", 69, {
    stage,
    reply: { code, lines: ["text"], raw, enhanced: code >= 500 ? "5.1.1" : "4.3.0" },
  });
}

Deno.test("a 5xx to the mail is permanent, with its enhanced status and the reply", () => {
  const f = classifyFailure(replyError(550, "rcpt"));
  assert.equal(f.permanent, true);
  assert.equal(f.status, "5.1.1");
  assert.equal(f.diagnostic, "smtp; 550 5.1.1 text");
});

Deno.test("a 4xx, a 5xx greeting and a refused connection are temporary", () => {
  assert.equal(classifyFailure(replyError(451, "end-of-data")).permanent, false);
  assert.equal(classifyFailure(replyError(554, "greeting")).permanent, false);
  const down = classifyFailure(connectFailed("127.0.0.1", 1, "Connection refused"));
  assert.equal(down.permanent, false);
  assert.equal(down.text, "cannot connect to 127.0.0.1, port 1: Connection refused");
});
