/**
 * The queue runner: sends every due mail, one connection per account, mails one after
 * another over it (each envelope pipelined behind the last mail's data where the server
 * allows, RSET after a mail that failed), and decides for each recipient whether it is
 * done, bounces, or waits for the next attempt.
 *
 * A mail leaves the queue only after the server's final 250 (or when every recipient has
 * bounced). If the process dies between that 250 and the removal, the mail is sent again
 * on the next run: a duplicate, never a loss (docs/QUEUE.md).
 *
 * The runner talks to servers only through a {@linkcode Deliverer}, so the policy is
 * tested with a fake and the real SMTP code is plugged in by the caller.
 *
 * @module
 */

import type { QueueDsn, QueueEnvelope, QueueState } from "./format.ts";
import { type BounceRecipient, buildBounce } from "./bounce.ts";
import {
  classifyFailure,
  type Failure,
  isExpired,
  type QueuePolicy,
  retryDelay,
  warningDue,
} from "./policy.ts";
import { type ClaimedEntry, problemText, type QueueListing, type Spool } from "./spool.ts";
import { isQueueId, QueueFormatError } from "./format.ts";

/** A refused recipient of an otherwise accepted mail. */
export interface RejectedRecipient {
  address: string;
  /** The reply code (4xx: tried again later; 5xx: bounces). */
  code: number;
  /** The reply, one line (`550 5.1.1 no such user`). */
  text: string;
  /** The enhanced status code, when the server gave one. */
  enhanced?: string;
}

/** What the server said to one mail. */
export interface SendOutcome {
  /** Recipients the server accepted (the mail is delivered to them after the final 250). */
  accepted: string[];
  /** Recipients refused at RCPT while the others were accepted. */
  rejected: RejectedRecipient[];
  /**
   * More entries for the mail's `done` list, never envelope recipients: parts of the mail
   * finished although their recipient is not (a direct delivery's alias targets). They come
   * back in the next attempt's `done` option.
   */
  finished?: string[];
}

/** The envelope of a mail as it goes to the server: the recipients still to do. */
export interface OutgoingEnvelope {
  from: string;
  recipients: string[];
  dsn?: QueueDsn;
}

/** Options of {@linkcode DeliveryConnection.send}. */
export interface DeliverySendOptions {
  /** Deliver to the recipients the server takes and report the refused ones (default). */
  partial?: boolean;
  /** What earlier attempts finished (the queue's `done` list). */
  done?: readonly string[];
  /**
   * The last mail on this connection did not end with the server's final 250 (a refusal
   * at MAIL, RCPT, DATA or the end of data): start this one with RSET. After a mail the
   * server took, the transaction is over already (RFC 5321 §4.1.1.4).
   */
  reset?: boolean;
  /**
   * The mail that will follow on this connection: a connection may send its envelope behind
   * this mail's data, with RSET in front (RFC 2920), and the next send must then be that
   * mail's, or close. A connection may also ignore it.
   */
  next?: OutgoingEnvelope;
}

/** An open connection to one account's server. */
export interface DeliveryConnection {
  /**
   * Sends one mail. Resolves after the server's final 250 for the accepted recipients;
   * refused recipients are collected. Throws when the whole mail failed (the error is
   * classified with {@linkcode classifyFailure}).
   */
  send(
    envelope: OutgoingEnvelope,
    message: ReadableStream<Uint8Array> | Uint8Array,
    options?: DeliverySendOptions,
  ): Promise<SendOutcome>;
  /**
   * Whether `error`, thrown by {@linkcode DeliveryConnection.send}, says that the connection
   * was unusable when the mail began (RSET failed, or the server hung up or answered 421
   * before the mail's MAIL was accepted): none of the mail reached the server, so it may go
   * again over a new connection. Without this method no mail is sent twice.
   */
  lostAtStart?(error: unknown): boolean;
  /** QUIT (when possible) and close. Never throws. */
  close(): Promise<void>;
}

/** How the mails of one account are sent. */
export interface AccountPlan {
  /** Mails with equal keys share one connection. */
  key: string;
  /** The retry schedule. */
  policy: QueuePolicy;
  /** Account names to try in order: the account, then its `failover` accounts. */
  routes: string[];
  /** The host name for notifications (Reporting-MTA, From). */
  hostname: string;
}

