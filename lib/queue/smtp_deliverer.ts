/**
 * The queue runner's {@linkcode Deliverer} over real servers: a queued mail's account is
 * resolved again from its recorded selection (config file, account name, options), and
 * mails go out through {@linkcode SmtpConnection}, one connection per account (the next
 * mail's envelope behind the last one's data when the server pipelines, RSET after a mail
 * that failed), refused recipients collected (`partial`).
 *
 * @module
 */

import type { Account, Settings } from "../config/account.ts";
import { PostieError } from "../errors.ts";
import { type Env, resolveAccount } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import { SmtpError } from "../smtp/errors.ts";
import { type DeliveryEnvelope, endOfDataTimeout, SmtpConnection } from "../delivery/connection.ts";
import { DEFAULT_END_OF_DATA_TIMEOUT } from "../config/account.ts";
import type { QueueEnvelope, QueueSelection } from "./format.ts";
import type {
  AccountPlan,
  Deliverer,
  DeliveryConnection,
  OutgoingEnvelope,
  SendOutcome,
} from "./runner.ts";

/** The time limit of each step of a queue run's dialogue when the account sets none. */
export const QUEUE_TIMEOUT = 300;

/** Options of {@linkcode SmtpDeliverer}. */
export interface SmtpDelivererOptions {
  /** What account resolution reads from the machine. */
  configEnv: Env;
  /** The environment password lookup sees; the process's by default. */
  env?: Readonly<Record<string, string>>;
  /** Receives the SMTP transcript (`--debug`). */
  debug?: (text: string) => void;
  /** Whether a password prompt on the terminal may be the last resort (default false). */
  prompt?: boolean;
}

/** Sends queued mails with the accounts of the configuration files. */
export class SmtpDeliverer implements Deliverer {
  #options: SmtpDelivererOptions;
  #accounts = new Map<string, Promise<Account>>();
  #hostname: string | undefined;

  /** A deliverer resolving accounts through `options.configEnv`. */
  constructor(options: SmtpDelivererOptions) {
    this.#options = options;
  }

  /** The account of a selection, or of a failover account named `route`; cached per run. */
  #load(selection: QueueSelection, route?: string): Promise<Account> {
    const key = JSON.stringify([selection, route ?? null]);
    const cached = this.#accounts.get(key);
    if (cached !== undefined) return cached;
    // a failover account comes from the same files, without the mail's own overrides
    const chosen = route === undefined ? selection : {
      account: route,
      ...(selection.configFile === undefined ? {} : { configFile: selection.configFile }),
      ...(selection.configFormat === undefined ? {} : { configFormat: selection.configFormat }),
      ...(selection.envFile === undefined ? {} : { envFile: selection.envFile }),
    };
    const account = resolveAccount({ ...chosen }, this.#options.configEnv).then((l) => l.account);
    this.#accounts.set(key, account);
    return account;
  }

  /** The account's schedule and its failover accounts. */
  async plan(envelope: QueueEnvelope): Promise<AccountPlan> {
    const account = await this.#load(envelope.selection);
    const s = account.settings;
    return {
      key: JSON.stringify(envelope.selection),
      policy: {
        backoffMin: s.queue_backoff[0],
        backoffMax: s.queue_backoff[1],
        lifetime: s.queue_lifetime,
        warn: s.queue_warn,
      },
      // "" is the account itself
      routes: ["", ...s.failover],
      // asked once per run, not once per mail
      hostname: this.#hostname ??= this.#options.configEnv.hostname(),
    };
  }

