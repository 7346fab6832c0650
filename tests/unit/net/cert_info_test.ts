import assert from "node:assert/strict";
import {
  certificateInfoFromDer,
  describeTlsSession,
  formatCertificateInfo,
  formatCTime,
  formatFingerprint,
  formatTlsParameters,
} from "../../../lib/net/cert_info.ts";
import { createTestPki } from "../../support/pki.ts";

async function openssl(args: string[]): Promise<string> {
  const output = await new Deno.Command("openssl", { args, stdout: "piped" }).output();
  return new TextDecoder().decode(output.stdout).trim();
}

function derOf(pem: string): Uint8Array {
  const base64 = pem.replace(/-----[^-]+-----|\s/g, "");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

Deno.test("certificate info matches openssl's own view of the certificate", async () => {
  const pki = await createTestPki();
  try {
    for (const file of [pki.server.cert, pki.ca.cert, pki.expired.cert]) {
      const info = await certificateInfoFromDer(derOf(await Deno.readTextFile(file)));
      // RFC 2253 order (most specific first) is GnuTLS's order too.
      const subject = await openssl([
        "x509",
        "-in",
        file,
        "-noout",
        "-subject",
        "-nameopt",
        "esc_2253,esc_ctrl,esc_msb,utf8,dump_nostr,dump_unknown,dump_der,sep_comma_plus,sname",
      ]);
      const issuer = await openssl([
        "x509",
        "-in",
        file,
        "-noout",
        "-issuer",
        "-nameopt",
        "esc_2253,esc_ctrl,esc_msb,utf8,dump_nostr,dump_unknown,dump_der,sep_comma_plus,sname",
      ]);
      assert.equal(`subject=${info.subject}`, subject);
      assert.equal(`issuer=${info.issuer}`, issuer);
      const sha256 = await openssl(["x509", "-in", file, "-noout", "-fingerprint", "-sha256"]);
      const sha1 = await openssl(["x509", "-in", file, "-noout", "-fingerprint", "-sha1"]);
      assert.equal(`sha256 Fingerprint=${info.sha256}`, sha256);
      assert.equal(`sha1 Fingerprint=${info.sha1}`, sha1);
      const start = await openssl(["x509", "-in", file, "-noout", "-startdate"]);
      const end = await openssl(["x509", "-in", file, "-noout", "-enddate"]);
      assert.equal(info.activation.getTime(), Date.parse(start.replace("notBefore=", "")));
      assert.equal(info.expiration.getTime(), Date.parse(end.replace("notAfter=", "")));
    }
    const server = await certificateInfoFromDer(derOf(await Deno.readTextFile(pki.server.cert)));
    assert.equal(server.subject, "C=DE,O=Test Org,CN=localhost");
  } finally {
    await pki.remove();
  }
});

Deno.test("the certificate block is laid out exactly as msmtp prints it", () => {
  const lines = formatCertificateInfo({
    subject: "CN=localhost,O=Test Org,C=DE",
    issuer: "CN=localhost,O=Test Org,C=DE",
    activation: new Date(2026, 10, 23, 12, 19, 45),
    expiration: new Date(2026, 11, 23, 12, 19, 45),
    sha256: "5D:48:AE",
    sha1: "6E:B6:81",
  });
  assert.deepEqual(lines, [
    "TLS certificate information:",
    "    Subject:",
    "        CN=localhost,O=Test Org,C=DE",
    "    Issuer:",
    "        CN=localhost,O=Test Org,C=DE",
    "    Validity:",
    "        Activation time: Mon Nov 23 12:19:45 2026",
    "        Expiration time: Wed Dec 23 12:19:45 2026",
    "    Fingerprints:",
    "        SHA256: 5D:48:AE",
    "        SHA1 (deprecated): 6E:B6:81",
  ]);
});

Deno.test("times are written like ctime, with a space-padded day", () => {
  assert.equal(formatCTime(new Date(2026, 10, 3, 9, 5, 1)), "Tue Nov  3 09:05:01 2026");
});

Deno.test("fingerprints are upper-case hex bytes joined by colons", () => {
  assert.equal(formatFingerprint(Uint8Array.of(0x0a, 0xff, 0x10)), "0A:FF:10");
});

Deno.test("the session line names protocol and cipher GnuTLS-style, or says not available", () => {
  assert.equal(
    describeTlsSession({ protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" }),
    "(TLS1.3)-(AES-256-GCM)",
  );
  assert.equal(
    describeTlsSession({ protocol: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256" }),
    "(TLS1.2)-(ECDHE-RSA)-(AES-128-GCM)",
  );
  assert.equal(
    describeTlsSession({ protocol: "TLSv1.3", cipher: "TLS_CHACHA20_POLY1305_SHA256" }),
    "(TLS1.3)-(CHACHA20-POLY1305)",
  );
  assert.deepEqual(formatTlsParameters({}), ["TLS session parameters:", "    not available"]);
});
