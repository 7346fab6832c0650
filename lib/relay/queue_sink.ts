/**
 * The relay's {@linkcode MailSink} over postie's queue (lib/queue): an accepted mail is
 * prepared as `postie -f SENDER -- RECIPIENTS` would prepare it (the account the sender
 * selects, or the fixed one of the daemon's selection; that account's header rules) and
 * written to the queue with its fsync order, so the listener's 250 means "in the queue on
 * disk". The queue runner then sends it with back-off, per-recipient results, failover
 * and bounces, and `mailq` lists it.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import { type AccountSelection, type Env, resolveAccount } from "../config/resolve.ts";
import { prepareMail } from "../delivery/prepare.ts";
import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { buildEnvelope } from "../message/envelope.ts";
import { readHeaderBlock } from "../message/read.ts";
import type { QueueDsn, QueueRecipientDsn, QueueSelection } from "../queue/format.ts";
import { QueueError, type Spool } from "../queue/spool.ts";
import { checkAddress } from "../smtp/command.ts";
import { type MailSink, type RelayEnvelope, SinkError } from "./sink.ts";

/** Options of {@linkcode QueueSink}. */
export interface QueueSinkOptions {
  /** The queue. */
  spool: Spool;
  /** The daemon's account choice (`-C`, `-a`, overrides); the sender is added per mail. */
  selection: AccountSelection;
  /** Files and host name for account resolution. */
  configEnv: Env;
}

function message(error: unknown): string {
  if (error instanceof PostieError) return [error.message, ...error.details].join("; ");
  return error instanceof Error ? error.message : String(error);
}

/**
 * The DSN parameters to queue. `NOTIFY` and `RET`: the account's own (`dsn_notify`,
 * `dsn_return`) when it sets either, else the client's. `ENVID` and `ORCPT`: the client's.
 * The client's alone are `optional` (sent only where the upstream offers DSN). A `NOTIFY`
 * every recipient gave alike is the mail's; different ones are kept per recipient, with
 * `ORCPT`, for the recipients the mail goes to as the client named them (an alias a
 * recipient expanded to has none).
 */
function dsnOf(
  account: Account,
  envelope: RelayEnvelope,
  recipients: readonly string[],
): QueueDsn | undefined {
  const s = account.settings;
  const own = s.dsn_notify !== null || s.dsn_return !== null;
  const given = new Map(envelope.recipients.map((r) => [r.address, r]));
  const kept = recipients.flatMap((address) => {
    const r = given.get(address);
    return r === undefined ? [] : [r];
  });
  const notifies = kept.map((r) => (r.notify ?? []).join(","));
  const same = !own && kept.length === recipients.length && notifies.length > 0 &&
    notifies.every((n) => n === notifies[0]);
  const perRecipient: Record<string, QueueRecipientDsn> = {};
  for (const [i, r] of kept.entries()) {
    const one: QueueRecipientDsn = {};
    if (!own && !same && notifies[i] !== "") one.notify = notifies[i];
    if (r.orcpt !== null) one.orcpt = r.orcpt;
    if (one.notify !== undefined || one.orcpt !== undefined) perRecipient[r.address] = one;
  }
  const dsn: QueueDsn = own
    ? { notify: s.dsn_notify === null ? null : s.dsn_notify.toUpperCase(), ret: s.dsn_return }
    : { notify: same && notifies[0] !== "" ? notifies[0] : null, ret: envelope.dsn.ret };
  if (envelope.dsn.envid !== null) dsn.envid = envelope.dsn.envid;
  if (Object.keys(perRecipient).length > 0) dsn.recipients = perRecipient;
  if (own) return dsn;
  const any = dsn.notify !== null || dsn.ret !== null || dsn.envid !== undefined ||
    dsn.recipients !== undefined;
  return any ? { ...dsn, optional: true } : undefined;
}

/**
 * Queues relay mail in a {@linkcode Spool}.
 *
 * @example Usage
 * ```ts ignore
 * const sink = new QueueSink({ spool: new Spool(dir), selection: {}, configEnv: realEnv() });
 * const id = await sink.accept(envelope, message);
 * ```
 */
export class QueueSink implements MailSink {
  #options: QueueSinkOptions;

  /** A sink queueing into `options.spool`. */
  constructor(options: QueueSinkOptions) {
    this.#options = options;
  }

  /** The queue this sink writes to. */
  get spool(): Spool {
    return this.#options.spool;
  }

  /** How the queue runner finds the account again: the files, the account's name. */
  #queueSelection(account: Account): QueueSelection {
    const chosen = this.#options.selection;
    const out: QueueSelection = {};
    if (chosen.configFile !== undefined) out.configFile = absolute(chosen.configFile);
    if (chosen.host !== undefined) out.host = chosen.host;
    else if (account.file !== undefined) out.account = account.name;
    const overrides = chosen.overrides === undefined
      ? []
      : Array.isArray(chosen.overrides)
      ? chosen.overrides
      : Object.entries(chosen.overrides).map(([name, arg]) => ({ option: name, name, arg }));
    if (overrides.length > 0) {
      out.overrides = overrides.map((o) => ({ option: o.option, name: o.name, arg: o.arg }));
    }
    if (chosen.envFile !== undefined) out.envFile = absolute(chosen.envFile);
    if (chosen.configFormat !== undefined) out.configFormat = chosen.configFormat;
    return out;
  }

  /**
   * Prepares the mail for its account and queues it; resolves with the queue id once it
   * is durable. Local trouble (no account, the queue not writable) is a
   * {@linkcode SinkError} the client is told to retry (451, or 452 for a full disk); an
   * address the account can never send is `rejected` (554).
   */
  async accept(envelope: RelayEnvelope, stream: ReadableStream<Uint8Array>): Promise<string> {
    const { configEnv, spool } = this.#options;
    let account: Account;
    try {
      ({ account } = await resolveAccount({
        ...this.#options.selection,
        from: envelope.from === "" ? "<>" : envelope.from,
        sending: true,
      }, configEnv));
    } catch (error) {
      throw new SinkError("unavailable", `no account for <${envelope.from}>: ${message(error)}`, {
        cause: error,
      });
    }
    const block = await readHeaderBlock(stream);
    const mail = await prepareMail(account.settings, {
      block,
      envelope: buildEnvelope({
        headerBlock: block.header,
        hasSeparator: block.hasSeparator,
        cliRecipients: envelope.recipients.map((r) => r.address),
        readRecipients: false,
      }),
    }, { hostname: configEnv.hostname() });
    try {
      checkAddress(mail.from, "mail");
      for (const recipient of mail.recipients) checkAddress(recipient, "rcpt");
    } catch (error) {
      await mail.message.cancel().catch(() => {});
      const code = error instanceof PostieError ? error.exitCode : ExitCode.DATAERR;
      throw new SinkError(code === ExitCode.DATAERR ? "rejected" : "unavailable", message(error));
    }
    const dsn = dsnOf(account, envelope, mail.recipients);
    try {
      return await spool.enqueue({
        from: mail.from,
        recipients: mail.recipients,
        selection: this.#queueSelection(account),
        account: account.name,
        ...(dsn ? { dsn } : {}),
      }, mail.message);
    } catch (error) {
      const full = error instanceof QueueError && error.full;
      throw new SinkError(full ? "full" : "unavailable", message(error), { cause: error });
    }
  }

  /** Whether a mail could be queued now. */
  writable(): Promise<boolean> {
    return this.#options.spool.writable();
  }
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}
