/**
 * The DNS lookups of direct delivery (MX, A, AAAA, TXT) through `Deno.resolveDns`, asking
 * the system's resolver or the one `dns_server` names. A name without records and a name
 * that does not exist look alike here (`Deno.resolveDns` does not tell them apart); any
 * other failure is temporary.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";

/** A resolver address (`dns_server IP[:PORT]`). */
export interface DnsServer {
  /** An IPv4 or IPv6 address. */
  ipAddr: string;
  /** The port; 53 by default. */
  port: number;
}

/** An MX record. */
export interface MxRecord {
  preference: number;
  /** The exchange without the final dot; `""` for the null MX's `.`. */
  exchange: string;
}

/** The lookups direct delivery needs; tests may supply their own. */
export interface Resolver {
  /** The MX records of a domain; an empty list when it has none (or does not exist). */
  mx(domain: string): Promise<MxRecord[]>;
  /** The addresses of a host, IPv6 first, then IPv4; empty when it has none. */
  addresses(host: string): Promise<string[]>;
  /** The TXT records of a name, each joined from its strings; empty when it has none. */
  txt(name: string): Promise<string[]>;
  /** The resolver asked, when not the system's. */
  readonly server: DnsServer | undefined;
}

/**
 * A DNS lookup failed for a reason other than "no such records": a temporary failure
 * (EX_TEMPFAIL), the mail is to be tried again.
 *
 * @example Usage
 * ```ts
 * import { DnsError } from "./dns.ts";
 * console.log(new DnsError("MX", "example.org", "timed out").message);
 * // "cannot look up the MX records of example.org: timed out"
 * ```
 */
export class DnsError extends PostieError {
  /** A temporary lookup failure of `type` records of `name`. */
  constructor(type: string, name: string, reason: string, cause?: unknown) {
    super(
      `cannot look up the ${type} records of ${name}: ${reason}`,
      ExitCode.TEMPFAIL,
      cause === undefined ? {} : { cause },
    );
    this.name = "DnsError";
  }
}

/**
 * Parses a `dns_server` argument: `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address.
 *
 * @example Usage
 * ```ts
 * import { parseDnsServer } from "./dns.ts";
 * console.log(parseDnsServer("127.0.0.1:5353"), parseDnsServer("[::1]:53"), parseDnsServer("x"));
 * // { ipAddr: "127.0.0.1", port: 5353 } { ipAddr: "::1", port: 53 } undefined
 * ```
 */
export function parseDnsServer(arg: string): DnsServer | undefined {
  let host = arg;
  let port = 53;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(arg);
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(arg);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (v4) {
    host = v4[1];
    if (v4[2] !== undefined) port = Number(v4[2]);
    if (host.split(".").some((octet) => Number(octet) > 255)) return undefined;
  } else if (!/^[0-9A-Fa-f:]+$/.test(arg) || !arg.includes(":")) {
    return undefined;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { ipAddr: host, port };
}

/** Whether a resolveDns error means "no records" rather than a failure. */
function isNoRecords(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  if (error instanceof Error) return error.message.replace(/^proto error: /, "");
  return String(error);
}

/**
 * A {@linkcode Resolver} on `Deno.resolveDns`, asking `server` or the system's resolver,
 * each lookup bounded by `timeoutMs`.
 *
 * @example Usage
 * ```ts ignore
 * import { createResolver } from "./dns.ts";
 * const resolver = createResolver({ ipAddr: "127.0.0.1", port: 53 }, 10_000);
 * console.log(await resolver.mx("example.org"));
 * ```
 */
export function createResolver(server: DnsServer | undefined, timeoutMs = 30_000): Resolver {
  const options = (): Deno.ResolveDnsOptions => ({
    ...(server ? { nameServer: server } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  async function guard<T>(type: string, name: string, ask: () => Promise<T[]>): Promise<T[]> {
    try {
      return await ask();
    } catch (error) {
      if (isNoRecords(error)) return [];
      throw new DnsError(type, name, reasonOf(error), error);
    }
  }
  return {
    server,
    async mx(domain: string): Promise<MxRecord[]> {
      const records = await guard("MX", domain, () => Deno.resolveDns(domain, "MX", options()));
      return records.map((r) => ({
        preference: r.preference,
        exchange: r.exchange.replace(/\.$/, ""),
      }));
    },
    async addresses(host: string): Promise<string[]> {
      const [v6, v4] = await Promise.all([
        guard("AAAA", host, () => Deno.resolveDns(host, "AAAA", options())),
        guard("A", host, () => Deno.resolveDns(host, "A", options())),
      ]);
      return [...v6, ...v4];
    },
    async txt(name: string): Promise<string[]> {
      const records = await guard("TXT", name, () => Deno.resolveDns(name, "TXT", options()));
      return records.map((parts) => parts.join(""));
    },
  };
}
