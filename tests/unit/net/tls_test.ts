import assert from "node:assert/strict";
import { connect, type ConnectOptions, type NetTransport } from "../../../lib/net/connect.ts";
import type { TlsOptions } from "../../../lib/net/transport.ts";
import { PostieError } from "../../../lib/errors.ts";
import { createTestPki, type TestPki } from "../../support/pki.ts";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../../support/tls_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const NOT_TRUSTED = "TLS certificate verification failed: The certificate is NOT trusted. ";

function rejectsWith(message: string | RegExp, exitCode: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof PostieError, `not a PostieError: ${e}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.exitCode, exitCode);
    return true;
  };
}

function tlsOptions(pki: TestPki, extra: Partial<TlsOptions> = {}): TlsOptions {
  return {
    hostname: "localhost",
    trustFile: pki.ca.cert,
    certcheck: true,
    fingerprint: null,
    certFile: null,
    keyFile: null,
    ...extra,
  };
}

async function line(transport: NetTransport): Promise<string> {
  return decoder.decode((await transport.read())!);
}

/** Greeting, EHLO, STARTTLS, upgrade, then the greeting again over TLS. */
async function starttls(
  port: number,
  tls: TlsOptions,
  extra: Partial<ConnectOptions> = {},
): Promise<NetTransport> {
  const transport = await connect({
    host: "127.0.0.1",
    port,
    timeoutMs: 5000,
    tls: { ...tls, implicit: false },
    ...extra,
  });
  try {
    assert.match(await line(transport), /^220 /);
    await transport.write(encoder.encode("STARTTLS\r\n"));
    assert.match(await line(transport), /^220 ready/);
    await transport.startTls(tls);
    return transport;
  } catch (e) {
    transport.close();
    throw e;
  }
}

/** Runs `body` with a fresh PKI and a server, closing both afterwards. */
async function withServer(
  options: (pki: TestPki) => TestServerOptions,
  body: (pki: TestPki, port: number, server: TestServer) => Promise<void>,
): Promise<void> {
  const pki = await createTestPki();
  const server = await startTestServer(options(pki));
  try {
    await body(pki, server.port, server);
  } finally {
    await server.close();
    await pki.remove();
  }
}

const serving = (pki: TestPki): TestServerOptions => ({
  cert: pki.server.cert,
  key: pki.server.key,
});

Deno.test("STARTTLS with the CA as trust file succeeds and reports the session", async () => {
  await withServer(serving, async (pki, port) => {
    const transport = await starttls(port, tlsOptions(pki));
    assert.equal(transport.tls, true);
    assert.equal(await line(transport), "220 test.local ESMTP ready (TLS)\r\n");
    const info = transport.tlsInfo!;
    assert.match(info.protocol!, /^TLSv1\.[23]$/);
    assert.equal(info.certificate?.subject, "C=DE,O=Test Org,CN=localhost");
    assert.equal(info.certificate?.issuer, "C=DE,O=Test Org,CN=Postie Test CA");
    await transport.write(encoder.encode("QUIT\r\n"));
    assert.equal(await line(transport), "221 bye\r\n");
    transport.close();
  });
});

Deno.test("an IP host verifies against the certificate's IP SAN", async () => {
  await withServer(serving, async (pki, port) => {
    const transport = await starttls(port, tlsOptions(pki, { hostname: "127.0.0.1" }));
    assert.equal(await line(transport), "220 test.local ESMTP ready (TLS)\r\n");
    transport.close();
  });
});

Deno.test("a certificate from an untrusted CA fails verification with EX_UNAVAILABLE", async () => {
  await withServer(
    (pki) => ({ cert: pki.untrusted.cert, key: pki.untrusted.key }),
    async (pki, port) => {
      await assert.rejects(
        starttls(port, tlsOptions(pki)),
        rejectsWith(`${NOT_TRUSTED}The certificate issuer is unknown. `, 69),
      );
    },
  );
});

Deno.test("system trust rejects the test CA (Deno's native TLS path)", async () => {
  await withServer(serving, async (pki, port) => {
    await assert.rejects(
      starttls(port, tlsOptions(pki, { trustFile: "system" })),
      rejectsWith(`${NOT_TRUSTED}The certificate issuer is unknown. `, 69),
    );
  });
});

Deno.test("system trust accepts a server whose CA the runtime trusts (native path)", async () => {
  await withServer(serving, async (pki, port) => {
    // DENO_CERT adds a CA to Deno's root store; that needs a process of its own.
    const script = `
      import { connect } from ${
      JSON.stringify(new URL("../../../lib/net/connect.ts", import.meta.url).href)
    };
      const t = await connect({ host: "127.0.0.1", port: ${port}, timeoutMs: 5000,
        tls: { implicit: false, hostname: "localhost", trustFile: "system", certcheck: true,
               fingerprint: null, certFile: null, keyFile: null } });
      const d = new TextDecoder();
      await t.read();
      await t.write(new TextEncoder().encode("STARTTLS\\r\\n"));
      await t.read();
      const info = await t.startTls({ hostname: "localhost", trustFile: "system", certcheck: true,
               fingerprint: null, certFile: null, keyFile: null });
      console.log(JSON.stringify(info), d.decode(await t.read()).trim());
      t.close();`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      env: { DENO_CERT: pki.ca.cert },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(decoder.decode(output.stderr), "");
    // The native path does not report the certificate: nobody asked for it.
    assert.equal(decoder.decode(output.stdout), "{} 220 test.local ESMTP ready (TLS)\n");
  });
});

Deno.test("a certificate for another name fails verification", async () => {
  await withServer(
    (pki) => ({ cert: pki.otherName.cert, key: pki.otherName.key }),
    async (pki, port) => {
      await assert.rejects(
        starttls(port, tlsOptions(pki)),
        rejectsWith(`${NOT_TRUSTED}The name in the certificate does not match the expected. `, 69),
      );
    },
  );
});

Deno.test("a wrong tls_host_override fails verification against a good certificate", async () => {
  await withServer(serving, async (pki, port) => {
    await assert.rejects(
      starttls(port, tlsOptions(pki, { hostname: "wrong.example" })),
      rejectsWith(`${NOT_TRUSTED}The name in the certificate does not match the expected. `, 69),
    );
  });
});

Deno.test("tls_host_override names the certificate's host and fixes the mismatch", async () => {
  await withServer(
    (pki) => ({ cert: pki.otherName.cert, key: pki.otherName.key }),
    async (pki, port) => {
      const transport = await starttls(port, tlsOptions(pki, { hostname: "mail.example.org" }));
      assert.equal(transport.tlsInfo?.certificate?.subject, "C=DE,O=Test Org,CN=mail.example.org");
      transport.close();
    },
  );
});

Deno.test("an expired certificate fails verification", async () => {
  await withServer(
    (pki) => ({ cert: pki.expired.cert, key: pki.expired.key }),
    async (pki, port) => {
      await assert.rejects(
        starttls(port, tlsOptions(pki)),
        rejectsWith(`${NOT_TRUSTED}The certificate chain uses expired certificate. `, 69),
      );
    },
  );
});

Deno.test("tls_certcheck off accepts an untrusted, expired, misnamed certificate", async () => {
  await withServer(
    (pki) => ({ cert: pki.expired.cert, key: pki.expired.key }),
    async (pki, port) => {
      const transport = await starttls(
        port,
        tlsOptions(pki, { certcheck: false, trustFile: null, hostname: "wrong.example" }),
      );
      assert.equal(await line(transport), "220 test.local ESMTP ready (TLS)\r\n");
      transport.close();
    },
  );
});

Deno.test("a matching SHA-256 or SHA-1 fingerprint is accepted without a trust file", async () => {
  await withServer(
    (pki) => ({ cert: pki.untrusted.cert, key: pki.untrusted.key }),
    async (pki, port) => {
      const probe = await starttls(port, tlsOptions(pki, { certcheck: false, trustFile: null }));
      const { sha256, sha1 } = probe.tlsInfo!.certificate!;
      probe.close();
      for (const fingerprint of [sha256, sha1, sha256.toLowerCase()]) {
        const transport = await starttls(
          port,
          tlsOptions(pki, { fingerprint, trustFile: null, hostname: "wrong.example" }),
        );
        assert.equal(await line(transport), "220 test.local ESMTP ready (TLS)\r\n");
        transport.close();
      }
    },
  );
});

Deno.test("a wrong fingerprint gives msmtp's message with EX_UNAVAILABLE", async () => {
  await withServer(serving, async (pki, port) => {
    const fingerprint = Array(32).fill("00").join(":");
    await assert.rejects(
      starttls(port, tlsOptions(pki, { fingerprint })),
      rejectsWith(
        "TLS certificate verification failed: the certificate fingerprint does not match",
        69,
      ),
    );
  });
});

Deno.test("implicit TLS works and reports the session at connect time", async () => {
  await withServer((pki) => ({ ...serving(pki), implicit: true }), async (pki, port) => {
    const transport = await connect({
      host: "localhost",
      port,
      timeoutMs: 5000,
      tls: { ...tlsOptions(pki), implicit: true },
    });
    assert.equal(transport.tls, true);
    assert.equal(transport.tlsInfo?.certificate?.subject, "C=DE,O=Test Org,CN=localhost");
    assert.equal(await line(transport), "220 test.local ESMTP ready (TLS)\r\n");
    transport.close();
  });
});

Deno.test("implicit TLS against a plaintext server fails the handshake with EX_PROTOCOL", async () => {
  await withServer(() => ({}), async (pki, port) => {
    await assert.rejects(
      connect({
        host: "127.0.0.1",
        port,
        timeoutMs: 5000,
        tls: { ...tlsOptions(pki), implicit: true },
      }),
      rejectsWith("TLS handshake failed: An unexpected TLS packet was received.", 76),
    );
  });
});

Deno.test("the timeout covers a TLS handshake the server never answers", async () => {
  await withServer(() => ({ stallTls: true }), async (pki, port) => {
    for (const trustFile of [pki.ca.cert, "system"]) {
      const start = performance.now();
      await assert.rejects(
        connect({
          host: "127.0.0.1",
          port,
          timeoutMs: 300,
          tls: { ...tlsOptions(pki, { trustFile }), implicit: true },
        }),
        rejectsWith("TLS handshake failed: the operation timed out", 74),
      );
      const elapsed = performance.now() - start;
      assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    }
  });
});

Deno.test("a client certificate is presented to a server that requires one", async () => {
  await withServer(
    (pki) => ({ ...serving(pki), implicit: true, clientCa: pki.ca.cert }),
    async (pki, port, server) => {
      const transport = await connect({
        host: "localhost",
        port,
        timeoutMs: 5000,
        tls: {
          ...tlsOptions(pki, { certFile: pki.client.cert, keyFile: pki.client.key }),
          implicit: true,
        },
      });
      assert.equal(await line(transport), "220 test.local ESMTP ready (TLS)\r\n");
      assert.deepEqual(server.clientNames, ["postie client"]);
      transport.close();
    },
  );
});

Deno.test("without a client certificate the server that requires one hangs up", async () => {
  await withServer(
    (pki) => ({ ...serving(pki), implicit: true, clientCa: pki.ca.cert }),
    async (pki, port) => {
      let transport: NetTransport | null = null;
      await assert.rejects(async () => {
        transport = await connect({
          host: "localhost",
          port,
          timeoutMs: 5000,
          tls: { ...tlsOptions(pki), implicit: true },
        });
        // TLS 1.3 finishes the client side first; the refusal arrives with the first read.
        const chunk = await transport.read();
        if (chunk === null) throw new PostieError("closed", 74);
      }, (e: unknown) => e instanceof PostieError && [74, 76].includes(e.exitCode));
      (transport as NetTransport | null)?.close();
    },
  );
});

Deno.test("an unreadable trust file is reported before connecting, with EX_NOINPUT", async () => {
  const pki = await createTestPki();
  await assert.rejects(
    connect({
      host: "127.0.0.1",
      port: 1,
      timeoutMs: 5000,
      tls: { ...tlsOptions(pki, { trustFile: "/nonexistent.pem" }), implicit: false },
    }),
    rejectsWith(
      "cannot set X509 trust file /nonexistent.pem for TLS session: Error while reading file.",
      66,
    ),
  );
  await pki.remove();
});

Deno.test("unreadable or mismatched client key files are reported with EX_NOINPUT", async () => {
  const pki = await createTestPki();
  const attempt = (certFile: string, keyFile: string) =>
    connect({
      host: "127.0.0.1",
      port: 1,
      timeoutMs: 5000,
      tls: { ...tlsOptions(pki, { certFile, keyFile }), implicit: true },
    });
  await assert.rejects(
    attempt("/nonexistent.pem", pki.client.key),
    rejectsWith(
      `cannot set X509 key file ${pki.client.key} and/or X509 cert file /nonexistent.pem for TLS session: Error while reading file.`,
      66,
    ),
  );
  await assert.rejects(
    attempt(pki.client.cert, pki.server.key),
    rejectsWith(/: The certificate and the given key do not match\.$/, 66),
  );
  await pki.remove();
});

Deno.test("a CRL revokes a serial whatever its number of hex digits", async () => {
  const { parseCrls, isRevoked } = await import("../../../lib/net/crl.ts");
  const dir = await Deno.makeTempDir({ prefix: "postie-crl-" });
  const sh = (script: string) =>
    new Deno.Command("sh", { args: ["-c", script], cwd: dir, stdout: "null", stderr: "null" })
      .output();
  try {
    // serials with an odd number of hex digits (0x4242F) and a leading zero byte's worth
    await sh(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key " +
        "-out ca.pem -days 30 -subj /CN=ca && " +
        "for s in 271407 0x00ff01; do openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 " +
        "-nodes -keyout l$s.key -out l$s.csr -subj /CN=l && openssl x509 -req -in l$s.csr -CA ca.pem " +
        "-CAkey ca.key -set_serial $s -days 30 -out l$s.pem; done && : > index.txt && echo 01 > crlnumber && " +
        "printf '[ca]\\ndefault_ca=t\\n[t]\\ndatabase=index.txt\\ncrlnumber=crlnumber\\ndefault_md=sha256\\ndefault_crl_days=9\\n' > c.cnf && " +
        "for s in 271407 0x00ff01; do openssl ca -config c.cnf -keyfile ca.key -cert ca.pem -revoke l$s.pem; done && " +
        "openssl ca -config c.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem",
    );
    const crls = parseCrls(await Deno.readFile(`${dir}/crl.pem`));
    const ca = await Deno.readTextFile(`${dir}/ca.pem`);
    const { X509Certificate } = await import("node:crypto");
    for (const s of ["271407", "0x00ff01"]) {
      const der = new Uint8Array(
        new X509Certificate(await Deno.readTextFile(`${dir}/l${s}.pem`)).raw,
      );
      assert.equal(isRevoked([der], [ca], crls), true, s);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
