/**
 * A trust file *replaces* the roots (msmtp trusts only the file), now that postie checks it
 * with Deno's own TLS, whose `caCerts` would otherwise only add to Deno's default roots.
 * To show the difference, Deno's default roots are made to include a second CA the way a user
 * could: `DENO_TLS_CA_STORE=system` with `SSL_CERT_FILE` naming that CA. A server whose
 * certificate that CA signed is then trusted by `tls_trust_file system`, and must still be
 * refused when the trust file names only the first CA.
 */

import assert from "node:assert/strict";
import { runPostie } from "../support/differential.ts";
import { startFaultServer } from "../support/fault_server.ts";
import { createTestPki } from "../support/pki.ts";

const MAIL = "From: a@example.org\nTo: rcpt@example.org\nSubject: roots\n\nbody\n";

Deno.test("a trust file replaces Deno's default roots, even where they would trust the server", async () => {
  const pki = await createTestPki();
  // pki.untrusted: a leaf for localhost signed by pki.otherCa
  const server = await startFaultServer({ cert: pki.untrusted.cert, key: pki.untrusted.key });
  try {
    const rc = `${pki.dir}/rc`;
    const send = async (trust: string) => {
      await Deno.writeTextFile(
        rc,
        `account default\nhost 127.0.0.1\nport ${server.port}\nfrom a@example.org\nauth off\n` +
          `tls on\ntls_starttls on\ntls_trust_file ${trust}\n`,
      );
      await Deno.chmod(rc, 0o600);
      const before = server.sessions.filter((s) => s.delivered).length;
      const result = await runPostie(["-C", rc, "rcpt@example.org"], {
        env: { DENO_TLS_CA_STORE: "system", SSL_CERT_FILE: pki.otherCa.cert },
        stdin: MAIL,
      });
      return { ...result, delivered: server.sessions.filter((s) => s.delivered).length > before };
    };

    // the setting works: Deno's default roots now trust the server
    const system = await send("system");
    assert.equal(system.code, 0, system.stderr);
    assert.ok(system.delivered);
    // a trust file naming that CA is trusted too
    const other = await send(pki.otherCa.cert);
    assert.equal(other.code, 0, other.stderr);
    assert.ok(other.delivered);
    // a trust file naming another CA: only the file counts, the default roots do not
    const file = await send(pki.ca.cert);
    assert.equal(file.code, 69, file.stderr);
    assert.match(file.stderr, /TLS certificate verification failed/);
    assert.ok(!file.delivered, "the mail went to a server the trust file does not trust");
  } finally {
    await server.close();
    await pki.remove();
  }
});
