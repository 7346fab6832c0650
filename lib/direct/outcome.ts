/**
 * What became of each recipient of a mail delivered without a relay (by MX or on this
 * host): delivered, failed for now (to be tried again, EX_TEMPFAIL) or failed for good.
 *
 * @module
 */

import { ExitCode } from "../exit.ts";
import type { Reply } from "../smtp/reply.ts";

/** How one recipient's delivery ended. */
export type RecipientStatus = "delivered" | "temporary" | "permanent";

/** One recipient's result. */
export interface RecipientOutcome {
  /** The recipient as given (an alias target for forwarded local mail). */
  recipient: string;
  status: RecipientStatus;
  /** Where it went or was tried: `mx.example.org [192.0.2.1] TLS`, `mbox /var/mail/root`. */
  via?: string;
  /** Why it failed, one line. */
  message?: string;
  /** The server's reply, when one decided it. */
  reply?: Reply;
  /** The sysexits code of this recipient's failure. */
  exitCode: ExitCode;
}

/**
 * The exit code of a whole delivery: 0 when every recipient got the mail; otherwise the
 * code of the first permanent failure, or EX_TEMPFAIL when every failure is temporary
 * (a queue takes such a mail and tries again).
 *
 * @example Usage
 * ```ts
 * import { overallExitCode } from "./outcome.ts";
 * console.log(overallExitCode([
 *   { recipient: "a@x", status: "delivered", exitCode: 0 },
 *   { recipient: "b@y", status: "temporary", exitCode: 75 },
 * ])); // 75
 * ```
 */
export function overallExitCode(outcomes: readonly RecipientOutcome[]): ExitCode {
  const permanent = outcomes.find((o) => o.status === "permanent");
  if (permanent) return permanent.exitCode;
  if (outcomes.some((o) => o.status === "temporary")) return ExitCode.TEMPFAIL;
  return ExitCode.OK;
}
