import assert from "node:assert/strict";
import {
  ConfigError,
  createTransport,
  loadAccount,
  NetworkError,
  PostieError,
  SmtpAuthError,
  SmtpReplyError,
  UsageError,
} from "../../lib/mod.ts";
import { listenScriptedPeer, type ScriptedPeer } from "../support/scripted_peer.ts";

type Setup = (peer: ScriptedPeer, index: number) => void;

/** A scripted server on 127.0.0.1; `setup` scripts each connection (numbered from 0). */
async function withServer(
  setup: Setup,
  fn: (port: number, peers: ScriptedPeer[]) => Promise<void>,
  capabilities: string[] = ["PIPELINING", "AUTH PLAIN"],
): Promise<void> {
  let count = 0;
  const server = listenScriptedPeer({ capabilities }, (peer) => setup(peer, count++));
  try {
    await fn(server.port, server.peers);
  } finally {
    await server.close();
  }
}

const RAW = "Subject: hello\n\nbody\n";

function mails(peer: ScriptedPeer): number {
  return peer.commands.filter((c) => c.startsWith("MAIL FROM")).length;
}

Deno.test("two mails over one transport share one connection, with RSET between them", async () => {
  await withServer(() => {}, async (port, peers) => {
    const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
    try {
      const one = await transport.sendMail({ envelope: { to: ["a@y.org"] }, raw: RAW });
      const two = await transport.sendMail({ envelope: { to: "b@y.org" }, raw: RAW });
      assert.deepEqual(one.accepted, ["a@y.org"]);
      assert.deepEqual(two.envelope, { from: "ci@x.org", to: ["b@y.org"] });
      assert.equal(two.response, "250 2.0.0 Ok: queued as ABC123");
      assert.match(one.messageId ?? "", /^<[0-9a-f]{32}\.ci@x\.org>$/);
      assert.notEqual(one.messageId, two.messageId);
    } finally {
      await transport.close();
    }
    assert.equal(peers.length, 1);
    assert.deepEqual(peers[0].commands.filter((c) => /^(MAIL|RSET|QUIT)/.test(c)), [
      "MAIL FROM:<ci@x.org>",
      "RSET",
      "MAIL FROM:<ci@x.org>",
      "QUIT",
    ]);
  });
});

Deno.test("a recipient refused with 550 among accepted ones is listed in rejected, not an error", async () => {
  await withServer(
    (peer) => peer.on("RCPT", "250 2.1.5 ok", "550 5.1.1 <gone@y.org>: no such user", "250 ok"),
    async (port, peers) => {
      const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
      try {
        const info = await transport.sendMail({
          envelope: { to: ["a@y.org", "gone@y.org", "c@y.org"] },
          raw: RAW,
        });
        assert.deepEqual(info.accepted, ["a@y.org", "c@y.org"]);
        assert.deepEqual(info.rejected, [{
          address: "gone@y.org",
          code: 550,
          enhancedCode: "5.1.1",
          text: "5.1.1 <gone@y.org>: no such user",
          temporary: false,
        }]);
      } finally {
        await transport.close();
      }
      assert.equal(mails(peers[0]), 1);
      assert.match(peers[0].data, /\r\nbody\r\n$/);
    },
  );
});

Deno.test("a mail every recipient refused rejects with the first refusal", async () => {
  await withServer(
    (peer) =>
      peer.on("RCPT", "450 4.2.1 try later", "550 5.1.1 no").on("DATA", "554 5.5.1 no recipients"),
    async (port) => {
      const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
      try {
        await assert.rejects(
          transport.sendMail({ envelope: { to: ["a@y.org", "b@y.org"] }, raw: RAW }),
          (e: unknown) =>
            e instanceof SmtpReplyError && e.code === 450 && e.enhancedCode === "4.2.1" &&
            e.stage === "rcpt" && e.exitCode === 69,
        );
      } finally {
        await transport.close();
      }
    },
  );
});

