/**
 * `postie -bd` as a child process between Python's smtplib and a scripted upstream on
 * loopback that records every command line: the DSN parameters a client gives the relay
 * (RFC 3461: `RET`, `ENVID` on MAIL; `NOTIFY`, `ORCPT` per RCPT) reach the upstream's MAIL
 * and RCPT lines, xtext-encoded, when it offers DSN, and are left out when it does not; the
 * bounce the relay's queue makes honours each recipient's `NOTIFY` and reports `ENVID` and
 * `ORCPT` (RFC 3464). The client sees the relay's refusals with their enhanced status codes.
 */

import assert from "node:assert/strict";
import { python, type RelayProcess, startRelayProcess } from "../support/relay.ts";
import { listenScriptedPeer, type ScriptedTcpServer } from "../support/scripted_peer.ts";

/** The relay's configuration: the scripted upstream, a quick back-off. */
function upstream(port: number, extra = ""): string {
  return `defaults\nqueue_dir %SPOOL%\nqueue_backoff 1s,2s\n` +
    `account default\nhost 127.0.0.1\nport ${port}\nfrom relay@example.org\ntimeout 10\n${extra}`;
}

async function withRelay(
  capabilities: string[],
  fn: (relay: RelayProcess, server: ScriptedTcpServer) => Promise<void>,
  extra = "",
): Promise<void> {
  let connections = 0;
  // the first connection refuses b and c for good, takes d; later ones take everything
  const server = listenScriptedPeer({ capabilities }, (peer) => {
    if (connections++ === 0) {
      peer.on(
        "RCPT",
        "550 5.1.1 <b@example.net>: Recipient address rejected: no such user",
        "550 5.1.1 <c@example.net>: Recipient address rejected: no such user",
        "250 2.1.5 Ok",
      );
    }
  });
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelayProcess({ config: upstream(server.port, extra) });
    await fn(relay, server);
  } finally {
    const code = await relay?.stop();
    await server.close();
    if (relay) await Deno.remove(relay.dir, { recursive: true });
    assert.equal(code, 0, relay?.stderr());
  }
}

