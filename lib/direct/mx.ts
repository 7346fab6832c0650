/**
 * Where a domain's mail goes (RFC 5321 §5.1): its MX records by preference, in random order
 * among equal preferences; without MX records the domain itself (its A/AAAA records, the
 * "implicit MX"); a null MX (`0 .`, RFC 7505) means the domain accepts no mail at all.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import type { MxRecord, Resolver } from "./dns.ts";

/** One host to try for a domain, in order. */
export interface MailHost {
  /** The host name (the MX exchange, or the domain itself). */
  name: string;
  /** The MX preference; 0 for the implicit MX. */
  preference: number;
  /** Whether this is the domain itself because it has no MX records. */
  implicit: boolean;
}

/**
 * The domain accepts no mail: a null MX, or neither MX nor address records. Permanent
 * (EX_NOHOST): trying again will not help.
 *
 * @example Usage
 * ```ts
 * import { NoMailHostError } from "./mx.ts";
 * console.log(NoMailHostError.nullMx("example.org").message);
 * // "example.org does not accept mail (null MX, RFC 7505)"
 * ```
 */
export class NoMailHostError extends PostieError {
  /** A domain without a mail host, with the reason. */
  constructor(message: string) {
    super(message, ExitCode.NOHOST);
    this.name = "NoMailHostError";
  }

  /** The domain publishes a null MX. */
  static nullMx(domain: string): NoMailHostError {
    return new NoMailHostError(`${domain} does not accept mail (null MX, RFC 7505)`);
  }
}

/**
 * Groups recipients by their domain (compared without case), in order of first
 * appearance; recipients without `@` are not included.
 *
 * @example Usage
 * ```ts
 * import { groupByDomain } from "./mx.ts";
 * console.log(groupByDomain(["a@X.org", "b@y.org", "c@x.org"]));
 * // Map { "x.org" => ["a@X.org", "c@x.org"], "y.org" => ["b@y.org"] }
 * ```
 */
export function groupByDomain(recipients: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const recipient of recipients) {
    const at = recipient.lastIndexOf("@");
    if (at < 0) continue;
    const domain = recipient.slice(at + 1).toLowerCase().replace(/\.$/, "");
    const list = groups.get(domain);
    if (list) list.push(recipient);
    else groups.set(domain, [recipient]);
  }
  return groups;
}

/**
 * Orders MX records: ascending preference, shuffled among equal preferences with `random`
 * (a function like `Math.random`). Throws {@linkcode NoMailHostError} for a null MX.
 *
 * @example Usage
 * ```ts
 * import { orderMx } from "./mx.ts";
 * const hosts = orderMx("x.org", [
 *   { preference: 20, exchange: "b.x.org" },
 *   { preference: 10, exchange: "a.x.org" },
 * ]);
 * console.log(hosts.map((h) => h.name)); // ["a.x.org", "b.x.org"]
 * ```
 */
export function orderMx(
  domain: string,
  records: readonly MxRecord[],
  random: () => number = Math.random,
): MailHost[] {
  const real = records.filter((r) => r.exchange !== "");
  // RFC 7505 §3: a null MX is the only MX; with others beside it, it is ignored.
  if (real.length === 0) throw NoMailHostError.nullMx(domain);
  const byPreference = new Map<number, MxRecord[]>();
  for (const r of real) {
    const same = byPreference.get(r.preference);
    if (same) same.push(r);
    else byPreference.set(r.preference, [r]);
  }
  const hosts: MailHost[] = [];
  for (const preference of [...byPreference.keys()].sort((a, b) => a - b)) {
    // sorted first, so that the order depends on `random` alone, not on the DNS answer
    const same = [...byPreference.get(preference)!].sort((a, b) =>
      a.exchange < b.exchange ? -1 : a.exchange > b.exchange ? 1 : 0
    );
    // Fisher–Yates: every order of equal preferences equally likely
    for (let i = same.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [same[i], same[j]] = [same[j], same[i]];
    }
    const seen = new Set(hosts.map((h) => h.name.toLowerCase()));
    for (const r of same) {
      if (seen.has(r.exchange.toLowerCase())) continue;
      seen.add(r.exchange.toLowerCase());
      hosts.push({ name: r.exchange, preference, implicit: false });
    }
  }
  return hosts;
}

/**
 * The hosts to try for a domain, in order: its MX hosts, or the domain itself when it has
 * no MX records but has an address.
 *
 * @throws {NoMailHostError} null MX, or no MX and no address (permanent).
 * @throws {DnsError} a lookup failed (temporary).
 *
 * @example Usage
 * ```ts
 * import { mailHosts } from "./mx.ts";
 * const resolver = {
 *   server: undefined,
 *   mx: () => Promise.resolve([]),
 *   addresses: () => Promise.resolve(["192.0.2.1"]),
 *   txt: () => Promise.resolve([]),
 * };
 * console.log(await mailHosts("host.example", resolver));
 * // [{ name: "host.example", preference: 0, implicit: true }]
 * ```
 */
export async function mailHosts(
  domain: string,
  resolver: Resolver,
  random: () => number = Math.random,
): Promise<MailHost[]> {
  const records = await resolver.mx(domain);
  if (records.length > 0) return orderMx(domain, records, random);
  const addresses = await resolver.addresses(domain);
  if (addresses.length === 0) {
    throw new NoMailHostError(`${domain} has no mail server (no MX and no address records)`);
  }
  return [{ name: domain, preference: 0, implicit: true }];
}
