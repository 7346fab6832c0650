/**
 * Composed mails through the library's transport (`createTransport().sendMail({ subject,
 * text, attachments, … })`), end to end: into a real Postfix and read back from its mailbox,
 * and over one reused connection to a scripted server. Python's `email` package reads them.
 */

import assert from "node:assert/strict";
import { createTransport, loadAccount, PostieError } from "../../lib/mod.ts";
import { startFaultServer } from "../support/fault_server.ts";
import { listenScriptedPeer } from "../support/scripted_peer.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";
import { parseWithPython, pythonUnavailable } from "../support/python_email.ts";

const CI = Deno.env.get("CI") === "true";
const noPython = pythonUnavailable() !== undefined && !CI;
const noPostfix = (postfixUnavailable() ?? pythonUnavailable()) !== undefined && !CI;

function bytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i < 256 ? i : i * 131 + (i >> 7)) % 256;
  return out;
}

Deno.test({
  name: "transport.sendMail delivers a composed mail with attachments into Postfix, Bcc unseen",
  ignore: noPostfix,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const dir = await Deno.makeTempDir({ prefix: "postie_transport_compose_" });
    const transport = await createTransport({ host: "127.0.0.1", port: postfix.port });
    try {
      const data = bytes(150_000);
      await Deno.writeFile(`${dir}/données brutes.bin`, data);
      const info = await transport.sendMail({
        from: { name: "Zoë Build", address: "ci@example.org" },
        to: ["Dev Team <dev@postie.test>"],
        cc: "ops@postie.test",
        bcc: "audit@postie.test",
        replyTo: "noreply@example.org",
        subject: "Build #7 — réussi ✓",
        text: "All green.\n",
        html: "<p>All <b>green</b>.</p>",
        attachments: [
          { path: `${dir}/données brutes.bin` },
          { filename: "résumé.json", content: '{"ok":true}', contentType: "application/json" },
        ],
        headers: { "X-Build": "7" },
      });
      assert.deepEqual(info.envelope, {
        from: "ci@example.org",
        to: ["dev@postie.test", "ops@postie.test", "audit@postie.test"],
      });
      assert.deepEqual(info.accepted, ["dev@postie.test", "ops@postie.test", "audit@postie.test"]);
      assert.deepEqual(info.rejected, []);
      assert.match(info.messageId ?? "", /^<[0-9a-f]{32}\.ci@example\.org>$/);

      for (const rcpt of ["dev@postie.test", "ops@postie.test", "audit@postie.test"]) {
        const [delivered] = await postfix.mailbox(rcpt);
        assert.match(delivered, /^Return-Path: <ci@example\.org>/);
        const raw = stripTraceHeaders(delivered);
        assert.ok(!raw.includes("audit@"), `Bcc shows in ${rcpt}'s copy`);
        const mail = await parseWithPython(raw);
        assert.deepEqual(mail.defects, []);
        assert.equal(mail.headers["message-id"], info.messageId);
        assert.equal(mail.headers.subject, "Build #7 — réussi ✓");
        assert.equal(mail.headers["x-build"], "7");
        assert.deepEqual(mail.addresses.from, [{ name: "Zoë Build", address: "ci@example.org" }]);
        assert.deepEqual(mail.addresses.to, [{ name: "Dev Team", address: "dev@postie.test" }]);
        assert.equal(
          mail.structure,
          "multipart/mixed(multipart/alternative(text/plain,text/html)," +
            "application/octet-stream,application/json)",
        );
        assert.equal(mail.parts[2].filename, "données brutes.bin");
        assert.deepEqual(mail.parts[2].bytes, data);
        assert.equal(mail.parts[3].filename, "résumé.json");
        assert.equal(new TextDecoder().decode(mail.parts[3].bytes), '{"ok":true}');
      }
    } finally {
      await transport.close();
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("composed and raw mails share one connection, with RSET between them", async () => {
  const server = listenScriptedPeer({ capabilities: ["PIPELINING"] });
  const transport = await createTransport({
    host: "127.0.0.1",
    port: server.port,
    from: "robot@example.org",
  });
  try {
    const first = await transport.sendMail({ to: "a@example.org", subject: "one", text: "1\n" });
    const second = await transport.sendMail({
      to: "b@example.org",
      subject: "two",
      attachments: [{ filename: "x.bin", content: new Uint8Array([0, 255, 10, 13]) }],
    });
    const third = await transport.sendMail({
      envelope: { to: "c@example.org" },
      raw: "Subject: three\n\nraw\n",
    });
    assert.deepEqual(first.envelope, { from: "robot@example.org", to: ["a@example.org"] });
    assert.deepEqual(second.accepted, ["b@example.org"]);
    assert.deepEqual(third.accepted, ["c@example.org"]);
    assert.notEqual(first.messageId, second.messageId);
  } finally {
    await transport.close();
    await server.close();
  }
  assert.equal(server.peers.length, 1, "one connection for three mails");
  assert.deepEqual(server.peers[0].commands.filter((c) => /^(MAIL|RCPT|RSET|QUIT)/.test(c)), [
    "MAIL FROM:<robot@example.org>",
    "RCPT TO:<a@example.org>",
    "RSET",
    "MAIL FROM:<robot@example.org>",
    "RCPT TO:<b@example.org>",
    "RSET",
    "MAIL FROM:<robot@example.org>",
    "RCPT TO:<c@example.org>",
    "QUIT",
  ]);
});

Deno.test({
  name: "a composed mail without From gets the account's, and its envelope can be given",
  ignore: noPython,
  async fn() {
    const transport = await createTransport({ streamTransport: true, from: "robot@example.org" });
    const info = await transport.sendMail({
      to: "Ann <ann@example.org>",
      bcc: "audit@example.org",
      subject: "Stündlich",
      text: "tick\n",
      attachments: [{ filename: "x.bin", content: new Uint8Array([0, 255, 10, 13]) }],
    });
    assert.deepEqual(info.envelope, {
      from: "robot@example.org",
      to: ["ann@example.org", "audit@example.org"],
    });
    const mail = await parseWithPython(info.message!);
    assert.deepEqual(mail.defects, []);
    assert.deepEqual(mail.addresses.from, [{ name: "", address: "robot@example.org" }]);
    assert.equal(mail.headers.subject, "Stündlich");
    assert.equal(mail.headers["message-id"], info.messageId);
    assert.equal(mail.addresses.bcc, undefined);
    assert.deepEqual(mail.parts[1].bytes, new Uint8Array([0, 255, 10, 13]));

    const redirected = await transport.sendMail({
      envelope: { from: "bounces@example.org", to: ["list@example.org"] },
      from: "Ann <ann@example.org>",
      to: "everyone@example.org",
      subject: "via the list",
      text: "hi\n",
    });
    assert.deepEqual(redirected.envelope, {
      from: "bounces@example.org",
      to: ["list@example.org"],
    });
    assert.match(new TextDecoder().decode(redirected.message), /^To: everyone@example\.org\r$/m);
    await transport.close();
  },
});

Deno.test("a composed mail with an unreadable attachment is refused before the server hears of it", async () => {
  const server = await startFaultServer();
  const transport = await createTransport({
    host: "127.0.0.1",
    port: server.port,
    from: "a@example.org",
  });
  try {
    await assert.rejects(
      transport.sendMail({ to: "b@example.org", attachments: [{ path: "/nonexistent/x.pdf" }] }),
      (error: unknown) =>
        error instanceof PostieError && error.exitCode === 66 &&
        error.message === "cannot read attachment /nonexistent/x.pdf: No such file or directory",
    );
    await assert.rejects(
      transport.sendMail({ subject: "nobody to send to", text: "x" }),
      (error: unknown) => error instanceof PostieError && error.exitCode === 64,
    );
    assert.equal(server.sessions.length, 0);
  } finally {
    await transport.close();
    await server.close();
  }
});

Deno.test("POSTIE_* variables shape loadAccount's account, never a transport of plain options", async () => {
  const env = {
    POSTIE_HOST: "env.example.org",
    POSTIE_FROM: "env@example.org",
    HOME: "/nonexistent",
  };
  const plain = await createTransport({ streamTransport: true, from: "plain@example.org", env });
  const info = await plain.sendMail({ to: "a@example.org", text: "x" });
  assert.equal(info.envelope.from, "plain@example.org");
  const account = await loadAccount({ env });
  const fromEnv = await createTransport(account);
  assert.equal(account.host, "env.example.org");
  assert.equal(account.from, "env@example.org");
  await fromEnv.close();
  await plain.close();
});
