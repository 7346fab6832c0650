/**
 * One delivery attempt against a scripted server: the TLS fallback rules of opportunistic
 * STARTTLS and of the policies that forbid it.
 */

import assert from "node:assert/strict";
import { attemptHop, type HopRequest, type TlsPolicy } from "../../../lib/direct/hop.ts";
import { startFaultServer } from "../../support/fault_server.ts";

function request(port: number, policy: TlsPolicy, notes: string[]): HopRequest {
  return {
    address: "127.0.0.1",
    host: "mx.example.test",
    port,
    domain: "client.test",
    from: "a@client.test",
    recipients: ["b@example.test", "c@example.test"],
    openData: () => ReadableStream.from([new TextEncoder().encode("Subject: x\r\n\r\nhi\r\n")]),
    policy,
    timeoutMs: 5000,
    note: (n) => notes.push(n),
  };
}

const BROKEN_TLS = { starttls: ["220 go ahead", "read", "this is not TLS", "drop"] };

Deno.test("a failed STARTTLS handshake falls back to plain text when no policy applies", async () => {
  const server = await startFaultServer({ advertiseStartTls: true, faults: BROKEN_TLS });
  try {
    const notes: string[] = [];
    const result = await attemptHop(request(server.port, { kind: "opportunistic" }, notes));
    assert.equal(result.kind, "transaction");
    assert.ok(result.kind === "transaction");
    assert.equal(result.tls, false);
    assert.deepEqual(result.recipients.map((r) => [r.recipient, r.status]), [
      ["b@example.test", "delivered"],
      ["c@example.test", "delivered"],
    ]);
    assert.equal(server.sessions.length, 2, "a second, plain connection");
    assert.ok(server.sessions[0].lines.includes("STARTTLS"));
    assert.ok(!server.sessions[1].lines.includes("STARTTLS"));
    assert.equal(server.sessions[1].delivered, true);
    assert.match(
      notes[0],
      /^mx\.example\.test \[127\.0\.0\.1\]: TLS handshake failed: .*; sending without TLS$/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("under MTA-STS enforce or DANE a failed handshake is never followed by plain text", async () => {
  const policies: [string, TlsPolicy][] = [
    ["enforce", { kind: "verify", trustFile: "system", testing: false, source: "MTA-STS enforce" }],
    ["dane", { kind: "dane", check: () => Promise.resolve(undefined) }],
  ];
  for (const [name, policy] of policies) {
    const server = await startFaultServer({ advertiseStartTls: true, faults: BROKEN_TLS });
    try {
      const result = await attemptHop(request(server.port, policy, []));
      assert.equal(result.kind, "unreachable", name);
      assert.ok(result.kind === "unreachable");
      assert.match(result.message, /^TLS handshake failed: /, name);
      assert.equal(server.sessions.length, 1, `${name}: no second connection`);
      assert.ok(server.sessions.every((s) => !s.delivered));
    } finally {
      await server.close();
    }
  }
});

Deno.test("a host without STARTTLS gets plain text, except where a policy requires TLS", async () => {
  const server = await startFaultServer({ advertiseStartTls: false });
  try {
    const plain = await attemptHop(request(server.port, { kind: "opportunistic" }, []));
    assert.ok(plain.kind === "transaction" && !plain.tls);
    const enforced = await attemptHop(
      request(server.port, {
        kind: "verify",
        trustFile: "system",
        testing: false,
        source: "MTA-STS enforce",
      }, []),
    );
    assert.deepEqual(enforced, {
      kind: "unreachable",
      message: "mx.example.test does not offer STARTTLS, which MTA-STS enforce requires",
    });
    assert.equal(server.sessions.filter((s) => s.delivered).length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("a 4xx greeting makes the host unreachable; refused recipients are reported one by one", async () => {
  const busy = await startFaultServer({ faults: { greeting: "421 4.3.2 busy, try later" } });
  try {
    const result = await attemptHop(request(busy.port, { kind: "opportunistic" }, []));
    assert.equal(result.kind, "unreachable");
    assert.ok(result.kind === "unreachable");
    assert.equal(result.reply?.code, 421);
  } finally {
    await busy.close();
  }
  const picky = await startFaultServer({ faults: { rcpt: "550 5.1.1 no such user" } });
  try {
    const result = await attemptHop(request(picky.port, { kind: "opportunistic" }, []));
    assert.ok(result.kind === "transaction");
    assert.deepEqual(
      result.recipients.map((r) => [r.recipient, r.status, r.reply?.code, r.exitCode]),
      [
        ["b@example.test", "permanent", 550, 65],
        ["c@example.test", "permanent", 550, 65],
      ],
    );
    assert.equal(picky.sessions.filter((s) => s.delivered).length, 0);
  } finally {
    await picky.close();
  }
});

Deno.test("source_ip is the address the connection comes from", async () => {
  const server = await startFaultServer();
  try {
    const notes: string[] = [];
    const ok = await attemptHop({
      ...request(server.port, { kind: "opportunistic" }, notes),
      sourceIp: "127.0.0.1",
    });
    assert.equal(ok.kind, "transaction");
    // an address this host does not have cannot be bound: the attempt fails before connecting
    const bad = await attemptHop({
      ...request(server.port, { kind: "opportunistic" }, notes),
      sourceIp: "192.0.2.1",
    });
    assert.ok(bad.kind === "unreachable");
    assert.match(bad.message, /192\.0\.2\.1/);
    assert.equal(server.sessions.length, 1);
  } finally {
    await server.close();
  }
});
