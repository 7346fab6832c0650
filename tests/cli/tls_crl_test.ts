/**
 * `tls_crl_file` is applied: a server whose certificate the CA's CRL revokes gets no mail
 * and postie ends as msmtp does (69, GnuTLS's words); an unrevoked one gets it. TLS settings
 * postie cannot apply are refused with the file and line.
 */

import assert from "node:assert/strict";
import { compareWithMsmtp, runMsmtp, runPostie } from "../support/differential.ts";
import { startFaultServer } from "../support/fault_server.ts";
import { createTestPki } from "../support/pki.ts";

const MAIL = "Subject: crl\n\nbody\n";

for (const revoked of [true, false]) {
  Deno.test(
    revoked
      ? "a certificate revoked by tls_crl_file is refused with 69 and nothing is sent"
      : "a certificate the CRL does not list is accepted and the mail is sent",
    async (t) => {
      const pki = await createTestPki();
      const leaf = revoked ? pki.revoked : pki.server;
      const server = await startFaultServer({ cert: leaf.cert, key: leaf.key });
      try {
        const args = [
          "--host=127.0.0.1",
          `--port=${server.port}`,
          "--tls=on",
          `--tls-trust-file=${pki.ca.cert}`,
          `--tls-crl-file=${pki.crl}`,
          "--from=a@example.org",
          "b@example.org",
        ];
        const postie = await runPostie(args, { stdin: MAIL });
        const delivered = server.sessions.filter((s) => s.delivered).length;
        if (revoked) {
          assert.equal(
            postie.stderr,
            "postie: TLS certificate verification failed: The certificate is NOT trusted. " +
              "The certificate chain is revoked. \npostie: could not send mail\n",
          );
          assert.equal(postie.code, 69);
          assert.equal(delivered, 0);
        } else {
          assert.equal(postie.stderr, "");
          assert.equal(postie.code, 0);
          assert.equal(delivered, 1);
        }
        await compareWithMsmtp(t, async () => {
          const reference = await runMsmtp(args, { stdin: MAIL });
          assert.equal(postie.stderr, reference.stderr);
          assert.equal(postie.code, reference.code);
        });
      } finally {
        await server.close();
        await pki.remove();
      }
    },
  );
}

Deno.test("an unreadable CRL file ends as msmtp's does, before connecting", async () => {
  const args = [
    "--host=127.0.0.1",
    "--port=9",
    "--tls=on",
    "--tls-trust-file=/etc/ssl/certs/ca-certificates.crt",
    "--tls-crl-file=/nonexistent/crl.pem",
    "--from=a@example.org",
    "b@example.org",
  ];
  const postie = await runPostie(args, { stdin: MAIL });
  assert.equal(
    postie.stderr,
    "postie: cannot set X509 CRL file /nonexistent/crl.pem for TLS session: " +
      "Error while reading file.\npostie: could not send mail\n",
  );
  assert.equal(postie.code, 66);
});

for (
  const [line, expected] of [
    [
      "tls_priorities NORMAL:-VERS-TLS1.0",
      /line 4: command tls_priorities is not supported: postie uses TLS 1\.2 and 1\.3/,
    ],
    [
      "tls_min_dh_prime_bits 2048",
      /line 4: command tls_min_dh_prime_bits is not supported: .*elliptic-curve/,
    ],
  ] as const
) {
  Deno.test(`"${line.split(" ")[0]}" in a file is a config error with the file and line`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/rc`, `account default\nhost h\nfrom a@b\n${line}\n`, {
        mode: 0o600,
      });
      const postie = await runPostie(["-C", `${dir}/rc`, "-P", "b@example.org"], { stdin: MAIL });
      assert.match(
        postie.stderr,
        new RegExp(`^postie: ${dir}/rc: ${expected.source}.*; remove it\n$`),
      );
      assert.equal(postie.code, 78);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
