/**
 * Direct delivery of one mail (RFC 5321 §5): recipients grouped by domain, one transaction
 * per domain, each domain's mail hosts tried in order and each host's addresses in turn,
 * under the TLS policy the domain asks for (DANE, MTA-STS, or opportunistic STARTTLS).
 *
 * A recipient ends delivered, failed for now (4xx, or no host reachable: to be tried
 * again) or failed for good (5xx, null MX, no such domain).
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import type { Reply } from "../smtp/reply.ts";
import type { DsnOptions } from "../smtp/command.ts";
import type { Resolver } from "./dns.ts";
import { attemptHop, type TlsPolicy } from "./hop.ts";
import { groupByDomain, type MailHost, mailHosts } from "./mx.ts";
import type { RecipientOutcome } from "./outcome.ts";

/** The policy a domain imposes, as found by MTA-STS. */
export interface DomainPolicy {
  /** Whether a host may receive the domain's mail (the policy's `mx` patterns). */
  allows(host: string): boolean;
  /** The TLS policy for an allowed host. */
  tls: TlsPolicy;
  /** For messages: `MTA-STS enforce`. */
  describe: string;
  /** `testing`: a host outside the patterns is only reported. */
  testing: boolean;
}

/** What direct delivery needs. */
export interface DirectOptions {
  from: string;
  recipients: readonly string[];
  /** A fresh DATA payload (CRLF, dot-stuffed) per transaction. */
  openData: () => ReadableStream<Uint8Array>;
  dsn?: DsnOptions;
  /** The EHLO argument (`domain`). */
  domain: string;
  resolver: Resolver;
  /** The SMTP port of mail hosts; 25. */
  port?: number;
  /** Timeout of each network operation, in ms. */
  timeoutMs: number;
  /** The local address to connect from (`source_ip`). */
  sourceIp?: string | null;
  /** The MTA-STS policy of a domain, when one applies (`mta_sts on`). */
  domainPolicy?: (domain: string) => Promise<DomainPolicy | undefined>;
  /**
   * The DANE policy of a mail host of `domain`, when it has usable TLSA records
   * (`dane on`).
   */
  danePolicy?: (host: string, domain: string) => Promise<TlsPolicy | undefined>;
  /** For equal MX preferences. */
  random?: () => number;
  debug?: (text: string) => void;
  /** Receives one line per notable event (which host took the mail, TLS fallbacks). */
  note?: (text: string) => void;
}

/** One transaction that delivered mail, for the log. */
export interface DirectTransaction {
  domain: string;
  host: string;
  address: string;
  tls: boolean;
  recipients: string[];
  reply?: Reply;
}

/** The result of {@linkcode deliverDirect}. */
export interface DirectResult {
  outcomes: RecipientOutcome[];
  transactions: DirectTransaction[];
}

function fail(
  recipients: readonly string[],
  error: PostieError,
  status: "temporary" | "permanent",
): RecipientOutcome[] {
  return recipients.map((recipient) => ({
    recipient,
    status,
    message: error.message,
    exitCode: status === "temporary" ? ExitCode.TEMPFAIL : error.exitCode,
  }));
}

/**
 * Delivers a mail to remote recipients by their domains' mail hosts.
 *
 * @example Usage
 * ```ts ignore
 * import { deliverDirect } from "./deliver.ts";
 * import { createResolver } from "./dns.ts";
 * const result = await deliverDirect({
 *   from: "cron@host.example", recipients: ["admin@example.org"], domain: "host.example",
 *   resolver: createResolver(undefined), timeoutMs: 60_000,
 *   openData: () => ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nhi\r\n")]),
 * });
 * console.log(result.outcomes);
 * ```
 */
export async function deliverDirect(options: DirectOptions): Promise<DirectResult> {
  const outcomes: RecipientOutcome[] = [];
  const transactions: DirectTransaction[] = [];
  for (const [domain, recipients] of groupByDomain(options.recipients)) {
    const result = await deliverDomain(domain, recipients, options);
    outcomes.push(...result.outcomes);
    transactions.push(...result.transactions);
  }
  return { outcomes, transactions };
}