/** What the runner needs from the outside world. */
export interface Deliverer {
  /** The plan for a mail's account. Throws when the account cannot be loaded. */
  plan(envelope: QueueEnvelope): Promise<AccountPlan>;
  /** Opens a connection for a route of a plan (greeting, EHLO, TLS, AUTH done). */
  open(route: string, envelope: QueueEnvelope): Promise<DeliveryConnection>;
}

/** Which mails a run takes (sendmail's `-qI`, `-qR`, `-qS`: substrings). */
export interface Selection {
  /** Only ids containing this. */
  id?: string;
  /** Only mails with a recipient containing this (case-insensitive). */
  recipient?: string;
  /** Only mails whose sender contains this (case-insensitive). */
  sender?: string;
}

/** Options of {@linkcode flushQueue}. */
export interface FlushOptions {
  /** Which mails. */
  select?: Selection;
  /** Send mails whose next attempt is not yet due (`-q` does; the daemon does not). */
  force?: boolean;
  /** The clock (ms since the epoch); `Date.now` by default. */
  now?: () => number;
  /** Receives one line per event (queued, delivered, deferred, bounced, moved aside). */
  log?: (line: string) => void;
  /** When aborted, the run stops after the mail in progress. */
  signal?: AbortSignal;
  /**
   * The sender is waiting (sendmail mode with `queue fallback`): a mail refused outright
   * is reported in {@linkcode FlushReport.failed} and removed, not bounced.
   */
  immediate?: boolean;
}

/** What a run did. */
export interface FlushReport {
  /** Mails fully delivered and removed. */
  delivered: string[];
  /** Mails still in the queue after a temporary failure. */
  deferred: string[];
  /** Mails that bounced (wholly or for some recipients). */
  bounced: string[];
  /** Notifications queued (bounces and delay warnings). */
  notifications: string[];
  /** Entries moved aside as corrupt or skipped as unreadable. */
  problems: string[];
  /** Entries another runner held. */
  busy: string[];
  /** Mails refused outright while the sender waited (`immediate`), with the error. */
  failed: { id: string; error: unknown }[];
  /** The last error of each deferred mail, one line. */
  errors: Map<string, string>;
  /**
   * When the earliest mail this run left waiting is due (ms since the epoch), so a daemon
   * can sleep until then; undefined when none is waiting.
   */
  nextAttempt?: number;
}

/** Notes that a mail left in the queue is due at `next`. */
function noteNext(report: FlushReport, next: number): void {
  if (report.nextAttempt === undefined || next < report.nextAttempt) report.nextAttempt = next;
}

function matches(envelope: QueueEnvelope, id: string, select: Selection): boolean {
  const has = (hay: string, needle: string) => hay.toLowerCase().includes(needle.toLowerCase());
  if (select.id !== undefined && !id.includes(select.id)) return false;
  if (select.sender !== undefined && !has(envelope.from, select.sender)) return false;
  if (
    select.recipient !== undefined &&
    !envelope.recipients.some((r) => has(r, select.recipient!))
  ) {
    return false;
  }
  return true;
}

/**
 * A connection with the route it reached, reopened after it breaks. When no route could be
 * opened, the rest of the run's mails for this account fail with the same error without
 * trying again: a server that hangs until the timeout costs one timeout per run, not one
 * per mail (Postfix marks such a destination dead for the run in the same way).
 *
 * A mail that follows one the server took needs no RSET (the transaction is over), one
 * that follows a failure starts with RSET; a server that pipelines gets the next mail's
 * envelope behind the data of the last, after RSET. A connection the server closed between
 * two mails (found at the next RSET or MAIL) is reopened and the mail sent again over the
 * new one: nothing of it had reached the server.
 */
class Link {
  #conn: DeliveryConnection | undefined;
  /** Mails sent over the open connection (a lost one is reopened only when it carried any). */
  #mails = 0;
  /** The last mail did not end with the server's 250: RSET before the next. */
  #dirty = false;
  #unreachable: { error: unknown } | undefined;
  constructor(readonly deliverer: Deliverer, readonly plan: AccountPlan) {}

