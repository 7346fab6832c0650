/**
 * `--serverinfo` and `--rmqs` compared with Debian's msmtp, byte for byte, against the same
 * servers. The one line that differs by design is the TLS parameter line: Deno's TLS layers
 * do not tell the key exchange group or the signature algorithm, so postie prints fewer
 * fields there.
 */

import assert from "node:assert/strict";
import { startCaptureServer } from "../../scripts/capture_server.ts";
import {
  haveMsmtp,
  runMsmtp,
  runPostie,
  type RunResult,
  withoutDocumentedDifferences,
} from "../support/differential.ts";
import { createTestPki } from "../support/pki.ts";
import { startTestServer } from "../support/tls_server.ts";
import { postfixUnavailable, startPostfix } from "../support/postfix.ts";

const ignore = !haveMsmtp();

/** Blanks the value of the `TLS session parameters:` line. */
function normalise(result: RunResult): RunResult {
  const blank = (text: string) =>
    text.replace(/(TLS session parameters:\n {4})\S.*\n/, "$1<params>\n");
  return { ...result, stdout: blank(result.stdout), stderr: blank(result.stderr) };
}

async function both(args: string[]): Promise<[RunResult, RunResult]> {
  const [m, p] = await Promise.all([runMsmtp(args), runPostie(args)]);
  return [normalise(m), normalise(withoutDocumentedDifferences(p))];
}

Deno.test({
  name: "--serverinfo prints greeting and capabilities as msmtp does",
  ignore,
  async fn(t) {
    const cases = [
      { name: "full ESMTP server", options: {} },
      { name: "server without extensions", options: { minimal: true } },
      {
        name: "odd capability lines (AUTH=, SIZE without value, unknown methods)",
        options: { capabilities: ["SIZE", "AUTH=LOGIN", "AUTH PLAIN FOO XOAUTH2", "STARTTLS"] },
      },
      { name: "size in KiB", options: { capabilities: ["SIZE 2048", "PIPELINING"] } },
      { name: "unlimited size", options: { capabilities: ["SIZE 0"] } },
      { name: "size in MiB", options: { capabilities: ["SIZE 5000000000", "DSN", "ETRN"] } },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const server = startCaptureServer(c.options);
        try {
          for (const host of ["127.0.0.1", "localhost"]) {
            const [m, p] = await both([`--host=${host}`, `--port=${server.port}`, "-S"]);
            assert.deepEqual(p, m);
            assert.equal(p.code, 0);
          }
        } finally {
          await server.close();
        }
      });
    }
  },
});

Deno.test({
  name: "--serverinfo names an LMTP server as msmtp does",
  ignore,
  async fn() {
    const server = startCaptureServer({ lmtp: true });
    try {
      const [m, p] = await both([
        "--host=127.0.0.1",
        `--port=${server.port}`,
        "--protocol=lmtp",
        "--serverinfo",
      ]);
      assert.deepEqual(p, m);
      assert.match(p.stdout, /^LMTP server at /);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "--serverinfo shows the certificate of an implicit-TLS server and refuses bad ones",
  ignore,
  async fn(t) {
    const pki = await createTestPki();
    const implicit = await startTestServer({
      cert: pki.server.cert,
      key: pki.server.key,
      implicit: true,
    });
    const tlsArgs = ["--host=localhost", `--port=${implicit.port}`, "--tls", "--tls-starttls=off"];
    try {
      for (
        const [name, extra, code] of [
          ["with the CA as trust file", [`--tls-trust-file=${pki.ca.cert}`], 0],
          ["without certificate checks", ["--tls-certcheck=off"], 0],
          ["with a wrong fingerprint", [`--tls-fingerprint=${"00:".repeat(31)}00`], 69],
          ["with a CA that did not sign it", [`--tls-trust-file=${pki.otherCa.cert}`], 69],
        ] as const
      ) {
        await t.step(name, async () => {
          const [m, p] = await both([...tlsArgs, ...extra, "-S"]);
          assert.deepEqual(p, m);
          assert.equal(p.code, code);
          if (code === 0) assert.match(p.stdout, /Subject:\n {8}C=DE,O=Test Org,CN=localhost/);
        });
      }
    } finally {
      await implicit.close();
      await pki.remove();
    }
  },
});

Deno.test({
  name: "--serverinfo after STARTTLS with real Postfix matches msmtp",
  ignore: ignore || postfixUnavailable() !== undefined,
  async fn() {
    const postfix = await startPostfix({ tls: true });
    try {
      const [m, p] = await both([
        `--host=${postfix.host}`,
        `--port=${postfix.port}`,
        "--tls",
        `--tls-trust-file=${postfix.caFile}`,
        "-S",
      ]);
      assert.deepEqual(p, m);
      assert.match(p.stdout, /TLS certificate information:/);
      assert.match(p.stdout, / {4}STARTTLS:\n/);
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "--rmqs sends ETRN and reports refusals as msmtp does",
  ignore,
  async fn(t) {
    const server = startCaptureServer({});
    const minimal = startCaptureServer({ minimal: true });
    try {
      for (
        const [name, port, arg] of [
          ["accepted", server.port, "@example.com"],
          ["refused with 459", server.port, "@bad.example"],
          ["server without ETRN", minimal.port, "host.example"],
        ] as const
      ) {
        await t.step(name, async () => {
          const [m, p] = await both(["--host=127.0.0.1", `--port=${port}`, `--rmqs=${arg}`]);
          assert.deepEqual(p, m);
        });
      }
      await t.step("the ETRN command reaches the server", () => {
        assert.ok(server.sessions.some((s) => s.transcript.includes("C: ETRN @example.com")));
      });
    } finally {
      await server.close();
      await minimal.close();
    }
  },
});

Deno.test({
  name: "--serverinfo against a closed port fails as msmtp does",
  ignore,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const [m, p] = await both(["--host=127.0.0.1", `--port=${port}`, "-S"]);
    assert.deepEqual(p, m);
    assert.equal(p.code, 75);
  },
});
