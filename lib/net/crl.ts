/**
 * Certificate revocation lists (`tls_crl_file`): a server certificate revoked by a CRL of
 * its issuer is refused, as GnuTLS refuses it for msmtp. Deno's `node:tls` takes a `crl`
 * option but does not apply it, so the check runs here after the handshake, before a byte of
 * SMTP is sent. The CRLs are parsed with @peculiar/asn1-x509 and their signatures verified
 * with `node:crypto`; a CRL counts only when its issuer's key (a trusted CA or a certificate
 * the server sent) verifies it.
 *
 * Loaded only for accounts that set `tls_crl_file`.
 *
 * @module
 */

import { AsnConvert, CertificateList } from "postie-asn1";
import { Buffer } from "node:buffer";
import { verify, X509Certificate } from "node:crypto";

/** One CRL as read from the file. */
export interface Crl {
  /** The signed part, DER, as the signature covers it. */
  tbs: Uint8Array;
  /** The signature algorithm's OID. */
  algorithm: string;
  signature: Uint8Array;
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  revoked: Set<string>;
}

/** Signature algorithms by OID: the digest `node:crypto` verifies with (null: in the key). */
const DIGESTS: Record<string, string | null> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.3.101.112": null,
  "1.3.101.113": null,
};

/** A serial number as upper-case hex without leading zeros ("0" for zero). */
function serialHex(bytes: ArrayBuffer | Uint8Array): string {
  return normalSerial(Buffer.from(bytes as Uint8Array).toString("hex"));
}

/**
 * Node's `serialNumber` drops leading zero digits (an odd number of digits is possible), so
 * both sides are compared as hex digits, never decoded to bytes.
 */
function normalSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, "");
}

/**
 * Reads every CRL (PEM blocks, or one DER CRL) in `text`. Throws a message in GnuTLS's
 * words when nothing can be read.
 *
 * @example Usage
 * ```ts
 * import { parseCrls } from "./crl.ts";
 * try {
 *   parseCrls(new TextEncoder().encode("garbage"));
 * } catch (e) {
 *   console.log((e as Error).message); // "Base64 decoding error."
 * }
 * ```
 */
export function parseCrls(bytes: Uint8Array): Crl[] {
  const text = new TextDecoder().decode(bytes);
  const blocks = text.match(/-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----/g);
  const ders = blocks
    ? blocks.map((b) => new Uint8Array(Buffer.from(b.replace(/-----[^-]+-----|\s/g, ""), "base64")))
    : bytes[0] === 0x30
    ? [bytes]
    : [];
  if (ders.length === 0) throw new Error("Base64 decoding error.");
  return ders.map((der) => {
    let list: CertificateList;
    try {
      list = AsnConvert.parse(der, CertificateList);
    } catch {
      throw new Error("ASN1 parser: Error in DER parsing.");
    }
    return {
      tbs: new Uint8Array(AsnConvert.serialize(list.tbsCertList)),
      algorithm: list.signatureAlgorithm.algorithm,
      signature: new Uint8Array(list.signature),
      revoked: new Set(
        (list.tbsCertList.revokedCertificates ?? []).map((r) => serialHex(r.userCertificate)),
      ),
    };
  });
}

function signedBy(crl: Crl, issuer: X509Certificate): boolean {
  const digest = DIGESTS[crl.algorithm];
  if (digest === undefined) return false;
  try {
    return verify(digest, crl.tbs, issuer.publicKey, crl.signature);
  } catch {
    return false;
  }
}

/**
 * Whether a certificate of the chain the server sent (leaf first, DER) is revoked by one of
 * `crls` signed by its issuer, the issuer being a trusted CA (PEM) or the next certificate of
 * the chain.
 *
 * @example Usage
 * ```ts
 * import { isRevoked } from "./crl.ts";
 * console.log(isRevoked([], [], [])); // false
 * ```
 */
export function isRevoked(chain: Uint8Array[], trusted: string[], crls: Crl[]): boolean {
  const certs = chain.map((der) => new X509Certificate(der));
  const anchors = trusted.map((pem) => new X509Certificate(pem));
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i];
    const serial = normalSerial(cert.serialNumber);
    const issuers = [...certs.slice(i + 1), ...anchors].filter((c) => cert.checkIssued(c));
    for (const crl of crls) {
      if (!crl.revoked.has(serial)) continue;
      if (issuers.some((issuer) => signedBy(crl, issuer))) return true;
    }
  }
  return false;
}
