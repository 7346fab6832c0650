/**
 * The ASN.1 parts of @peculiar/asn1-schema and @peculiar/asn1-x509 that the CRL check uses,
 * under one specifier (`postie-asn1` in deno.json). They pull in tslib's CommonJS build, so
 * the installed bundle builds this module apart (scripts/build.ts, APART): only a run with
 * `tls_crl_file` loads it.
 *
 * @module
 */

export { AsnConvert } from "npm:@peculiar/asn1-schema@^2.6.0";
export { CertificateList } from "npm:@peculiar/asn1-x509@^2.6.0";
