/**
 * When a queued mail is tried again, when it gives up, and which failures are final.
 *
 * The defaults are Postfix's: a deferred mail waits 300 s after its first failure, the wait
 * doubles after each further failure up to 4,000 s (`minimal_backoff_time`,
 * `maximal_backoff_time`), and a mail still undelivered 5 days after it was queued bounces
 * (`maximal_queue_lifetime`). A delay warning (`delay_warning_time`) is off by default.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { SmtpError } from "../smtp/errors.ts";

/** The retry schedule of an account. Durations are in seconds. */
export interface QueuePolicy {
  /** The wait after the first failure (`queue_backoff`'s first value). */
  backoffMin: number;
  /** The longest wait (`queue_backoff`'s second value). */
  backoffMax: number;
  /** After this long in the queue a mail bounces (`queue_lifetime`). */
  lifetime: number;
  /** After this long a delay warning goes to the sender once; null = never (`queue_warn`). */
  warn: number | null;
}

/** Postfix's schedule: 300 s doubling to 4,000 s, 5 days, no warning. */
export const DEFAULT_POLICY: Readonly<QueuePolicy> = Object.freeze({
  backoffMin: 300,
  backoffMax: 4000,
  lifetime: 5 * 24 * 3600,
  warn: null,
});

/**
 * The wait in seconds after the `attempts`-th failed attempt: `backoffMin` after the
 * first, doubling, never above `backoffMax`.
 */
export function retryDelay(policy: QueuePolicy, attempts: number): number {
  if (attempts <= 1) return policy.backoffMin;
  const doubled = policy.backoffMin * 2 ** Math.min(attempts - 1, 40);
  return Math.min(policy.backoffMax, doubled);
}

/** Whether a mail queued at `queued` (ms) has outlived the queue lifetime at `now` (ms). */
export function isExpired(policy: QueuePolicy, queued: number, now: number): boolean {
  return now - queued >= policy.lifetime * 1000;
}

/** Whether the one delay warning is due. */
export function warningDue(
  policy: QueuePolicy,
  queued: number,
  now: number,
  warned: boolean,
): boolean {
  return policy.warn !== null && !warned && now - queued >= policy.warn * 1000;
}

/** A failure as the queue sees it. */
export interface Failure {
  /** Final: the mail (or recipient) bounces now instead of being tried again. */
  permanent: boolean;
  /** One line for listings and logs. */
  text: string;
  /** The RFC 3463 status for a DSN (`5.1.1`, `4.4.1`). */
  status: string;
  /** The server's reply for a DSN's Diagnostic-Code, when there was one. */
  diagnostic?: string;
  /** The server that answered, for a DSN's Remote-MTA. */
  remote?: string;
}

/** Stages where a 5xx answers this mail (not the connection), so the mail bounces. */
const MAIL_STAGES = new Set(["mail", "rcpt", "data", "end-of-data"]);

/**
 * Classifies an error thrown while sending a mail. Only a 5xx reply to the mail itself
 * (MAIL, RCPT, DATA or the end of data) is final; everything else (no connection,
 * timeouts, TLS and authentication trouble, a 4xx, a 5xx greeting) is retried until the
 * lifetime ends, as Postfix does: the server or its configuration may recover.
 */
export function classifyFailure(error: unknown): Failure {
  const text = error instanceof Error ? oneLine(error) : String(error);
  if (error instanceof SmtpError && error.reply !== undefined) {
    const code = error.reply.code;
    const diagnostic = `smtp; ${error.reply.raw.join(" ")}`;
    const permanent = code >= 500 && MAIL_STAGES.has(error.stage);
    return {
      permanent,
      text,
      status: error.reply.enhanced ?? (permanent ? "5.0.0" : "4.0.0"),
      diagnostic,
    };
  }
  return { permanent: false, text, status: "4.4.1" };
}

function oneLine(error: Error): string {
  const details = error instanceof PostieError ? error.details : [];
  return [error.message, ...details].join("; ").replace(/[\r\n]+/g, " ");
}