Deno.test("a server that closes between mails gets a new connection, and the mail is delivered once", async () => {
  // The first connection is dropped when the client says RSET before the second mail.
  await withServer((peer, index) => {
    if (index === 0) peer.on("RSET", null);
  }, async (port, peers) => {
    const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
    try {
      await transport.sendMail({ envelope: { to: ["a@y.org"] }, raw: "Subject: one\n\n1\n" });
      const info = await transport.sendMail({
        envelope: { to: ["b@y.org"] },
        raw: "Subject: two\n\n2\n",
      });
      assert.deepEqual(info.accepted, ["b@y.org"]);
    } finally {
      await transport.close();
    }
    assert.equal(peers.length, 2);
    assert.equal(mails(peers[0]), 1);
    assert.equal(mails(peers[1]), 1);
    assert.match(peers[0].data, /Subject: one/);
    assert.match(peers[1].data, /Subject: two/);
  });
});

Deno.test("a server that said 421 and left between mails gets a new connection", async () => {
  await withServer((peer, index) => {
    if (index === 0) peer.on("RSET", ["421 4.4.2 idle timeout\r\n", null]);
  }, async (port, peers) => {
    const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
    try {
      await transport.sendMail({ envelope: { to: ["a@y.org"] }, raw: RAW });
      await transport.sendMail({ envelope: { to: ["b@y.org"] }, raw: RAW });
    } finally {
      await transport.close();
    }
    assert.equal(peers.length, 2);
    assert.equal(mails(peers[0]) + mails(peers[1]), 2);
  });
});

