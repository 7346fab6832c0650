import assert from "node:assert/strict";
import { DEFAULT_SETTINGS, type Settings } from "../../../lib/config/account.ts";
import { SmtpConnection } from "../../../lib/delivery/connection.ts";
import { LmtpDeliveryError, SmtpReplyError } from "../../../lib/smtp/errors.ts";
import { listenScriptedPeer, type ScriptedPeer } from "../../support/scripted_peer.ts";

const encoder = new TextEncoder();

function settings(port: number, over: Partial<Settings> = {}): Settings {
  return { ...DEFAULT_SETTINGS, host: "127.0.0.1", port, timeout: 10, ...over };
}

function mail(text = "Subject: hi\n\nhello\n"): ReadableStream<Uint8Array> {
  return ReadableStream.from([encoder.encode(text)]);
}

async function withServer(
  setup: (peer: ScriptedPeer) => void,
  fn: (port: number, peers: ScriptedPeer[]) => Promise<void>,
  capabilities: string[] = ["PIPELINING"],
): Promise<void> {
  const server = listenScriptedPeer({ capabilities }, setup);
  try {
    await fn(server.port, server.peers);
  } finally {
    await server.close();
  }
}

Deno.test("two mails go over one connection with RSET between them", async () => {
  await withServer(() => {}, async (port, peers) => {
    const connection = await SmtpConnection.open(settings(port));
    try {
      const first = await connection.send({ from: "a@x.org", recipients: ["b@y.org"] }, mail());
      await connection.reset();
      const second = await connection.send(
        { from: "a@x.org", recipients: ["c@y.org"] },
        mail("Subject: two\n\n.dot\n"),
      );
      await connection.quit();
      assert.equal(first.reply.code, 250);
      assert.deepEqual(second.accepted, ["c@y.org"]);
      assert.equal(second.mailsize, "Subject: two\n\n.dot\n".length);
    } finally {
      connection.close();
    }
    assert.equal(peers.length, 1);
    assert.deepEqual(peers[0].commands.filter((c) => /^(MAIL|RSET|QUIT)/.test(c)), [
      "MAIL FROM:<a@x.org>",
      "RSET",
      "MAIL FROM:<a@x.org>",
      "QUIT",
    ]);
    assert.match(peers[0].data, /Subject: two\r\n\r\n\.\.dot\r\n$/);
  });
});

Deno.test("without partial, one refused recipient fails the whole mail as in msmtp", async () => {
  await withServer((peer) => peer.on("RCPT", "250 ok", "550 5.1.1 no such user"), async (port) => {
    const connection = await SmtpConnection.open(settings(port));
    try {
      await assert.rejects(
        connection.send({ from: "a@x.org", recipients: ["b@y.org", "bad@y.org"] }, mail()),
        (e: unknown) =>
          e instanceof SmtpReplyError && e.code === 550 && e.stage === "rcpt" &&
          e.message === "recipient address bad@y.org not accepted by the server",
      );
    } finally {
      connection.close();
    }
  });
});

Deno.test("with partial, a recipient refused with 550 among accepted ones is reported, the mail goes to the rest", async () => {
  await withServer(
    (peer) => peer.on("RCPT", "250 ok", "550 5.1.1 <bad@y.org>: no such user", "250 ok"),
    async (port, peers) => {
      const connection = await SmtpConnection.open(settings(port));
      try {
        const result = await connection.send(
          { from: "a@x.org", recipients: ["b@y.org", "bad@y.org", "c@y.org"] },
          mail(),
          { partial: true },
        );
        assert.deepEqual(result.accepted, ["b@y.org", "c@y.org"]);
        assert.equal(result.rejected.length, 1);
        assert.equal(result.rejected[0].address, "bad@y.org");
        assert.equal(result.rejected[0].reply.code, 550);
        assert.equal(result.rejected[0].reply.enhanced, "5.1.1");
        assert.equal(result.reply.code, 250);
      } finally {
        connection.close();
      }
      assert.match(peers[0].data, /hello\r\n$/);
    },
  );
});

Deno.test("with partial, every recipient refused is the first refusal, and no DATA in lock-step", async () => {
  await withServer(
    (peer) => peer.on("RCPT", "450 4.2.0 mailbox busy", "550 5.1.1 no such user"),
    async (port, peers) => {
      const connection = await SmtpConnection.open(settings(port));
      try {
        await assert.rejects(
          connection.send({ from: "a@x.org", recipients: ["b@y.org", "c@y.org"] }, mail(), {
            partial: true,
          }),
          (e: unknown) =>
            e instanceof SmtpReplyError && e.code === 450 && e.stage === "rcpt" &&
            e.message === "recipient address b@y.org not accepted by the server",
        );
      } finally {
        connection.close();
      }
      assert.ok(!peers[0].commands.includes("DATA"), peers[0].commands.join("|"));
    },
    [],
  );
});

