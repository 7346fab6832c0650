import assert from "node:assert/strict";
import { connect } from "../../../lib/net/connect.ts";
import { PostieError } from "../../../lib/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function rejectsWith(message: string | RegExp, exitCode: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof PostieError, `not a PostieError: ${e}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.exitCode, exitCode);
    return true;
  };
}

/**
 * An address and port nothing listens on: bound, then released. On a loopback address of its
 * own (127.0.0.1 is where every other test listens, and the suite runs files in parallel, so a
 * port released there can be taken again before the connection is tried).
 */
function freePort(): { host: string; port: number } {
  const host = `127.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.${
    1 + Math.floor(Math.random() * 250)
  }`;
  const listener = Deno.listen({ hostname: host, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return { host, port };
}

/** A server that greets once per connection and echoes one line back. */
function greeter(): { port: number; done: Promise<void>; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const conn of listener) {
      await conn.write(encoder.encode("220 hello\r\n"));
      const buffer = new Uint8Array(100);
      const n = await conn.read(buffer);
      if (n) await conn.write(buffer.subarray(0, n));
      conn.close();
    }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done, close: () => listener.close() };
}

Deno.test("a refused connection gives msmtp's message and EX_TEMPFAIL", async () => {
  const { host, port } = freePort();
  await assert.rejects(
    connect({ host, port, timeoutMs: 5000 }),
    rejectsWith(`cannot connect to ${host}, port ${port}: Connection refused`, 75),
  );
});

Deno.test("an unknown host gives cannot locate host: EX_NOHOST, or EX_TEMPFAIL when DNS is slow", async () => {
  // Which of the two depends on whether this machine's name server answers in time.
  await assert.rejects(
    connect({ host: "nonexistent.invalid", port: 25, timeoutMs: 5000 }),
    (e: unknown) =>
      e instanceof PostieError &&
      ((e.exitCode === 68 &&
        e.message === "cannot locate host nonexistent.invalid: Name or service not known") ||
        (e.exitCode === 75 &&
          e.message ===
            "cannot locate host nonexistent.invalid: Temporary failure in name resolution")),
  );
});

Deno.test("a silent server makes the read time out with EX_IOERR within the timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const transport = await connect({
    host: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    timeoutMs: 300,
  });
  const start = performance.now();
  await assert.rejects(
    transport.read(),
    rejectsWith("network read error: the operation timed out", 74),
  );
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 250 && elapsed < 2000, `took ${elapsed} ms`);
  transport.close();
  (await accepted).close();
  listener.close();
});

Deno.test("reads and writes pass bytes through and end with null when the server closes", async () => {
  const server = greeter();
  const transport = await connect({ host: "localhost", port: server.port, timeoutMs: 5000 });
  assert.equal(decoder.decode((await transport.read())!), "220 hello\r\n");
  await transport.write(encoder.encode("EHLO x\r\n"));
  assert.equal(decoder.decode((await transport.read())!), "EHLO x\r\n");
  assert.equal(await transport.read(), null);
  assert.equal(transport.tls, false);
  transport.close();
  transport.close();
  server.close();
  await server.done;
});

Deno.test("source_ip binds the local address of the connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const transport = await connect({
    host: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    sourceIp: "127.0.0.2",
    timeoutMs: 5000,
  });
  const conn = await accepted;
  assert.equal((conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.2");
  await conn.write(encoder.encode("220 hi\r\n"));
  assert.equal(decoder.decode((await transport.read())!), "220 hi\r\n");
  conn.close();
  transport.close();
  listener.close();
});

Deno.test("an invalid source_ip is reported as msmtp does, with EX_OSERR", async () => {
  await assert.rejects(
    connect({ host: "127.0.0.1", port: 25, sourceIp: "bogus", timeoutMs: 5000 }),
    rejectsWith("cannot bind source ip bogus: Invalid argument", 71),
  );
});