  /** The open connection, or a new one (failover in order). */
  async get(envelope: QueueEnvelope): Promise<DeliveryConnection> {
    if (this.#unreachable) throw this.#unreachable.error;
    if (this.#conn === undefined) {
      let last: unknown;
      for (const route of this.plan.routes) {
        try {
          this.#conn = await this.deliverer.open(route, envelope);
          break;
        } catch (error) {
          last = error;
          // a permanent refusal of the connection is not the mail's fault either: next route
        }
      }
      if (this.#conn === undefined) {
        this.#unreachable = { error: last };
        throw last;
      }
    }
    return this.#conn;
  }

  /**
   * Sends one mail over the connection; a connection found unusable at the start of a mail
   * after earlier ones is reopened once and the mail sent again.
   */
  async send(
    envelope: QueueEnvelope,
    outgoing: OutgoingEnvelope,
    message: () => ReadableStream<Uint8Array> | Uint8Array,
    options: { partial: boolean; done: readonly string[]; next?: OutgoingEnvelope },
  ): Promise<SendOutcome> {
    for (let attempt = 0;; attempt++) {
      const conn = await this.get(envelope);
      const reused = this.#mails > 0;
      const reset = this.#dirty;
      this.#dirty = true;
      this.#mails++;
      try {
        const outcome = await conn.send(outgoing, message(), { ...options, reset });
        this.#dirty = false;
        return outcome;
      } catch (error) {
        if (attempt > 0 || !reused || conn.lostAtStart?.(error) !== true) throw error;
        await this.drop();
      }
    }
  }

  /** Forgets a connection that broke. */
  async drop(): Promise<void> {
    const conn = this.#conn;
    this.#conn = undefined;
    this.#mails = 0;
    this.#dirty = false;
    await conn?.close();
  }
}

/**
 * Runs the queue once and reports what happened. Never throws for a mail's failure; a
 * failure of the queue itself (its directory unreadable) is thrown.
 */
export async function flushQueue(
  spool: Spool,
  deliverer: Deliverer,
  options: FlushOptions = {},
): Promise<FlushReport> {
  const report: FlushReport = {
    delivered: [],
    deferred: [],
    bounced: [],
    notifications: [],
    problems: [],
    busy: [],
    failed: [],
    errors: new Map(),
  };
  // one whole id (queue fallback's own mail) names one entry: the rest of the queue is not read
  const one = options.select?.id;
  const exact = one !== undefined && isQueueId(one);
  const ids = exact ? [one] : await spool.ids();
  if (!exact) await spool.sweep(undefined, undefined, ids);
  try {
    await runIds(spool, deliverer, ids, options, report);
    // notifications made by this run go out in it too (one extra pass, bounded)
    if (report.notifications.length > 0 && !options.signal?.aborted) {
      const fresh = [...report.notifications];
      await runIds(spool, deliverer, fresh, { ...options, select: undefined, force: true }, report);
    }
  } finally {
    // the files of the delivered mails, unlinked while the later ones went out
    await spool.settle();
  }
  return report;
}

async function runIds(
  spool: Spool,
  deliverer: Deliverer,
  ids: string[],
  options: FlushOptions,
  report: FlushReport,
): Promise<void> {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  // group by account, keeping queue order within a group
  const groups = new Map<string, { plan: AccountPlan; ids: string[] }>();
  const planErrors = new Map<string, unknown>();
  const listings = new Map<string, QueueListing>();
  for (const id of ids) {
    let envelope: QueueEnvelope;
    let state: QueueState;
    try {
      // a forced run sends every mail whatever its state: it is read once the mail is held
      const listing = await spool.read(id, { state: !options.force });
      ({ envelope, state } = listing);
      listings.set(id, listing);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      await problem(spool, id, error, report, log);
      continue;
    }
    if (options.select && !matches(envelope, id, options.select)) continue;
    if (!options.force && state.next > now()) {
      noteNext(report, state.next);
      continue;
    }
    let plan: AccountPlan;
    try {
      plan = await deliverer.plan(envelope);
    } catch (error) {
      planErrors.set(id, error);
      continue;
    }
    const group = groups.get(plan.key) ?? { plan, ids: [] };
    group.ids.push(id);
    groups.set(plan.key, group);
  }
  // a mail whose account cannot be loaded waits like any other temporary failure
  for (const [id, error] of planErrors) {
    const entry = await claimOrNote(spool, id, report, log);
    if (!entry) continue;
    try {
      await defer(spool, entry, classifyFailure(error), null, now(), report, log);
    } finally {
      entry.release();
    }
  }
  for (const { plan, ids: groupIds } of groups.values()) {
    const link = new Link(deliverer, plan);
    // Mails are held a window at a time (their states read with one listing), and the next
    // mail is held while one goes out, so that its envelope can follow that one's data.
    let waiting = 0;
    const held: ClaimedEntry[] = [];
    const claimNext = async (): Promise<Prepared | undefined> => {
      if (held.length === 0) {
        while (held.length < HOLD && waiting < groupIds.length) {
          const id = groupIds[waiting++];
          const entry = await claimOrNote(spool, id, report, log, listings.get(id));
          listings.delete(id);
          if (entry) held.push(entry);
        }
        spool.readStates(held);
      }
      const entry = held.shift();
      return entry && prepare(entry, plan, now());
    };
    let current: Prepared | undefined;
    try {
      current = await claimNext();
      while (current !== undefined) {
        if (options.signal?.aborted) return;
        const following = await claimNext();
        try {
          await deliverOne(spool, current, following, link, plan, report, log, options);
        } catch (error) {
          following?.entry.release();
          throw error;
        } finally {
          current.entry.release();
        }
        current = following;
      }
    } finally {
      current?.entry.release();
      for (const entry of held) entry.release();
      await link.drop();
    }
  }
}

/** Mails a run holds at most at once (and reads the states of together). */
const HOLD = 32;

/** A held mail and what its attempt will do, decided once. */
interface Prepared {
  entry: ClaimedEntry;
  /** When the attempt began (ms). */
  t: number;
  /** The recipients still to do. */
  pending: string[];
  /** Out of time: it bounces instead of being sent. */
  expired: boolean;
  /** The envelope that goes to the server, when the mail is sent. */
  outgoing?: OutgoingEnvelope;
}

function prepare(entry: ClaimedEntry, plan: AccountPlan, t: number): Prepared {
  const { envelope, state } = entry;
  const pending = envelope.recipients.filter((r) => !state.done.includes(r));
  const expired = pending.length > 0 && isExpired(plan.policy, envelope.queued, t);
  const outgoing = pending.length === 0 || expired ? undefined : {
    from: envelope.from,
    recipients: pending,
    ...(envelope.dsn ? { dsn: envelope.dsn } : {}),
  };
  return { entry, t, pending, expired, ...(outgoing ? { outgoing } : {}) };
}

async function claimOrNote(
  spool: Spool,
  id: string,
  report: FlushReport,
  log: (line: string) => void,
  listing?: QueueListing,
): Promise<ClaimedEntry | null> {
  try {
    const entry = await spool.claim(id, listing);
    if (entry === null) report.busy.push(id);
    return entry;
  } catch (error) {
    await problem(spool, id, error, report, log);
    return null;
  }
}

async function problem(
  spool: Spool,
  id: string,
  error: unknown,
  report: FlushReport,
  log: (line: string) => void,
): Promise<void> {
  report.problems.push(id);
  if (error instanceof QueueFormatError) {
    const moved = await spool.moveAside(id).catch(() => false);
    log(
      `queue entry ${id} is corrupt (${error.message}); ` +
        (moved ? `moved to ${spool.dir}/corrupt/${id}` : "left in place"),
    );
  } else {
    log(`cannot read queue entry ${id}: ${problemText(error)}; skipped`);
  }
}

/**
 * Sends one claimed mail and records the result. The mail that follows on the same
 * connection (`following`) is named to it, so that its envelope can go out behind this
 * mail's data.
 */
async function deliverOne(
  spool: Spool,
  prepared: Prepared,
  following: Prepared | undefined,
  link: Link,
  plan: AccountPlan,
  report: FlushReport,
  log: (line: string) => void,
  options: FlushOptions,
): Promise<void> {
  const { entry, t, pending, outgoing } = prepared;
  const immediate = options.immediate === true;
  const { envelope } = entry;
  const state: QueueState = { ...entry.state, done: [...entry.state.done] };
  if (pending.length === 0) {
    await entry.remove();
    report.delivered.push(entry.id);
    return;
  }
  if (prepared.expired || outgoing === undefined) {
    const days = plan.policy.lifetime / 86400;
    const reason = `the mail could not be delivered within ${formatSpan(plan.policy.lifetime)}` +
      (state.error ? `; last error: ${state.error}` : "");
    const recipients = pending.map((address) => ({
      address,
      status: "4.4.7",
      diagnostic: state.error === undefined ? undefined : `x-postie; ${state.error}`,
    }));
    await notify(spool, entry, plan, "failed", recipients, reason, t, report, log);
    await entry.remove();
    report.bounced.push(entry.id);
    log(`${entry.id}: expired after ${days} days in the queue; bounced to <${envelope.from}>`);
    return;
  }
  let outcome: SendOutcome;
  try {
    // a run being stopped sends no further mail: none is named to follow
    const next = options.signal?.aborted ? undefined : following?.outgoing;
    outcome = await link.send(
      envelope,
      outgoing,
      // a small mail whole (read once, even when it goes again), a large one streamed
      () => entry.bytes() ?? entry.message(),
      // while the sender waits, one refused recipient fails the mail, as in msmtp
      { partial: !immediate, done: state.done, ...(next ? { next } : {}) },
    );
  } catch (error) {
    const failure = classifyFailure(error);
    if (!failure.permanent) await link.drop();
    if (failure.permanent && immediate) {
      await entry.remove();
      report.failed.push({ id: entry.id, error });
      log(`${entry.id}: refused: ${failure.text}`);
      return;
    }
    if (failure.permanent) {
      const recipients = pending.map((address) => ({
        address,
        status: failure.status,
        ...(failure.diagnostic ? { diagnostic: failure.diagnostic } : {}),
      }));
      await notify(spool, entry, plan, "failed", recipients, failure.text, t, report, log);
      await entry.remove();
      report.bounced.push(entry.id);
      log(`${entry.id}: permanent failure: ${failure.text}; bounced to <${envelope.from}>`);
      return;
    }
    await defer(spool, entry, failure, plan, t, report, log);
    return;
  }
  state.done.push(...outcome.accepted, ...(outcome.finished ?? []));
  const bounced = outcome.rejected.filter((r) => r.code >= 500);
  const soft = outcome.rejected.filter((r) => r.code < 500);
  state.done.push(...bounced.map((r) => r.address));
  if (outcome.accepted.length > 0) {
    log(`${entry.id}: delivered to ${outcome.accepted.map((a) => `<${a}>`).join(", ")}`);
  }
  if (bounced.length > 0) {
    const recipients = bounced.map((r) => ({
      address: r.address,
      status: r.enhanced ?? "5.0.0",
      diagnostic: `smtp; ${r.text}`,
    }));
    const reason = "the server refused some recipients";
    await notify(spool, entry, plan, "failed", recipients, reason, t, report, log);
    report.bounced.push(entry.id);
    log(
      `${entry.id}: refused ${bounced.map((r) => `<${r.address}> (${r.text})`).join(", ")}; ` +
        `bounced to <${envelope.from}>`,
    );
  }
  if (soft.length === 0) {
    await entry.remove();
    if (bounced.length === 0 || outcome.accepted.length > 0) report.delivered.push(entry.id);
    return;
  }
  const text = soft.map((r) => `<${r.address}>: ${r.text}`).join("; ");
  await defer(
    spool,
    entry,
    { permanent: false, text, status: "4.0.0" },
    plan,
    t,
    report,
    log,
    state,
  );
}

/** Records a temporary failure: one more attempt, the next one after the back-off. */
async function defer(
  spool: Spool,
  entry: ClaimedEntry,
  failure: Failure,
  plan: AccountPlan | null,
  now: number,
  report: FlushReport,
  log: (line: string) => void,
  base: QueueState = entry.state,
): Promise<void> {
  const attempts = base.attempts + 1;
  const wait = plan ? retryDelay(plan.policy, attempts) : 300;
  const state: QueueState = {
    ...base,
    attempts,
    next: now + wait * 1000,
    error: failure.text,
  };
  if (plan && warningDue(plan.policy, entry.envelope.queued, now, base.warned === true)) {
    const pending = entry.envelope.recipients.filter((r) => !state.done.includes(r));
    const recipients = pending.map((address) => ({ address, status: failure.status }));
    const until = new Date(entry.envelope.queued + plan.policy.lifetime * 1000);
    const made = await notify(
      spool,
      entry,
      plan,
      "delayed",
      recipients,
      failure.text,
      now,
      report,
      log,
      until,
    );
    if (made) state.warned = true;
  }
  await entry.saveState(state);
  noteNext(report, state.next);
  report.deferred.push(entry.id);
  report.errors.set(entry.id, failure.text);
  log(`${entry.id}: deferred (attempt ${attempts}, next in ${formatSpan(wait)}): ${failure.text}`);
}

/**
 * Queues a notification to the sender, unless the sender is null or the mail is itself a
 * notification. Returns whether one was queued.
 */
async function notify(
  spool: Spool,
  entry: ClaimedEntry,
  plan: AccountPlan,
  action: "failed" | "delayed",
  recipients: BounceRecipient[],
  reason: string,
  now: number,
  report: FlushReport,
  log: (line: string) => void,
  retryUntil?: Date,
): Promise<boolean> {
  const { envelope } = entry;
  if (envelope.from === "" || envelope.bounce) {
    log(`${entry.id}: no notification (${envelope.bounce ? "a notification" : "null sender"})`);
    return false;
  }
  // RFC 3461 §4.1: NOTIFY=NEVER, or conditions without this one, ask for no notification;
  // each recipient's own NOTIFY (a relay client's) decides for that recipient
  const dsn = envelope.dsn;
  const condition = action === "failed" ? "FAILURE" : "DELAY";
  const refused = new Set<string>();
  const wanted = recipients.filter((r) => {
    const asked = dsn === undefined ? undefined : notifyOf(dsn, r.address);
    if (asked === undefined || asked.includes(condition)) return true;
    refused.add(asked.join(","));
    return false;
  });
  if (wanted.length === 0) {
    log(`${entry.id}: no notification (NOTIFY=${[...refused].join("; NOTIFY=")})`);
    return false;
  }
  // RET=FULL (RFC 3461 §4.3): the whole mail comes back in a bounce when it is small (the
  // queue holds it whole in memory up to 64 KiB), else its headers, as for RET=HDRS
  let whole: Uint8Array | null = null;
  if (action === "failed" && dsn?.ret === "FULL") {
    try {
      whole = entry.bytes();
    } catch {
      // unreadable now: the headers go back
    }
  }
  const message = buildBounce({
    action,
    to: envelope.from,
    hostname: plan.hostname,
    queueId: entry.id,
    arrival: new Date(envelope.queued),
    recipients: wanted.map((r) => {
      const orcpt = dsn?.recipients !== undefined && Object.hasOwn(dsn.recipients, r.address)
        ? dsn.recipients[r.address].orcpt
        : undefined;
      return orcpt === undefined ? r : { ...r, original: orcpt };
    }),
    originalHeaders: await entry.headers(),
    ...(whole ? { originalMessage: whole } : {}),
    reason,
    now: new Date(now),
    ...(dsn?.envid !== undefined ? { envid: dsn.envid } : {}),
    ...(retryUntil ? { retryUntil } : {}),
  });
  const id = await spool.enqueue(
    {
      from: "",
      recipients: [envelope.from],
      selection: envelope.selection,
      account: envelope.account,
      bounce: true,
    },
    ReadableStream.from([message]),
    new Date(now),
  );
  report.notifications.push(id);
  log(`${entry.id}: ${action === "failed" ? "bounce" : "delay warning"} queued as ${id}`);
  return true;
}

/**
 * A recipient's NOTIFY conditions, upper case: its own (a relay client's), else the mail's;
 * undefined when none was given (a notification is then sent, RFC 3461 §4.1).
 */
function notifyOf(dsn: QueueDsn, recipient: string): string[] | undefined {
  const own = dsn.recipients !== undefined && Object.hasOwn(dsn.recipients, recipient)
    ? dsn.recipients[recipient].notify
    : undefined;
  const notify = own ?? dsn.notify;
  return notify ? notify.toUpperCase().split(",").map((c) => c.trim()) : undefined;
}

/** `5 days`, `1 hour`, `300 seconds`. */
export function formatSpan(seconds: number): string {
  const units: [number, string][] = [[86400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}
