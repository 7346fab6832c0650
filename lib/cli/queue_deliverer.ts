/**
 * The queue runner's {@linkcode Deliverer} for the command line: a queued mail's account
 * is loaded again from its recorded selection (config file, account name, options), and
 * mails go out over postie's SMTP session, one connection per account.
 *
 * @module
 */

import type { Account } from "../config/account.ts";
import { loadAccount } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import { dataPayload } from "../message/data.ts";
import type { QueueEnvelope, QueueSelection } from "../queue/format.ts";
import type { AccountPlan, Deliverer, DeliveryConnection, SendOutcome } from "../queue/runner.ts";
import { SmtpError } from "../smtp/errors.ts";
import { parseArgs, type ParsedArgs } from "./args.ts";
import type { RunIo } from "./run.ts";
import { type OpenSession, openSession } from "./session.ts";

/** The invocation that chooses a recorded account again. */
function invocationOf(selection: QueueSelection, route?: string): ParsedArgs {
  const inv = parseArgs([]);
  inv.mode = "serverinfo"; // chooses the account without needing an envelope-from
  inv.configFile = selection.configFile;
  inv.envFile = selection.envFile;
  inv.configFormat = selection.configFormat;
  if (route !== undefined) {
    inv.account = route;
    return inv;
  }
  inv.host = selection.host;
  inv.account = selection.account;
  inv.overrides = (selection.overrides ?? []).map((o) => ({ ...o }));
  return inv;
}

/** Sends queued mails with the accounts of the configuration files. */
export class CliDeliverer implements Deliverer {
  #io: RunIo;
  #debug: ((text: string) => void) | undefined;
  #accounts = new Map<string, Promise<Account>>();

  /** A deliverer reading configuration through `io`; `debug` receives the transcript. */
  constructor(io: RunIo, debug?: (text: string) => void) {
    this.#io = io;
    this.#debug = debug;
  }

  #load(selection: QueueSelection, route?: string): Promise<Account> {
    const key = JSON.stringify([selection, route ?? null]);
    let account = this.#accounts.get(key);
    if (account === undefined) {
      account = loadAccount(invocationOf(selection, route), this.#io.configEnv)
        .then((loaded) => loaded.account);
      this.#accounts.set(key, account);
    }
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
      routes: ["", ...s.failover],
      hostname: this.#io.configEnv.hostname(),
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
    const s = account.settings;
    const open = await openSession(s, { debug: this.#debug });
    try {
      if (s.auth !== "off") {
        const { authenticate } = await import("./auth.ts");
        await authenticate(s, open, this.#io.env);
      }
    } catch (error) {
      if (error instanceof SmtpError && error.quitAllowed) await open.session.quit();
      open.session.close();
      throw error;
    }
    return sessionConnection(open);
  }
}

/**
 * A delivery connection over an open session. After a completed mail the server is
 * ready for the next MAIL FROM; after a failed one the connection is not reused.
 */
function sessionConnection(open: OpenSession): DeliveryConnection {
  let clean = true;
  return {
    async send(envelope, message): Promise<SendOutcome> {
      clean = false;
      const payload = dataPayload(new Uint8Array(0), false, message);
      await open.session.send(
        {
          from: envelope.from,
          recipients: envelope.recipients,
          ...(envelope.dsn ? { dsn: envelope.dsn } : {}),
        },
        payload.stream,
      );
      clean = true;
      return { accepted: [...envelope.recipients], rejected: [] };
    },
    reset(): Promise<void> {
      return clean ? Promise.resolve() : Promise.reject(new Error("connection not reusable"));
    },
    async close(): Promise<void> {
      await open.session.quit();
      open.session.close();
    },
  };
}