async function deliverDomain(
  domain: string,
  recipients: string[],
  options: DirectOptions,
): Promise<DirectResult> {
  const note = options.note ?? (() => {});
  let hosts: MailHost[];
  let policy: DomainPolicy | undefined;
  try {
    hosts = await mailHosts(domain, options.resolver, options.random);
    policy = await options.domainPolicy?.(domain);
  } catch (error) {
    if (!(error instanceof PostieError)) throw error;
    const status = error.exitCode === ExitCode.TEMPFAIL ? "temporary" : "permanent";
    return { outcomes: fail(recipients, error, status), transactions: [] };
  }
  const outcomes: RecipientOutcome[] = [];
  const transactions: DirectTransaction[] = [];
  let pending = [...recipients];
  let lastProblem = `no mail host of ${domain} could be reached`;
  const lastReply = new Map<string, RecipientOutcome>();
  for (const host of hosts) {
    if (pending.length === 0) break;
    let tls: TlsPolicy = { kind: "opportunistic" };
    try {
      const dane = await options.danePolicy?.(host.name, domain);
      if (dane) {
        // RFC 8461 §2: DANE takes precedence over MTA-STS
        tls = dane;
      } else if (policy) {
        if (!policy.allows(host.name)) {
          lastProblem =
            `${host.name} is not an MX host allowed by the ${policy.describe} policy of ${domain}`;
          if (!policy.testing) {
            note(lastProblem);
            continue;
          }
          note(`${lastProblem} (testing mode: delivering anyway)`);
        }
        tls = policy.tls;
      }
    } catch (error) {
      if (!(error instanceof PostieError)) throw error;
      lastProblem = error.message;
      note(lastProblem);
      continue;
    }
    let addresses: string[];
    try {
      addresses = await options.resolver.addresses(host.name);
    } catch (error) {
      if (!(error instanceof PostieError)) throw error;
      lastProblem = error.message;
      continue;
    }
    if (addresses.length === 0) {
      lastProblem = `mail host ${host.name} of ${domain} has no address`;
      note(lastProblem);
      continue;
    }
    for (const address of addresses) {
      const hop = await attemptHop({
        address,
        host: host.name,
        port: options.port ?? 25,
        domain: options.domain,
        from: options.from,
        recipients: pending,
        ...(options.dsn ? { dsn: options.dsn } : {}),
        openData: options.openData,
        policy: tls,
        timeoutMs: options.timeoutMs,
        sourceIp: options.sourceIp ?? null,
        ...(options.debug ? { debug: options.debug } : {}),
        note,
      });
      if (hop.kind === "unreachable") {
        lastProblem = `${host.name} [${address}]: ${hop.message}`;
        note(lastProblem);
        continue;
      }
      const delivered = hop.recipients.filter((r) => r.status === "delivered");
      if (delivered.length > 0) {
        transactions.push({
          domain,
          host: host.name,
          address,
          tls: hop.tls,
          recipients: delivered.map((r) => r.recipient),
          ...(hop.reply ? { reply: hop.reply } : {}),
        });
        note(
          `${domain}: ${delivered.length} recipient(s) delivered to ${host.name} [${address}] ` +
            (hop.tls ? "with TLS" : "without TLS"),
        );
      }
      for (const r of hop.recipients) {
        const via = `${host.name} [${address}]${hop.tls ? " TLS" : ""}`;
        const outcome: RecipientOutcome = {
          recipient: r.recipient,
          status: r.status,
          via,
          exitCode: r.exitCode,
          ...(r.message === undefined
            ? {}
            : { message: `${host.name} [${address}]: ${r.message}` }),
          ...(r.reply ? { reply: r.reply } : {}),
        };
        // a recipient deferred here is tried at the next mail host
        if (r.status === "temporary") lastReply.set(r.recipient, outcome);
        else outcomes.push(outcome);
      }
      pending = hop.recipients.filter((r) => r.status === "temporary").map((r) => r.recipient);
      break;
    }
  }
  for (const recipient of pending) {
    outcomes.push(
      lastReply.get(recipient) ?? {
        recipient,
        status: "temporary",
        message: lastProblem,
        exitCode: ExitCode.TEMPFAIL,
      },
    );
  }
  return { outcomes, transactions };
}
