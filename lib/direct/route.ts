/**
 * Delivery without a relay, for an account with `direct on`: local recipients (no domain,
 * or a domain of `local_domains`) go into mailboxes on this host; everyone else, and the
 * addresses local aliases forward to, to their domains' mail hosts. The mail is written
 * once to a private temporary file and read from it for each mailbox and transaction, so
 * memory does not grow with its size.
 *
 * @module
 */

import type { Settings } from "../config/account.ts";
import type { DsnOptions } from "../smtp/command.ts";
import { deliverLocal, localPart } from "../local/deliver.ts";
import { createResolver, parseDnsServer, type Resolver } from "./dns.ts";
import { deliverDirect, type DirectOptions, type DirectTransaction } from "./deliver.ts";
import type { RecipientOutcome } from "./outcome.ts";

/** Bound on aliases forwarding to local domains, which forward again. */
const LOCAL_ROUNDS = 5;

/** What {@linkcode deliverWithoutRelay} needs. */
export interface RouteRequest {
  /** The account's settings (`domain`, `dns_server`, `local_*`, `mta_sts`, `dane`, TLS). */
  settings: Settings;
  from: string;
  recipients: readonly string[];
  /** The DATA payload (CRLF, dot-stuffed), read once. */
  payload: ReadableStream<Uint8Array>;
  dsn?: DsnOptions;
  /** The resolver; by default `dns_server` or the system's. */
  resolver?: Resolver;
  /** The passwd file local users are looked up in (tests). */
  passwdFile?: string;
  /** The SMTP port of mail hosts (tests); 25. */
  port?: number;
  /** Where MTA-STS policies are cached; without it `mta_sts on` caches nothing. */
  stsCacheDir?: string;
  /** Bound on an MTA-STS policy fetch, in ms; 15 s by default. */
  stsTimeoutMs?: number;
  /** The HTTPS port of MTA-STS policy hosts (tests); 443. */
  stsPort?: number;
  debug?: (text: string) => void;
  /** Receives a line per notable event (which host took the mail, fallbacks). */
  note?: (text: string) => void;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** The result of {@linkcode deliverWithoutRelay}. */
export interface RouteResult {
  /** Every recipient's outcome: local mailboxes first, then remote recipients. */
  outcomes: RecipientOutcome[];
  /** The SMTP transactions that delivered mail. */
  transactions: DirectTransaction[];
}

/**
 * Delivers one mail to local mailboxes and remote mail hosts as the recipients require.
 * Never throws for a recipient's failure; each recipient ends in an outcome.
 *
 * @example Usage
 * ```ts
 * import { deliverWithoutRelay } from "./route.ts";
 * import { DEFAULT_SETTINGS } from "../config/account.ts";
 * const spool = await Deno.makeTempDir();
 * const result = await deliverWithoutRelay({
 *   settings: { ...DEFAULT_SETTINGS, direct: true, mail_spool: spool, local_aliases: null },
 *   from: "cron@host.example",
 *   recipients: ["root"],
 *   payload: ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nhi\r\n")]),
 * });
 * console.log(result.outcomes[0].status); // "delivered"
 * await Deno.remove(spool, { recursive: true });
 * ```
 */
export async function deliverWithoutRelay(request: RouteRequest): Promise<RouteResult> {
  const s = request.settings;
  const localDomains = s.local_domains === null ? [] : s.local_domains.split(",");
  const local: string[] = [];
  const remote: string[] = [];
  for (const recipient of request.recipients) {
    const name = localPart(recipient, localDomains);
    if (name === undefined) remote.push(recipient);
    else local.push(name);
  }
  const spool = await Deno.makeTempFile({ prefix: "postie-direct-" });
  try {
    await Deno.chmod(spool, 0o600);
    await request.payload.pipeTo((await Deno.open(spool, { write: true })).writable);
    const openData = (): ReadableStream<Uint8Array> => {
      // opened when first read, closed by the stream at its end
      let file: Deno.FsFile | undefined;
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      return new ReadableStream<Uint8Array>({
        async pull(controller): Promise<void> {
          if (reader === undefined) {
            file = await Deno.open(spool, { read: true });
            reader = file.readable.getReader();
          }
          const { value, done } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        async cancel(reason): Promise<void> {
          if (reader) await reader.cancel(reason);
          else file?.close();
        },
      });
    };
    const outcomes: RecipientOutcome[] = [];
    // An alias may forward to an address at a local domain: that is local mail again,
    // delivered in a further round; names already delivered are not delivered twice.
    const seen = new Set(local.map((n) => n.toLowerCase()));
    const done = new Set<string>();
    let round = local;
    for (let i = 0; i < LOCAL_ROUNDS && round.length > 0; i++) {
      const result = await deliverLocal(round, request.from, openData, {
        aliasesFile: s.local_aliases,
        mailSpool: s.mail_spool,
        maildir: s.maildir,
        done,
        ...(request.passwdFile ? { passwdFile: request.passwdFile } : {}),
      });
      outcomes.push(...result.outcomes);
      round = [];
      for (const address of result.forwards) {
        const name = localPart(address, localDomains);
        if (name !== undefined) {
          if (!seen.has(name.toLowerCase())) round.push(name);
          seen.add(name.toLowerCase());
        } else if (!remote.some((r) => r.toLowerCase() === address.toLowerCase())) {
          remote.push(address);
        }
      }
    }
    let transactions: DirectTransaction[] = [];
    if (remote.length > 0) {
      const timeoutMs = (s.timeout || 120) * 1000;
      const server = s.dns_server === null ? undefined : parseDnsServer(s.dns_server);
      const resolver = request.resolver ?? createResolver(server, Math.min(timeoutMs, 30_000));
      const trustFile = s.tls_trust_file ?? "system";
      let domainPolicy: DirectOptions["domainPolicy"];
      if (s.mta_sts) {
        // RFC 8461 code loads only for accounts that use it
        const sts = await import("./mta_sts.ts");
        domainPolicy = async (domain) =>
          sts.stsDomainPolicy(
            await sts.lookupStsPolicy(domain, {
              resolver,
              trustFile,
              timeoutMs: request.stsTimeoutMs ?? 15_000,
              ...(request.stsCacheDir ? { cacheDir: request.stsCacheDir } : {}),
              ...(request.stsPort ? { port: request.stsPort } : {}),
              ...(request.note ? { note: request.note } : {}),
            }),
            trustFile,
          );
      }
      let danePolicy: DirectOptions["danePolicy"];
      if (s.dane) {
        // dns-packet and node:dgram load only for accounts that use DANE
        const dane = await import("./dane.ts");
        const daneServer = dane.daneResolver(server);
        if (daneServer) {
          const limit = Math.min(timeoutMs, 30_000);
          const secureMx = new Map<string, Promise<boolean>>();
          danePolicy = async (host, domain) => {
            // RFC 7672 §2.2.1: only hosts from a validated MX answer are looked up
            if (!secureMx.has(domain)) {
              const secure = dane.mxSecure(domain, daneServer, limit);
              secureMx.set(domain, secure);
              if (!(await secure)) {
                request.note?.(
                  `DANE: the MX records of ${domain} are not DNSSEC-validated; no TLSA lookup`,
                );
              }
            }
            if (!(await secureMx.get(domain))) return undefined;
            return await dane.danePolicy(host, daneServer, limit, request.note);
          };
        }
      }
      // EHLO localhost (msmtp's default domain) is refused or scored down by many mail
      // hosts: a direct account then says the host's own name
      const ehlo = s.domain === "localhost" ? hostName() : s.domain;
      const result = await deliverDirect({
        ...(domainPolicy ? { domainPolicy } : {}),
        ...(danePolicy ? { danePolicy } : {}),
        from: request.from,
        recipients: remote,
        openData,
        ...(request.dsn ? { dsn: request.dsn } : {}),
        domain: ehlo,
        resolver,
        ...(request.port ? { port: request.port } : {}),
        timeoutMs,
        sourceIp: s.source_ip,
        ...(request.debug ? { debug: request.debug } : {}),
        ...(request.note ? { note: request.note } : {}),
      });
      outcomes.push(...result.outcomes);
      transactions = result.transactions;
    }
    return { outcomes, transactions };
  } finally {
    await Deno.remove(spool).catch(() => {});
  }
}
