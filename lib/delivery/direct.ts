/**
 * A prepared mail delivered without a relay, for accounts with `direct on` (docs/DIRECT.md):
 * local mailboxes and the recipients' mail hosts, each recipient with its own outcome. The
 * direct delivery code loads only here, when such an account sends.
 *
 * @module
 */

import type { Settings } from "../config/account.ts";
import type { RecipientOutcome } from "../direct/outcome.ts";
import { PostieError } from "../errors.ts";
import { stuffMail } from "../message/data.ts";
import type { Reply } from "../smtp/reply.ts";
import { accountDsn } from "./connection.ts";
import type { PreparedMail } from "./prepare.ts";

/** The reply reported for mail that went only into mailboxes on this host. */
export const LOCAL_REPLY: Reply = Object.freeze({
  code: 250,
  lines: ["delivered on this host"],
  raw: ["250 delivered on this host"],
}) as Reply;

/** How a direct delivery went. */
export interface DirectDelivery {
  /** Every recipient's outcome. */
  outcomes: RecipientOutcome[];
  /** The last mail host's final reply, or {@linkcode LOCAL_REPLY} when none was talked to. */
  reply: Reply;
  /** msmtp's `mailsize`. */
  mailsize: number;
}

/**
 * Delivers a prepared mail to local mailboxes and mail hosts. Never throws for a recipient's
 * failure: see {@linkcode DirectDelivery.outcomes} and {@linkcode directFailure}.
 *
 * @example Usage
 * ```ts ignore
 * import { sendWithoutRelay } from "./direct.ts";
 * const { outcomes } = await sendWithoutRelay(account.settings, prepared, Deno.env.toObject());
 * ```
 */
export async function sendWithoutRelay(
  s: Settings,
  mail: PreparedMail,
  env: Readonly<Record<string, string>>,
): Promise<DirectDelivery> {
  const { deliverWithoutRelay } = await import("../direct/route.ts");
  const payload = stuffMail(mail.message);
  const cacheBase = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : undefined);
  const result = await deliverWithoutRelay({
    settings: s,
    from: mail.from,
    recipients: mail.recipients,
    payload: payload.stream,
    dsn: accountDsn(s),
    ...(cacheBase ? { stsCacheDir: `${cacheBase}/postie/mta-sts` } : {}),
  });
  return {
    outcomes: result.outcomes,
    reply: result.transactions.at(-1)?.reply ?? LOCAL_REPLY,
    mailsize: payload.stuffer.mailsize,
  };
}

/**
 * The error for a direct delivery some recipient did not get: one line per such recipient,
 * then those that did; the exit code is 75 when every failure is temporary. Undefined when
 * every recipient got the mail.
 *
 * @example Usage
 * ```ts
 * import { directFailure } from "./direct.ts";
 * const e = await directFailure([
 *   { recipient: "bob", status: "permanent", message: "unknown local user bob", exitCode: 67 },
 *   { recipient: "root", status: "delivered", exitCode: 0 },
 * ]);
 * console.log(e?.message, e?.details, e?.exitCode); // "bob: unknown local user bob" ["delivered to root"] 67
 * ```
 */
export async function directFailure(
  outcomes: readonly RecipientOutcome[],
): Promise<PostieError | undefined> {
  const failed = outcomes.filter((o) => o.status !== "delivered");
  if (failed.length === 0) return undefined;
  const { overallExitCode } = await import("../direct/outcome.ts");
  const lines = failed.map((o) => `${o.recipient}: ${o.message ?? "not delivered"}`);
  const delivered = outcomes.filter((o) => o.status === "delivered");
  if (delivered.length > 0) {
    lines.push(`delivered to ${delivered.map((o) => o.recipient).join(", ")}`);
  }
  return new PostieError(lines[0], overallExitCode(outcomes), { details: lines.slice(1) });
}
