/**
 * DANE for SMTP (RFC 7672): TLSA records at `_25._tcp.MXHOST`, asked of the configured
 * resolver with the DNSSEC-OK flag and trusted only when it answers with the AD bit (the
 * resolver validated them), as Postfix does. Usable records (DANE-TA(2) and DANE-EE(3);
 * full certificate or SubjectPublicKeyInfo; exact, SHA-256 or SHA-512) make TLS mandatory
 * for that host and decide which certificate it may present; they take precedence over
 * MTA-STS (RFC 8461 §2).
 *
 * `Deno.resolveDns` has neither TLSA nor the AD bit, so the query is made with
 * `npm:dns-packet` over `node:dgram` (TCP when the answer is truncated). This module is
 * loaded only when DANE is in use.
 *
 * @module
 */

import dnsPacket from "npm:dns-packet@5.6.1";
import { Buffer } from "node:buffer";
import { createHash, X509Certificate } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import type { TlsInfo } from "../net/transport.ts";
import { DnsError, type DnsServer } from "./dns.ts";
import type { TlsPolicy } from "./hop.ts";

/** One TLSA record. */
export interface TlsaRecord {
  /** 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE. */
  usage: number;
  /** 0 full certificate, 1 SubjectPublicKeyInfo. */
  selector: number;
  /** 0 exact, 1 SHA-256, 2 SHA-512. */
  matchingType: number;
  /** The association data. */
  data: Uint8Array;
}

/** The answer to a TLSA query. */
export interface TlsaAnswer {
  /** The resolver validated the answer (AD bit set). */
  secure: boolean;
  /** The TLSA records (none for a name without them). */
  records: TlsaRecord[];
}

interface DecodedAnswer {
  type: string;
  data?: { usage: number; selector: number; matchingType: number; certificate: Uint8Array };
}

interface DecodedPacket {
  id?: number;
  flags?: number;
  rcode?: string;
  answers?: DecodedAnswer[];
}

function query(name: string, type: "TLSA" | "MX", id: number): Uint8Array {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    additionals: [{
      type: "OPT",
      name: ".",
      udpPayloadSize: 4096,
      flags: dnsPacket.DNSSEC_OK,
    }],
  } as never);
}

function overUdp(server: DnsServer, packet: Uint8Array, id: number, timeoutMs: number) {
  return new Promise<DecodedPacket>((resolve, reject) => {
    const socket = dgram.createSocket(server.ipAddr.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("timed out"));
    }, timeoutMs);
    socket.on("error", (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.on("message", (message: Uint8Array) => {
      let decoded: DecodedPacket;
      try {
        decoded = dnsPacket.decode(Buffer.from(message)) as DecodedPacket;
      } catch {
        return; // not a DNS answer: keep waiting
      }
      if (decoded.id !== id) return; // someone else's answer
      clearTimeout(timer);
      socket.close();
      resolve(decoded);
    });
    socket.send(packet, server.port, server.ipAddr);
  });
}

