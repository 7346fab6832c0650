/**
 * Sends a spooled mail upstream as `postie -f SENDER -- RECIPIENTS` would: the account is
 * the one the sender selects (or the one the daemon was told to use), the header block is
 * prepared by the account's rules, and the mail goes over one connection. DSN parameters
 * the client gave are passed on when the upstream offers DSN and dropped otherwise.
 *
 * @module
 */

import { type AccountSelection, type Env, resolveAccount } from "../config/resolve.ts";
import { endOfDataTimeout, SmtpConnection } from "../delivery/connection.ts";
import { prepareMail } from "../delivery/prepare.ts";
import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { buildEnvelope } from "../message/envelope.ts";
import { readHeaderBlock } from "../message/read.ts";
import { checkAddress } from "../smtp/command.ts";
import type { DeliveryResult } from "./runner.ts";
import type { SpoolEntry } from "./spool.ts";

/** What upstream delivery needs from the outside world. */
export interface UpstreamOptions {
  /** The daemon's account choice (`-C`, `-a`, overrides); `from` is filled in per mail. */
  selection: AccountSelection;
  /** Files, host name, password commands. */
  configEnv: Env;
  /** The environment password lookup sees. */
  env: Readonly<Record<string, string>>;
}

/** The DSN parameters to pass on: `NOTIFY` only when every recipient asked the same. */
function dsnOf(entry: SpoolEntry): { notify: string | null; ret: "HDRS" | "FULL" | null } {
  const notify = entry.envelope.recipients.map((r) => (r.notify ?? []).join(","));
  const same = notify.every((n) => n === notify[0]) && notify[0] !== "";
  return { notify: same ? notify[0] : null, ret: entry.envelope.dsn.ret };
}

/**
 * Whether a failure is final: the server refused with 5xx, or an address can never be
 * sent. Everything else (no connection, 4xx, a configuration being fixed) is retried.
 *
 * @example Usage
 * ```ts
 * import { isPermanent } from "./upstream.ts";
 * console.log(isPermanent(new Error("connection refused"))); // false
 * ```
 */
export function isPermanent(error: unknown): boolean {
  const reply = (error as { reply?: { code?: number } } | null)?.reply;
  if (typeof reply?.code === "number") return reply.code >= 500;
  return error instanceof PostieError && error.exitCode === ExitCode.DATAERR;
}

function describe(error: unknown): string {
  if (error instanceof PostieError) return [error.message, ...error.details].join("; ");
  return error instanceof Error ? error.message : String(error);
}

/**
 * The delivery function for the queue runner.
 *
 * @example Usage
 * ```ts ignore
 * const deliver = upstreamDelivery({ selection: {}, configEnv: realEnv(), env: {} });
 * const result = await deliver(entry, await spool.open(entry.id));
 * ```
 */
export function upstreamDelivery(
  options: UpstreamOptions,
): (entry: SpoolEntry, message: ReadableStream<Uint8Array>) => Promise<DeliveryResult> {
  return async (entry, message) => {
    let connection: SmtpConnection | undefined;
    try {
      const env = entry.envelope;
      const { account } = await resolveAccount({
        ...options.selection,
        from: env.from === "" ? "<>" : env.from,
        sending: true,
      }, options.configEnv);
      const s = account.settings;
      const block = await readHeaderBlock(message);
      const envelope = buildEnvelope({
        headerBlock: block.header,
        hasSeparator: block.hasSeparator,
        cliRecipients: env.recipients.map((r) => r.address),
        readRecipients: false,
      });
      const mail = await prepareMail(s, { block, envelope }, {
        hostname: options.configEnv.hostname(),
      });
      checkAddress(mail.from, "mail");
      for (const recipient of mail.recipients) checkAddress(recipient, "rcpt");
      connection = await SmtpConnection.open(s, {
        env: options.env,
        prompt: false,
        endOfDataTimeout: endOfDataTimeout(account),
      });
      // the account's own DSN settings win; otherwise the client's pass through
      const own = { notify: s.dsn_notify, ret: s.dsn_return };
      let dsn = own.notify !== null || own.ret !== null ? own : dsnOf(entry);
      try {
        connection.checkDsn(dsn);
      } catch {
        if (dsn !== own) dsn = { notify: null, ret: null };
        else throw new PostieError("the server does not support DSN", ExitCode.UNAVAILABLE);
      }
      await connection.send({ from: mail.from, recipients: mail.recipients, dsn }, mail.message);
      await connection.quit();
      return { kind: "sent" };
    } catch (error) {
      await message.cancel().catch(() => {});
      const reason = describe(error);
      return isPermanent(error) ? { kind: "permanent", reason } : { kind: "temporary", reason };
    } finally {
      connection?.close();
    }
  };
}