/** A mail to b, c and d with DSN parameters, handed in with smtplib, one command at a time. */
function sendWithDsn(port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${port}, timeout=20)
s.ehlo("dsn.example")
assert s.has_extn("dsn")
print(*s.mail("sender@example.org", ["RET=HDRS", "ENVID=QQ+2B1+3Dx"]))
print(*s.rcpt("b@example.net", ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;b+2Bold@example.net"]))
print(*s.rcpt("c@example.net", ["NOTIFY=NEVER", "ORCPT=rfc822;c@example.net"]))
print(*s.rcpt("d@example.net"))
print(*s.data(b"From: sender@example.org\\r\\nSubject: dsn\\r\\n\\r\\nhello\\r\\n"))
s.quit()
`);
}

/** Every command line the upstream got, over all its connections (greetings' EHLO left out). */
function commands(server: ScriptedTcpServer): string[] {
  return server.peers.flatMap((p) => p.commands.filter((c) => !c.startsWith("EHLO ")));
}

Deno.test("DSN parameters given to the relay reach an upstream offering DSN, and its bounce reports them per recipient", async () => {
  await withRelay(["DSN"], async (relay, server) => {
    const r = await sendWithDsn(relay.port);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^250 b'2\.1\.0 Accepted'\n(250 b'2\.1\.5 Accepted'\n){3}250 b'2\.6\.0 OK queued as \S+'\n$/,
    );
    await relay.waitFor(/: bounce queued as \S+/);
    await relay.waitFor(/: delivered to <sender@example\.org>/);
    const sent = commands(server);
    assert.deepEqual(sent.slice(0, 4), [
      "MAIL FROM:<sender@example.org> RET=HDRS ENVID=QQ+2B1+3Dx",
      "RCPT TO:<b@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Bold@example.net",
      "RCPT TO:<c@example.net> NOTIFY=NEVER ORCPT=rfc822;c@example.net",
      "RCPT TO:<d@example.net>",
    ]);
    // the bounce: from the null sender to the sender, for b only (c asked NEVER)
    assert.ok(sent.includes("MAIL FROM:<>"), sent.join("\n"));
    assert.ok(sent.includes("RCPT TO:<sender@example.org>"), sent.join("\n"));
    const data = server.peers.map((p) => p.data).join("");
    const report = data.slice(data.indexOf("Content-Type: message/delivery-status"));
    assert.match(report, /\r\nOriginal-Envelope-Id: QQ\+1=x\r\nReporting-MTA: dns; /);
    assert.match(
      report,
      /\r\n\r\nOriginal-Recipient: rfc822;b\+old@example\.net\r\nFinal-Recipient: rfc822; b@example\.net\r\nAction: failed\r\nStatus: 5\.1\.1\r\n/,
    );
    assert.doesNotMatch(report, /c@example\.net/);
    assert.equal([...report.matchAll(/^Final-Recipient: /gm)].length, 1);
  });
});

Deno.test("a relay client's DSN parameters are left out where the upstream does not offer DSN; the mail still goes", async () => {
  await withRelay([], async (relay, server) => {
    const r = await sendWithDsn(relay.port);
    assert.equal(r.code, 0, r.stderr);
    await relay.waitFor(/: delivered to <d@example\.net>/);
    await relay.waitFor(/: delivered to <sender@example\.org>/);
    const sent = commands(server);
    assert.deepEqual(sent.slice(0, 4), [
      "MAIL FROM:<sender@example.org>",
      "RCPT TO:<b@example.net>",
      "RCPT TO:<c@example.net>",
      "RCPT TO:<d@example.net>",
    ]);
    assert.ok(sent.every((c) => !/ (RET|ENVID|NOTIFY|ORCPT)=/.test(c)), sent.join("\n"));
    // postie's own bounce still honours NOTIFY and reports ENVID and ORCPT
    const data = server.peers.map((p) => p.data).join("");
    assert.match(data, /\r\nOriginal-Envelope-Id: QQ\+1=x\r\n/);
    assert.match(data, /\r\nOriginal-Recipient: rfc822;b\+old@example\.net\r\n/);
    assert.doesNotMatch(data, /Final-Recipient: rfc822; c@example\.net/);
  });
});

Deno.test("smtplib sees the relay's refusals with their enhanced status codes", async () => {
  await withRelay([], async (relay) => {
    const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${relay.port}, timeout=20)
s.ehlo("codes.example")
assert s.has_extn("enhancedstatuscodes")
print(*s.mail("sender@example.org", ["ENVID=caf+C3+A9"]))
print(*s.mail("sender@example.org", ["SIZE=99999999"]))
print(*s.mail("sender@example.org"))
print(*s.rcpt("b@example.net", ["ORCPT=b@example.net"]))
print(*s.rcpt("b@example.net", ["ORCPT=rfc822;b+C3+A9@example.net"]))
print(*s.rcpt("b@example.net", ["NOTIFY=NEVER,SUCCESS"]))
print(*s.rcpt("nobody@example.com"))
print(*s.rcpt("b@example.net"))
print(*s.data(b"Subject: big\\r\\n\\r\\n" + b"x" * 2000 + b"\\r\\n"))
s.quit()
`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), [
      "501 b'5.5.4 Bad ENVID parameter syntax'",
      "552 b'5.3.4 Error: message exceeds fixed maximum message size 1000'",
      "250 b'2.1.0 Accepted'",
      "501 b'5.5.4 Error: Bad ORCPT parameter syntax'",
      "501 b'5.5.4 Bad ORCPT parameter syntax'",
      "501 b'5.5.4 Error: NOTIFY=NEVER cannot be combined with other values'",
      "550 b'5.7.1 Recipient address not allowed'",
      "250 b'2.1.5 Accepted'",
      "552 b'5.3.4 Message exceeds fixed maximum message size'",
    ]);
  }, "listen_max_size 1000\nlisten_allow_rcpt *@example.net\n");
  await withRelay([], async (relay) => {
    const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${relay.port}, timeout=20)
s.ehlo("outsider.example")
print(*s.mail("sender@example.org"))
print(*s.rcpt("b@example.net"))
s.quit()
`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), [
      "250 b'2.1.0 Accepted'",
      "550 b'5.7.1 Relay access denied'",
    ]);
    await relay.waitFor(/refused reason=relay_denied .* reply="550 5\.7\.1 Relay access denied"/);
  }, "listen_allow 192.0.2.0/24\n");
});