function overTcp(server: DnsServer, packet: Uint8Array, timeoutMs: number) {
  return new Promise<DecodedPacket>((resolve, reject) => {
    const socket = net.connect({ host: server.ipAddr, port: server.port });
    const chunks: Uint8Array[] = [];
    let length = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timed out"));
    }, timeoutMs);
    const framed = new Uint8Array(packet.length + 2);
    framed[0] = packet.length >> 8;
    framed[1] = packet.length & 0xff;
    framed.set(packet, 2);
    socket.on("connect", () => socket.write(framed));
    socket.on("data", (chunk: Uint8Array) => {
      chunks.push(chunk);
      length += chunk.length;
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        try {
          resolve(dnsPacket.decode(all.subarray(2, 2 + all.readUInt16BE(0))) as DecodedPacket);
        } catch (error) {
          reject(error);
        }
      } else if (length > 65537) {
        socket.destroy();
      }
    });
    socket.on("error", (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** One query with the DNSSEC-OK flag, over UDP, then TCP when the answer was truncated. */
async function ask(
  name: string,
  type: "TLSA" | "MX",
  server: DnsServer,
  timeoutMs: number,
): Promise<DecodedPacket> {
  const id = crypto.getRandomValues(new Uint16Array(1))[0];
  const packet = query(name, type, id);
  let answer: DecodedPacket;
  try {
    answer = await overUdp(server, packet, id, timeoutMs);
    if (((answer.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0) {
      answer = await overTcp(server, packet, timeoutMs);
    }
  } catch (error) {
    throw new DnsError(type, name, error instanceof Error ? error.message : String(error), error);
  }
  if (answer.rcode !== "NOERROR" && answer.rcode !== "NXDOMAIN") {
    throw new DnsError(type, name, `the resolver answered ${answer.rcode}`);
  }
  return answer;
}

/**
 * Whether a domain's MX records (or their absence) were validated by the resolver: DANE
 * applies only to mail hosts found through a secure MX lookup (RFC 7672 §2.2.1), or an
 * attacker who forged the MX answer would choose the host, and with it the TLSA records.
 *
 * @throws {DnsError} the lookup failed.
 *
 * @example Usage
 * ```ts ignore
 * import { mxSecure } from "./dane.ts";
 * console.log(await mxSecure("example.org", { ipAddr: "127.0.0.1", port: 53 }, 5000));
 * ```
 */
export async function mxSecure(
  domain: string,
  server: DnsServer,
  timeoutMs: number,
): Promise<boolean> {
  const answer = await ask(domain.replace(/\.$/, ""), "MX", server, timeoutMs);
  return ((answer.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0;
}

/**
 * Asks `server` for the TLSA records of a mail host's port 25.
 *
 * @throws {DnsError} the resolver failed (SERVFAIL, no answer): temporary, as RFC 7672
 * §2.2 asks when the TLSA records cannot be told to be absent.
 *
 * @example Usage
 * ```ts ignore
 * import { lookupTlsa } from "./dane.ts";
 * const answer = await lookupTlsa("mx.example.org", { ipAddr: "127.0.0.1", port: 53 }, 5000);
 * console.log(answer.secure, answer.records);
 * ```
 */
export async function lookupTlsa(
  host: string,
  server: DnsServer,
  timeoutMs: number,
): Promise<TlsaAnswer> {
  const name = `_25._tcp.${host.replace(/\.$/, "")}`;
  const answer = await ask(name, "TLSA", server, timeoutMs);
  const secure = ((answer.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0;
  if (answer.rcode === "NXDOMAIN") return { secure, records: [] };
  const records = (answer.answers ?? [])
    .filter((a) => a.type === "TLSA" && a.data !== undefined)
    .map((a) => ({
      usage: a.data!.usage,
      selector: a.data!.selector,
      matchingType: a.data!.matchingType,
      data: new Uint8Array(a.data!.certificate),
    }));
  return { secure, records };
}

/**
 * The records RFC 7672 lets SMTP use: DANE-TA(2) and DANE-EE(3), selector 0 or 1,
 * matching type 0, 1 or 2 (PKIX usages 0 and 1 are not for SMTP, §3.1.3).
 *
 * @example Usage
 * ```ts
 * import { usableTlsa } from "./dane.ts";
 * const r = (usage: number) => ({ usage, selector: 1, matchingType: 1, data: new Uint8Array(32) });
 * console.log(usableTlsa([r(0), r(1), r(2), r(3)]).map((x) => x.usage)); // [2, 3]
 * ```
 */
export function usableTlsa(records: readonly TlsaRecord[]): TlsaRecord[] {
  return records.filter((r) =>
    (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) &&
    (r.matchingType === 0 || r.matchingType === 1 || r.matchingType === 2)
  );
}

function selected(cert: X509Certificate, selector: number): Uint8Array {
  if (selector === 0) return new Uint8Array(cert.raw);
  return new Uint8Array(cert.publicKey.export({ type: "spki", format: "der" }));
}

function matches(record: TlsaRecord, cert: X509Certificate): boolean {
  const bytes = selected(cert, record.selector);
  const value = record.matchingType === 0 ? bytes : new Uint8Array(
    createHash(record.matchingType === 1 ? "sha256" : "sha512").update(bytes).digest(),
  );
  return value.length === record.data.length && value.every((b, i) => b === record.data[i]);
}

/**
 * Checks a presented certificate chain (DER, the server's own first) against usable TLSA
 * records. DANE-EE(3) matches the server's own certificate, whatever its names and dates
 * (RFC 7672 §3.1.1); DANE-TA(2) matches an issuer in the chain, which must have signed the
 * chain down to the server's certificate, and that certificate must name `host`
 * (§3.1.2, §3.2.2). Returns undefined when the chain is acceptable, else why not.
 *
 * @example Usage
 * ```ts
 * import { checkDane } from "./dane.ts";
 * console.log(checkDane([], [], "mx.example.org")); // "the server presented no certificate"
 * ```
 */
export function checkDane(
  chain: readonly Uint8Array[],
  records: readonly TlsaRecord[],
  host: string,
): string | undefined {
  if (chain.length === 0) return "the server presented no certificate";
  let certs: X509Certificate[];
  try {
    certs = chain.map((der) => new X509Certificate(der));
  } catch {
    return "the server's certificate cannot be read";
  }
  const leaf = certs[0];
  if (records.some((r) => r.usage === 3 && matches(r, leaf))) return undefined;
  for (const record of records.filter((r) => r.usage === 2)) {
    const anchor = certs.findIndex((c, i) => i > 0 && matches(record, c));
    if (anchor < 0) continue;
    let signed = true;
    for (let i = 0; i < anchor; i++) {
      if (!certs[i].checkIssued(certs[i + 1]) || !certs[i].verify(certs[i + 1].publicKey)) {
        signed = false;
        break;
      }
    }
    const now = Date.now();
    const current = certs.slice(0, anchor + 1).every((c) =>
      Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo)
    );
    if (signed && current && leaf.checkHost(host.replace(/\.$/, "")) !== undefined) {
      return undefined;
    }
  }
  return "the certificate matches none of the DANE TLSA records";
}

/**
 * The DANE policy of a mail host: undefined when DANE does not apply (no TLSA records, or
 * an answer the resolver did not validate), else a policy requiring TLS and a certificate
 * matching the records.
 *
 * @throws {DnsError} the TLSA lookup failed (temporary; the host is skipped).
 *
 * @example Usage
 * ```ts ignore
 * import { danePolicy } from "./dane.ts";
 * const policy = await danePolicy("mx.example.org", { ipAddr: "127.0.0.1", port: 53 }, 5000);
 * ```
 */
export async function danePolicy(
  host: string,
  server: DnsServer,
  timeoutMs: number,
  note?: (text: string) => void,
): Promise<TlsPolicy | undefined> {
  const answer = await lookupTlsa(host, server, timeoutMs);
  if (answer.records.length === 0) return undefined;
  if (!answer.secure) {
    note?.(`DANE: the TLSA records of ${host} are not DNSSEC-validated; ignored`);
    return undefined;
  }
  const usable = usableTlsa(answer.records);
  if (usable.length === 0) {
    note?.(`DANE: ${host} has no usable TLSA record; ignored`);
    return undefined;
  }
  return {
    kind: "dane",
    check: (info: TlsInfo) => Promise.resolve(checkDane(info.chain ?? [], usable, host)),
  };
}

/**
 * The resolver DANE asks: `dns_server`, else the first `nameserver` of /etc/resolv.conf.
 *
 * @example Usage
 * ```ts
 * import { daneResolver } from "./dane.ts";
 * console.log(daneResolver({ ipAddr: "127.0.0.1", port: 5353 }));
 * // { ipAddr: "127.0.0.1", port: 5353 }
 * ```
 */
export function daneResolver(
  configured: DnsServer | undefined,
  resolvConf = "/etc/resolv.conf",
): DnsServer | undefined {
  if (configured) return configured;
  try {
    for (const line of Deno.readTextFileSync(resolvConf).split("\n")) {
      const match = /^\s*nameserver\s+([0-9A-Fa-f:.]+)\s*$/.exec(line);
      if (match) return { ipAddr: match[1], port: 53 };
    }
  } catch {
    // no resolv.conf: no DANE
  }
  return undefined;
}