Deno.test("an aborted send rejects with AbortError, closes the connection and reports nothing sent", async () => {
  await withServer(() => {}, async (port, peers) => {
    const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
    try {
      const controller = new AbortController();
      // A body that never ends: the send is under way until it is aborted. The first pull
      // is the header block; the second comes once the data is being sent.
      let pulls = 0;
      let pulled!: () => void;
      const started = new Promise<void>((resolve) => (pulled = resolve));
      const endless = new ReadableStream<Uint8Array>({
        pull(c) {
          c.enqueue(new TextEncoder().encode(pulls === 0 ? "Subject: endless\n\n" : "line\n"));
          if (++pulls === 2) pulled();
          if (pulls >= 2) return new Promise(() => {});
        },
      });
      const sending = transport.sendMail({ envelope: { to: ["a@y.org"] }, raw: endless }, {
        signal: controller.signal,
      });
      await started;
      // bounded wait until the server has seen DATA (the data phase is under way)
      for (let i = 0; i < 500 && !peers[0]?.commands.includes("DATA"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(peers[0]?.commands.includes("DATA"), "the server never saw DATA");
      controller.abort();
      await assert.rejects(
        sending,
        (e: unknown) => e instanceof DOMException && e.name === "AbortError",
      );
      // the server never saw the end of the data, so nothing was delivered
      assert.ok(!peers[0].commands.includes("."), peers[0].commands.join("|"));
      // the transport is still usable: the next mail takes a new connection
      const info = await transport.sendMail({ envelope: { to: ["b@y.org"] }, raw: RAW });
      assert.deepEqual(info.accepted, ["b@y.org"]);
    } finally {
      await transport.close();
    }
    // the aborted connection was not reused
    assert.equal(peers.length, 2);
    assert.ok(!peers[0].commands.includes("RSET"));
  });
});

Deno.test("a signal aborted before the call rejects at once and connects nowhere", async () => {
  await withServer(() => {}, async (port, peers) => {
    const transport = await createTransport({ host: "127.0.0.1", port, from: "ci@x.org" });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      transport.sendMail({ envelope: { to: ["a@y.org"] }, raw: RAW }, {
        signal: controller.signal,
      }),
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    await transport.close();
    assert.equal(peers.length, 0);
  });
});

Deno.test("verify() resolves true against a good server and rejects typed errors otherwise", async () => {
  await withServer((peer, index) => {
    if (index === 1) peer.on("AUTH", "535 5.7.8 Authentication credentials invalid");
  }, async (port, peers) => {
    const options = {
      host: "127.0.0.1",
      port,
      auth: { user: "joe", pass: "secret", method: "PLAIN" },
    };
    assert.equal(await (await createTransport(options)).verify(), true);
    await assert.rejects(
      (await createTransport(options)).verify(),
      (e: unknown) => e instanceof SmtpAuthError && e.code === 535 && e.exitCode === 77,
    );
    assert.equal(peers.length, 2);
    assert.ok(peers[0].commands.includes("QUIT"));
    // the password never shows in an error message
    assert.ok(!peers[0].commands.includes("secret"));
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    (await createTransport({ host: "127.0.0.1", port })).verify(),
    (e: unknown) => e instanceof NetworkError && e.exitCode > 0,
  );
});

Deno.test("a mail without recipients and a transport without host are refused clearly", async () => {
  const transport = await createTransport({ streamTransport: true, from: "a@x.org" });
  await assert.rejects(
    transport.sendMail({ raw: "Subject: nobody\n\n" }),
    (e: unknown) => e instanceof UsageError && e.message === "no recipients found",
  );
  await assert.rejects(createTransport({ port: 25 }), ConfigError);
  await assert.rejects(
    createTransport({ host: "h", port: -1 }),
    (e: unknown) => e instanceof UsageError && e.message === "invalid argument -1 for port",
  );
  const noFrom = await createTransport({ streamTransport: true });
  await assert.rejects(
    noFrom.sendMail({ envelope: { to: ["a@y.org"] }, raw: RAW }),
    (e: unknown) => e instanceof ConfigError && /envelope-from address is missing/.test(e.message),
  );
});

Deno.test("a raw mail gets the command line's header rules: Date and Message-ID added, Bcc removed", async () => {
  const transport = await createTransport({ streamTransport: true, from: "a@x.org" });
  const info = await transport.sendMail({
    raw: "To: b@y.org\r\nBcc: secret@y.org\r\nMessage-ID: <given@x.org>\r\n\r\nhi\r\n",
  });
  const text = new TextDecoder().decode(info.message);
  assert.deepEqual(info.accepted, ["b@y.org", "secret@y.org"]);
  assert.equal(info.messageId, "<given@x.org>");
  assert.match(
    text,
    /^From: a@x\.org\r\nDate: .+\r\nTo: b@y\.org\r\nMessage-ID: <given@x\.org>\r\n/,
  );
  assert.ok(!text.includes("secret@"));
  const off = await createTransport({
    streamTransport: true,
    from: "a@x.org",
    settings: { set_from_header: "off", set_date_header: "off", set_msgid_header: "off" },
  });
  const same = await off.sendMail({ envelope: { to: "b@y.org" }, raw: "Subject: s\n\nx\n" });
  assert.equal(new TextDecoder().decode(same.message), "Subject: s\r\n\r\nx\r\n");
  assert.equal(same.messageId, undefined);
});

Deno.test("envelope.from replaces the account's from, as -f does", async () => {
  const transport = await createTransport({ streamTransport: true, from: "a@x.org" });
  const info = await transport.sendMail({
    envelope: { from: "<>", to: ["b@y.org"] },
    raw: "From: a@x.org\n\nbounce\n",
  });
  assert.equal(info.envelope.from, "");
});

Deno.test("a composed mail is built by the transport, Bcc in the envelope only", async () => {
  const transport = await createTransport({ streamTransport: true, from: "a@x.org" });
  const info = await transport.sendMail({
    to: "b@y.org",
    bcc: "c@y.org",
    subject: "s",
    text: "t",
  });
  assert.deepEqual(info.envelope, { from: "a@x.org", to: ["b@y.org", "c@y.org"] });
  const text = new TextDecoder().decode(info.message);
  assert.match(text, /^From: a@x\.org\r$/m);
  assert.ok(text.includes(`Message-ID: ${info.messageId}\r\n`));
  assert.ok(!text.includes("c@y.org"));
});

async function privateFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o600);
}

Deno.test("loadAccount with env given reads that environment and never the process's", async () => {
  const dir = await Deno.makeTempDir();
  const saved = ["SMTPSERVER", "EMAIL", "POSTIE_TEST_SECRET"].map((n) => [n, Deno.env.get(n)]);
  try {
    // The process environment would make an account out of nothing (msmtp's last resort).
    Deno.env.set("SMTPSERVER", "process.example");
    Deno.env.set("EMAIL", "process@example.org");
    Deno.env.set("POSTIE_TEST_SECRET", "process-secret");
    const none = { HOME: `${dir}/nohome`, POSTIE_SYSCONFDIR: `${dir}/noetc` };
    await assert.rejects(loadAccount({ env: none }), ConfigError);
    const viaEnv = await loadAccount({
      env: { ...none, SMTPSERVER: "given.example", EMAIL: "given@example.org" },
    });
    assert.equal(viaEnv.host, "given.example");
    assert.equal(viaEnv.from, "given@example.org");

    await withServer(() => {}, async (port, peers) => {
      await privateFile(
        `${dir}/.msmtprc`,
        `account default\nhost 127.0.0.1\nport ${port}\nfrom me@x.org\nauth plain\n` +
          `user joe\npasswordeval echo "$POSTIE_TEST_SECRET"\n`,
      );
      const account = await loadAccount({
        env: { HOME: dir, POSTIE_SYSCONFDIR: `${dir}/noetc`, POSTIE_TEST_SECRET: "given-secret" },
      });
      assert.equal(account.file, `${dir}/.msmtprc`);
      assert.ok(!JSON.stringify(account).includes("secret"));
      const transport = await createTransport(account);
      await transport.sendMail({ envelope: { to: ["b@y.org"] }, raw: RAW });
      await transport.close();
      const auth = peers[0].commands.find((c) => c.startsWith("AUTH PLAIN "))!;
      assert.equal(atob(auth.slice("AUTH PLAIN ".length)), "\0joe\0given-secret");
    });
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name!);
      else Deno.env.set(name!, value);
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadAccount reads a TOML configuration", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await privateFile(
      `${dir}/postie.toml`,
      '[accounts.work]\nhost = "smtp.example.org"\nport = 587\nfrom = "me@example.org"\n',
    );
    const account = await loadAccount({
      account: "work",
      configFile: `${dir}/postie.toml`,
      env: { HOME: dir, POSTIE_SYSCONFDIR: dir },
    });
    assert.deepEqual([account.name, account.host, account.port], ["work", "smtp.example.org", 587]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a direct account delivers through the transport, a recipient not delivered is in rejected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/spool`);
    await Deno.writeTextFile(`${dir}/aliases`, "");
    await privateFile(
      `${dir}/rc`,
      `account default\ndirect on\nfrom cron@host.lan\nmail_spool ${dir}/spool\n` +
        `local_aliases ${dir}/aliases\n`,
    );
    const transport = await createTransport(
      await loadAccount({ configFile: `${dir}/rc`, env: { HOME: dir } }),
    );
    const info = await transport.sendMail({
      envelope: { to: ["root", "nosuchuser"] },
      raw: "Subject: direct\n\nhello\n",
    });
    await transport.close();
    assert.deepEqual(info.accepted, ["root"]);
    assert.deepEqual(info.rejected, [{
      address: "nosuchuser",
      code: 0,
      enhancedCode: undefined,
      text: "unknown local user nosuchuser",
      temporary: false,
    }]);
    assert.match(await Deno.readTextFile(`${dir}/spool/root`), /\nSubject: direct\n/);
    await assert.rejects(
      transport.sendMail({ envelope: { to: ["nosuchuser"] }, raw: RAW }),
      (e: unknown) => e instanceof PostieError && e.exitCode === 67,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