  /** Opens the account's server (route `""`) or a failover account's server. */
  async open(route: string, envelope: QueueEnvelope): Promise<DeliveryConnection> {
    let account: Account;
    try {
      account = await this.#load(envelope.selection, route === "" ? undefined : route);
    } catch (error) {
      if (error instanceof ConfigError && route !== "") {
        throw new ConfigError(`failover account ${route}: ${error.message}`);
      }
      throw error;
    }
    if (account.settings.direct) return await directConnection(account.settings, this.#options);
    // a server that stops answering must not stall the queue for good (nullmailer#75):
    // with `timeout off`, every step of the dialogue still gets QUEUE_TIMEOUT seconds
    const settings = account.settings.timeout === 0
      ? { ...account.settings, timeout: QUEUE_TIMEOUT }
      : account.settings;
    const connection = await SmtpConnection.open(settings, {
      // and the answer to the end of a mail RFC 5321's 10 minutes, unless the account says
      endOfDataTimeout: endOfDataTimeout(account) || DEFAULT_END_OF_DATA_TIMEOUT,
      ...(this.#options.debug ? { debug: this.#options.debug } : {}),
      ...(this.#options.env ? { env: this.#options.env } : {}),
      prompt: this.#options.prompt ?? false,
    });
    return connectionFor(connection);
  }
}

/** The runner's view of an open {@linkcode SmtpConnection}. */
function connectionFor(connection: SmtpConnection): DeliveryConnection {
  /**
   * The envelope as it goes to this server; a relay client's DSN parameters (`optional`) go
   * only where the server offers DSN, which the session decides.
   */
  const wire = (envelope: OutgoingEnvelope): DeliveryEnvelope => ({
    from: envelope.from,
    recipients: envelope.recipients,
    ...(envelope.dsn ? { dsn: envelope.dsn } : {}),
  });
  return {
    async send(envelope, message, options = {}): Promise<SendOutcome> {
      const result = await connection.send(wire(envelope), message, {
        partial: options.partial ?? true,
        ...(options.reset ? { reset: true } : {}),
        ...(options.next ? { next: wire(options.next) } : {}),
      });
      return {
        accepted: result.accepted,
        rejected: result.rejected.map((r) => ({
          address: r.address,
          code: r.reply.code,
          text: r.reply.raw.join(" "),
          ...(r.reply.enhanced ? { enhanced: r.reply.enhanced } : {}),
        })),
      };
    },
    // the RSET in front of the mail failed, or its first reply never came or was 421 (which
    // closes the connection too): the server is gone, and it had not seen the mail's data
    lostAtStart: (error) =>
      error instanceof SmtpError &&
      (error.stage === "rset" || (error.stage === "mail" && connection.closed)),
    async close(): Promise<void> {
      await connection.quit();
      connection.close();
    },
  };
}

/**
 * How a direct delivery's finished targets are told apart from envelope recipients in the
 * queue's done list: no address starts with a space-separated word.
 */
const TARGET = "target ";

/**
 * An account with `direct on` has no relay to keep a connection to: each mail goes to its
 * recipients' mail hosts and local mailboxes (lib/direct), and their outcomes become the
 * queue's per-recipient results (a temporary failure waits, a permanent one bounces).
 */
async function directConnection(
  settings: Settings,
  options: SmtpDelivererOptions,
): Promise<DeliveryConnection> {
  const { deliverWithoutRelay } = await import("../direct/route.ts");
  const { stuffMail } = await import("../message/data.ts");
  return {
    async send(envelope, message, sendOptions = {}): Promise<SendOutcome> {
      const dsn = envelope.dsn;
      // targets an earlier attempt finished carry this prefix in the queue's done list
      const done = (sendOptions.done ?? []).filter((d) => d.startsWith(TARGET))
        .map((d) => d.slice(TARGET.length));
      const result = await deliverWithoutRelay({
        settings,
        from: envelope.from,
        recipients: envelope.recipients,
        payload: stuffMail(message instanceof Uint8Array ? ReadableStream.from([message]) : message)
          .stream,
        done,
        ...(dsn ? { dsn } : {}),
        ...(options.debug ? { debug: options.debug } : {}),
      });
      const failed = result.outcomes.filter((o) => o.status !== "delivered");
      // while the sender waits (queue fallback), a mail nobody got and nobody will get is
      // reported as an error, as from msmtp; with a temporary failure among them it queues
      const permanent = failed.find((o) => o.status === "permanent");
      if (
        sendOptions.partial === false && permanent &&
        result.outcomes.every((o) => o.status === "permanent")
      ) {
        throw new PostieError(
          `${permanent.recipient}: ${permanent.message ?? "not delivered"}`,
          permanent.exitCode,
        );
      }
      // An envelope recipient is done when all of it is: a local one may expand to mailboxes
      // and forwards that fare differently, so what is finished is recorded per target, and
      // a retry delivers only the rest (no mailbox gets the mail twice).
      const accepted = failed.length === 0 ? [...envelope.recipients] : envelope.recipients
        .filter((r) =>
          result.outcomes.some((o) =>
            o.status === "delivered" && o.target === `smtp:${r.toLowerCase()}`
          )
        );
      const finished = result.outcomes
        .filter((o) => o.status !== "temporary" && o.target !== undefined)
        .map((o) => TARGET + o.target);
      const codeOf = (o: (typeof failed)[number]): number => {
        const code = o.reply?.code ?? 0;
        if (o.status === "permanent") return code >= 500 ? code : 550;
        return code >= 400 && code < 500 ? code : 450;
      };
      return {
        accepted,
        rejected: failed.map((o) => ({
          address: o.recipient,
          code: codeOf(o),
          text: o.reply ? o.reply.raw.join(" ") : o.message ?? "not delivered",
          ...(o.reply?.enhanced ? { enhanced: o.reply.enhanced } : {}),
        })),
        ...(failed.length === 0 ? {} : { finished }),
      };
    },
    close: () => Promise.resolve(),
  };
}