Deno.test("with partial and PIPELINING, every recipient refused ends the transaction cleanly", async () => {
  await withServer(
    (peer) =>
      peer.on("RCPT", "550 5.1.1 no", "550 5.1.1 no").on("DATA", "554 5.5.1 no valid recipients"),
    async (port, peers) => {
      const connection = await SmtpConnection.open(settings(port));
      try {
        await assert.rejects(
          connection.send({ from: "a@x.org", recipients: ["b@y.org", "c@y.org"] }, mail(), {
            partial: true,
          }),
          (e: unknown) => e instanceof SmtpReplyError && e.code === 550 && e.stage === "rcpt",
        );
        // the connection is still in step: the next mail goes through
        await connection.reset();
        const ok = await connection.send({ from: "a@x.org", recipients: ["d@y.org"] }, mail());
        assert.deepEqual(ok.accepted, ["d@y.org"]);
      } finally {
        connection.close();
      }
      assert.equal(peers.length, 1);
    },
  );
});

Deno.test("LMTP with partial maps per-recipient refusals after the data to rejected", async () => {
  await withServer(
    (peer) => peer.on(".", ["250 2.0.0 b ok\r\n", "452 4.2.2 c over quota\r\n"]),
    async (port) => {
      const s = settings(port, { protocol: "lmtp" });
      const connection = await SmtpConnection.open(s);
      try {
        const result = await connection.send(
          { from: "a@x.org", recipients: ["b@y.org", "c@y.org"] },
          mail(),
          { partial: true },
        );
        assert.deepEqual(result.accepted, ["b@y.org"]);
        assert.deepEqual(result.rejected.map((r) => [r.address, r.reply.code]), [["c@y.org", 452]]);
      } finally {
        connection.close();
      }
    },
  );
});

Deno.test("LMTP without partial keeps msmtp's error for a recipient refused after the data", async () => {
  await withServer(
    (peer) => peer.on(".", ["250 2.0.0 b ok\r\n", "452 4.2.2 c over quota\r\n"]),
    async (port) => {
      const connection = await SmtpConnection.open(settings(port, { protocol: "lmtp" }));
      try {
        await assert.rejects(
          connection.send({ from: "a@x.org", recipients: ["b@y.org", "c@y.org"] }, mail()),
          (e: unknown) => e instanceof LmtpDeliveryError && e.delivered[0] === "b@y.org",
        );
      } finally {
        connection.close();
      }
    },
  );
});

Deno.test("a server that closed the connection between mails is seen as closed", async () => {
  await withServer(
    (peer) => peer.on("RSET", ["421 4.4.2 idle too long\r\n", null]),
    async (port) => {
      const connection = await SmtpConnection.open(settings(port));
      try {
        await connection.send({ from: "a@x.org", recipients: ["b@y.org"] }, mail());
        assert.equal(connection.closed, false);
        await assert.rejects(connection.reset(), SmtpReplyError);
        assert.equal(connection.closed, true);
      } finally {
        connection.close();
      }
    },
  );
});

Deno.test("an aborted send rejects with the signal's reason and closes the connection", async () => {
  await withServer(() => {}, async (port, peers) => {
    const connection = await SmtpConnection.open(settings(port));
    const controller = new AbortController();
    // the server answers nothing more: the send waits until it is aborted
    peers[0].hold();
    const before = peers[0].writes.length;
    const sending = connection.send({ from: "a@x.org", recipients: ["b@y.org"] }, mail(), {
      signal: controller.signal,
    });
    await peers[0].waitForWrites(before + 1);
    controller.abort();
    await assert.rejects(
      sending,
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    assert.equal(connection.closed, true);
    connection.close();
  });
});

Deno.test("opening aborted while the server keeps silent rejects with the signal's reason at once", async () => {
  const server = listenScriptedPeer({ greeting: undefined });
  try {
    const controller = new AbortController();
    // no greeting at all: the client waits for one until it is aborted
    const opening = SmtpConnection.open(settings(server.port, { timeout: 60 }), {
      signal: controller.signal,
    });
    // bounded wait until the server has the connection, then give up on it
    for (let i = 0; i < 500 && server.peers.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const started = performance.now();
    controller.abort();
    await assert.rejects(
      opening,
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    assert.ok(performance.now() - started < 1000);
  } finally {
    await server.close();
  }
});