Deno.test("a unix socket connection carries bytes both ways", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtp.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.write(encoder.encode("220 unix\r\n"));
    conn.close();
  })();
  const transport = await connect({ host: "", port: 0, socket: path, timeoutMs: 5000 });
  assert.equal(decoder.decode((await transport.read())!), "220 unix\r\n");
  transport.close();
  await served;
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing unix socket gives cannot connect to PATH with EX_TEMPFAIL", async () => {
  await assert.rejects(
    connect({ host: "", port: 0, socket: "/nonexistent/postie.sock", timeoutMs: 5000 }),
    rejectsWith("cannot connect to /nonexistent/postie.sock: No such file or directory", 75),
  );
});

/** A one-connection SOCKS5 proxy that records the request and relays to `target`. */
function socksProxy(target: number, reply = 0x00): {
  port: number;
  requested: Promise<{ host: string; port: number }>;
  done: Promise<void>;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let resolveRequest!: (r: { host: string; port: number }) => void;
  const requested = new Promise<{ host: string; port: number }>((r) => resolveRequest = r);
  const done = (async () => {
    const client = await listener.accept();
    listener.close();
    const buffer = new Uint8Array(600);
    await client.read(buffer); // greeting: 05 01 00
    await client.write(Uint8Array.of(0x05, 0x00));
    const n = (await client.read(buffer))!;
    const length = buffer[4];
    const host = decoder.decode(buffer.subarray(5, 5 + length));
    const port = buffer[5 + length] * 256 + buffer[6 + length];
    assert.equal(n, 7 + length);
    assert.equal(buffer[3], 0x03, "the target goes by domain name");
    resolveRequest({ host, port });
    if (reply !== 0) {
      await client.write(Uint8Array.of(0x05, reply, 0x00, 0x01, 0, 0, 0, 0, 0, 0));
      client.close();
      return;
    }
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
    // Reply and the first relayed bytes in one packet: the client must keep the latter.
    const greeting = new Uint8Array(100);
    const g = (await upstream.read(greeting))!;
    const first = new Uint8Array(10 + g);
    first.set([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 25]);
    first.set(greeting.subarray(0, g), 10);
    await client.write(first);
    await Promise.all([
      client.readable.pipeTo(upstream.writable).catch(() => {}),
      upstream.readable.pipeTo(client.writable).catch(() => {}),
    ]);
  })();
  return { port: (listener.addr as Deno.NetAddr).port, requested, done };
}

Deno.test("SOCKS5 asks the proxy for the host by name and relays the session", async () => {
  const server = greeter();
  const proxy = socksProxy(server.port);
  const transport = await connect({
    host: "mail.example.org",
    port: 587,
    proxyHost: "127.0.0.1",
    proxyPort: proxy.port,
    timeoutMs: 5000,
  });
  assert.deepEqual(await proxy.requested, { host: "mail.example.org", port: 587 });
  assert.equal(decoder.decode((await transport.read())!), "220 hello\r\n");
  await transport.write(encoder.encode("NOOP\r\n"));
  assert.equal(decoder.decode((await transport.read())!), "NOOP\r\n");
  transport.close();
  await proxy.done;
  server.close();
  await server.done;
});

Deno.test("a SOCKS5 refusal gives proxy failure with EX_UNAVAILABLE", async () => {
  const proxy = socksProxy(0, 0x05);
  await assert.rejects(
    connect({
      host: "mail.example.org",
      port: 25,
      proxyHost: "127.0.0.1",
      proxyPort: proxy.port,
      timeoutMs: 5000,
    }),
    rejectsWith("proxy failure: connection refused", 69),
  );
  await proxy.done;
});

Deno.test("an unreachable proxy is reported as a connect failure to the proxy", async () => {
  const { host, port } = freePort();
  await assert.rejects(
    connect({
      host: "mail.example.org",
      port: 25,
      proxyHost: host,
      proxyPort: port,
      timeoutMs: 5000,
    }),
    rejectsWith(`cannot connect to ${host}, port ${port}: Connection refused`, 75),
  );
});
