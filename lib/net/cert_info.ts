/**
 * The server certificate as msmtp shows it (`--serverinfo`, `--debug`): read from the DER
 * bytes, names in GnuTLS's RFC 4514 form, times in the C locale's `%c`, fingerprints in
 * upper-case hex.
 *
 * @module
 */

import type { CertificateInfo, TlsInfo } from "./transport.ts";

interface Der {
  tag: number;
  /** Content bytes. */
  body: Uint8Array;
  /** The whole element: tag, length and content. */
  raw: Uint8Array;
  /** Offset just past this element in the enclosing buffer. */
  end: number;
}

function readDer(bytes: Uint8Array, offset: number): Der {
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i];
    start += count;
  }
  if (tag === undefined || start + length > bytes.length) {
    throw new Error("malformed certificate");
  }
  return {
    tag,
    body: bytes.subarray(start, start + length),
    raw: bytes.subarray(offset, start + length),
    end: start + length,
  };
}

function children(body: Uint8Array): Der[] {
  const out: Der[] = [];
  for (let offset = 0; offset < body.length;) {
    const element = readDer(body, offset);
    out.push(element);
    offset = element.end;
  }
  return out;
}

function decodeOid(body: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join(".");
}

/** GnuTLS's short names for attribute types; others print as dotted OIDs. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.15": "businessCategory",
  "2.5.4.17": "postalCode",
  "2.5.4.41": "name",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.65": "pseudonym",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "EMAIL",
  "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionOfIncorporationLocalityName",
  "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionOfIncorporationStateOrProvinceName",
  "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionOfIncorporationCountryName",
};

function hex(bytes: Uint8Array, separator = ""): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(separator);
}

function decodeString(element: Der): string | null {
  switch (element.tag) {
    case 0x0c: // UTF8String
      return new TextDecoder().decode(element.body);
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString: Latin-1 in practice
      return new TextDecoder("latin1").decode(element.body);
    case 0x1e: // BMPString
      return new TextDecoder("utf-16be").decode(element.body);
    case 0x1c: { // UniversalString
      let out = "";
      for (let i = 0; i + 3 < element.body.length; i += 4) {
        const view = new DataView(element.body.buffer, element.body.byteOffset + i, 4);
        out += String.fromCodePoint(view.getUint32(0));
      }
      return out;
    }
    default:
      return null;
  }
}

/** RFC 4514 §2.4 escaping, as GnuTLS applies it. */
function escapeValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  if (out.startsWith("#") || out.startsWith(" ")) out = `\\${out}`;
  if (out.endsWith(" ") && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function formatName(name: Der): string {
  const rdns = children(name.body).map((rdn) =>
    children(rdn.body).map((attribute) => {
      const [type, value] = children(attribute.body);
      const oid = decodeOid(type.body);
      const text = decodeString(value);
      const key = ATTRIBUTE_NAMES[oid] ?? oid;
      // Unknown types and non-string values print as hex DER (RFC 4514 §2.4), like GnuTLS.
      if (text === null || !(oid in ATTRIBUTE_NAMES)) return `${key}=#${hex(value.raw)}`;
      return `${key}=${escapeValue(text)}`;
    }).join("+")
  );
  // msmtp prints gnutls_x509_crt_get_dn(), which keeps the certificate's own RDN order
  // (observed with msmtp 1.8.23 on GnuTLS 3.7: `C=DE,O=Test Org,CN=localhost`).
  return rdns.join(",");
}

function decodeTime(element: Der): Date {
  const text = new TextDecoder().decode(element.body);
  const match = element.tag === 0x17
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(text);
  if (!match) throw new Error(`unsupported certificate time ${text}`);
  let year = Number(match[1]);
  if (element.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(
    Date.UTC(
      year,
      Number(match[2]) - 1,
      Number(match[3]),
      Number(match[4]),
      Number(match[5]),
      Number(match[6] ?? 0),
    ),
  );
}

/**
 * Upper-case hex bytes joined by `:`, msmtp's fingerprint notation.
 *
 * @example Usage
 * ```ts
 * import { formatFingerprint } from "./cert_info.ts";
 * console.log(formatFingerprint(new Uint8Array([0xab, 0x01]))); // "AB:01"
 * ```
 */
export function formatFingerprint(bytes: Uint8Array): string {
  return hex(bytes, ":");
}

/**
 * Reads subject, issuer, validity and fingerprints from a DER-encoded X.509 certificate.
 *
 * @example Usage
 * ```ts
 * import { certificateInfoFromDer } from "./cert_info.ts";
 * const pem = await Deno.readTextFile("server.pem");
 * const b64 = pem.replace(/-----[^-]+-----|\s/g, "");
 * const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
 * console.log((await certificateInfoFromDer(der)).subject);
 * ```
 */
export async function certificateInfoFromDer(der: Uint8Array): Promise<CertificateInfo> {
  const certificate = readDer(der, 0);
  const tbs = children(children(certificate.body)[0].body);
  // The version field is optional and explicitly tagged [0].
  const fields = tbs[0].tag === 0xa0 ? tbs.slice(1) : tbs;
  const [, , issuer, validity, subject] = fields;
  const [notBefore, notAfter] = children(validity.body);
  const copy = new Uint8Array(der);
  const [sha256, sha1] = await Promise.all([
    crypto.subtle.digest("SHA-256", copy),
    crypto.subtle.digest("SHA-1", copy),
  ]);
  return {
    subject: formatName(subject),
    issuer: formatName(issuer),
    activation: decodeTime(notBefore),
    expiration: decodeTime(notAfter),
    sha256: formatFingerprint(new Uint8Array(sha256)),
    sha1: formatFingerprint(new Uint8Array(sha1)),
  };
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A local time as C's `ctime()` and the C locale's `%c` write it: `Mon Nov 23 12:19:45 2026`
 * (day of month padded with a space).
 *
 * @example Usage
 * ```ts
 * import { formatCTime } from "./cert_info.ts";
 * console.log(formatCTime(new Date(2026, 10, 3, 9, 5, 1))); // "Tue Nov  3 09:05:01 2026"
 * ```
 */
export function formatCTime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${
    String(date.getDate()).padStart(2, " ")
  } ${two(date.getHours())}:${two(date.getMinutes())}:${
    two(date.getSeconds())
  } ${date.getFullYear()}`;
}

/**
 * msmtp's `TLS certificate information:` block, one string per line, without newlines.
 *
 * @example Usage
 * ```ts
 * import { formatCertificateInfo } from "./cert_info.ts";
 * const lines = formatCertificateInfo({
 *   subject: "CN=localhost,O=Test Org,C=DE",
 *   issuer: "CN=Test CA,O=Test Org,C=DE",
 *   activation: new Date(),
 *   expiration: new Date(),
 *   sha256: "AB:CD",
 *   sha1: "01:02",
 * });
 * console.log(lines.join("\n"));
 * ```
 */
export function formatCertificateInfo(info: CertificateInfo): string[] {
  return [
    "TLS certificate information:",
    "    Subject:",
    `        ${info.subject}`,
    "    Issuer:",
    `        ${info.issuer}`,
    "    Validity:",
    `        Activation time: ${formatCTime(info.activation)}`,
    `        Expiration time: ${formatCTime(info.expiration)}`,
    "    Fingerprints:",
    `        SHA256: ${info.sha256}`,
    `        SHA1 (deprecated): ${info.sha1}`,
  ];
}

/** OpenSSL and IANA cipher-suite names → GnuTLS's bulk cipher names. */
function bulkCipher(suite: string): string | null {
  const s = suite.toUpperCase().replace(/_/g, "-");
  const aes = /AES-?(128|256)-?(GCM|CCM|CBC)?/.exec(s);
  if (aes) return `AES-${aes[1]}-${aes[2] ?? "CBC"}`;
  if (s.includes("CHACHA20")) return "CHACHA20-POLY1305";
  return null;
}

/**
 * The GnuTLS-style session description msmtp prints under `TLS session parameters:`, as far
 * as the TLS layer tells: `(TLS1.3)-(AES-256-GCM)`. GnuTLS adds the key exchange group and
 * signature algorithm, which neither of Deno's TLS APIs reports.
 *
 * @example Usage
 * ```ts
 * import { describeTlsSession } from "./cert_info.ts";
 * console.log(describeTlsSession({ protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" }));
 * // "(TLS1.3)-(AES-256-GCM)"
 * ```
 */
export function describeTlsSession(info: TlsInfo): string | null {
  const parts: string[] = [];
  if (info.protocol) parts.push(info.protocol.replace(/^TLSv/, "TLS"));
  if (info.cipher) {
    const kx = /^(?:TLS_)?(ECDHE|DHE)[-_](RSA|ECDSA)/i.exec(info.cipher);
    if (kx) parts.push(`${kx[1].toUpperCase()}-${kx[2].toUpperCase()}`);
    parts.push(bulkCipher(info.cipher) ?? info.cipher);
  }
  return parts.length ? parts.map((p) => `(${p})`).join("-") : null;
}

/**
 * msmtp's `TLS session parameters:` lines (`not available` when nothing is known).
 *
 * @example Usage
 * ```ts
 * import { formatTlsParameters } from "./cert_info.ts";
 * console.log(formatTlsParameters({ protocol: "TLSv1.3" }));
 * // ["TLS session parameters:", "    (TLS1.3)"]
 * ```
 */
export function formatTlsParameters(info: TlsInfo): string[] {
  return ["TLS session parameters:", `    ${describeTlsSession(info) ?? "not available"}`];
}
