/**
 * The relay (`postie -bd`) between real clients and a real Postfix: Python's smtplib,
 * msmtp, postie itself, swaks and `openssl s_client` hand mail in; Postfix's mail store
 * gets it byte for byte, below Postfix's trace headers and the relay's one `Received`
 * line. The relay queues through postie's queue: with the upstream away the mails wait
 * and `postie -bp` lists them, a recipient the upstream refuses bounces to the sender as
 * an RFC 3464 report while the others get the mail, and crashes (SIGKILL) at the worst
 * moments lose nothing acknowledged and deliver nothing partial.
 */

import assert from "node:assert/strict";
import { POSTIE, runMsmtp, runPostie } from "../support/differential.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";
import { createTestPki } from "../support/pki.ts";
import { delay, freePort } from "../support/process.ts";
import { missing, python, startRelayProcess } from "../support/relay.ts";
import { RawSmtp } from "../support/smtp_client.ts";

const ignore = missing(postfixUnavailable(), "the relay tests against Postfix");
const haveSwaks = !missing(
  (() => {
    try {
      return Deno.statSync("/usr/bin/swaks").isFile ? undefined : "swaks is not a file";
    } catch {
      return "swaks is missing: run scripts/install.sh";
    }
  })(),
  "the swaks client test",
);

function message(subject: string, lineEnd = "\n"): string {
  return [
    "From: Sender <sender@example.org>",
    "To: User <user@postie.test>",
    `Subject: ${subject}`,
    "Date: Mon, 02 Jun 2025 10:00:00 +0000",
    `Message-ID: <${crypto.randomUUID()}@example.org>`,
    "",
    "Hello through the relay.",
    "A line with trailing spaces   ",
    ".A line starting with a dot",
    "..Two dots",
    ".",
    "8-bit: gr\u00fc\u00dfe",
    "",
  ].join(lineEnd);
}

/**
 * What the client sent, from a mail in Postfix's store: Postfix's trace headers and then
 * the relay's `Received` line (three lines: from, by … (postie) with …, date) removed.
 */
function stripRelayTrace(raw: string): string {
  const rest = stripTraceHeaders(raw);
  const m =
    /^Received: from \S+ \(\[[0-9a-f.:]+\]\)\n\tby \S+ \(postie\) with E?SMTPS?A? id \S+;\n\t[^\n]+\n/
      .exec(rest);
  assert.ok(m, `no relay Received line on top of:\n${rest.slice(0, 300)}`);
  return rest.slice(m[0].length);
}

/** The relay's configuration: Postfix (or a closed port) as upstream, a quick back-off. */
function upstream(port: number, extra = ""): string {
  return `defaults\nqueue_dir %SPOOL%\nqueue_backoff 1s,2s\n` +
    `account default\nhost 127.0.0.1\nport ${port}\nfrom relay@example.org\n${extra}`;
}

/** `postie -bp` (with `--json`, parsed) on the relay's queue, as a user would run it. */
async function listQueue(dir: string): Promise<string>;
async function listQueue(dir: string, json: true): Promise<QueueJson>;
async function listQueue(dir: string, json?: true): Promise<string | QueueJson> {
  const r = await runPostie(["-bp", "-C", `${dir}/rc`, ...(json ? ["--json"] : [])], {
    env: { HOME: dir },
  });
  assert.equal(r.code, 0, r.stderr);
  return json ? JSON.parse(r.stdout) as QueueJson : r.stdout;
}

interface QueueJson {
  queue_dir: string;
  count: number;
  entries: { id: string; sender: string; recipients: string[]; last_error: string | null }[];
}

/** The entries in the queue's `mail/` directory (what a queue run could ever send). */
function queuedFiles(spool: string): string[] {
  try {
    return [...Deno.readDirSync(`${spool}/mail`)].map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/**
 * Sends one mail with smtplib (line ends made CRLF first: smtplib sends bytes as given);
 * prints the reply to the final dot.
 */
function smtplibSend(port: number, mail: string, to = "user@postie.test"): Promise<{
  code: number;
  stdout: string;
  stderr: string;
}> {
  return python(`
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", ${port}, timeout=20)
s.ehlo("client.example")
code, text = s.mail("sender@example.org")
assert code == 250, (code, text)
code, text = s.rcpt(${JSON.stringify(to)})
assert code == 250, (code, text)
code, text = s.data(${JSON.stringify(mail.replace(/\r?\n/g, "\r\n"))}.encode("utf-8"))
print(code, text.decode())
s.quit()
`);
}

Deno.test({
  name:
    "mail from smtplib, msmtp, postie and swaks reaches Postfix through the relay byte for byte",
  ignore,
  async fn(t) {
    const postfix = await startPostfix({ tls: false });
    const relay = await startRelayProcess({ config: upstream(postfix.port) });
    try {
      let delivered = 0;
      const expectDelivered = async (mail: string): Promise<void> => {
        delivered++;
        const all = await postfix.mailbox("user@postie.test", {
          count: delivered,
          timeoutMs: 20_000,
        });
        assert.equal(stripRelayTrace(all[delivered - 1]), mail);
      };

      await t.step("Python's smtplib (CRLF)", async () => {
        const mail = message("smtplib", "\r\n");
        const result = await smtplibSend(relay.port, mail);
        assert.match(
          result.stdout,
          /^250 2\.6\.0 OK queued as \d{8}T\d{6}-[0-9a-f]{8}/,
          result.stderr,
        );
        await expectDelivered(mail.replaceAll("\r\n", "\n"));
      });

      await t.step("msmtp", async () => {
        const mail = message("msmtp");
        const args = ["--host=127.0.0.1", `--port=${relay.port}`, "-f", "sender@example.org"];
        const result = await runMsmtp([...args, "--", "user@postie.test"], { stdin: mail });
        assert.equal(result.code, 0, result.stderr);
        await expectDelivered(mail);
      });

      await t.step("postie itself", async () => {
        const mail = message("postie");
        const args = ["--host=127.0.0.1", `--port=${relay.port}`, "-f", "sender@example.org"];
        const result = await runPostie([...args, "--", "user@postie.test"], { stdin: mail });
        assert.equal(result.code, 0, result.stderr);
        await expectDelivered(mail);
      });

      await t.step({
        name: "swaks",
        ignore: !haveSwaks,
        async fn() {
          const mail = message("swaks");
          const file = await Deno.makeTempFile();
          // swaks ends the data with its own line end
          await Deno.writeTextFile(file, mail.slice(0, -1));
          const out = await new Deno.Command("swaks", {
            args: [
              "--server",
              `127.0.0.1:${relay.port}`,
              "--from",
              "sender@example.org",
              "--to",
              "user@postie.test",
              "--data",
              `@${file}`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          await Deno.remove(file);
          const text = new TextDecoder().decode(out.stdout);
          assert.equal(out.code, 0, text);
          assert.match(text, /<- {1,2}250 2\.6\.0 OK queued as/);
          await expectDelivered(mail);
        },
      });

      assert.match(
        relay.stderr(),
        /accepted id=\S+ from=<sender@example\.org> to=<user@postie\.test>/,
      );
      assert.match(relay.stderr(), /: delivered to <user@postie\.test>/);
      assert.equal(await relay.stop(), 0);
      assert.match(relay.stderr(), /SIGTERM: no new connections/);
    } finally {
      await relay.stop();
      await postfix.stop();
    }
  },
});

Deno.test({
  name:
    "STARTTLS and AUTH: smtplib authenticates under TLS, is refused AUTH in clear, and openssl verifies the certificate",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const pki = await createTestPki();
    const hash = await runPostie(["--hash-password"], { stdin: "s3cret pass\n" });
    assert.equal(hash.code, 0, hash.stderr);
    assert.match(hash.stdout, /^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/);
    const relay = await startRelayProcess({
      config: upstream(
        postfix.port,
        `listen_tls_cert_file ${pki.server.cert}\nlisten_tls_key_file ${pki.server.key}\n` +
          // loopback is not trusted here, so the relay treats the tests as remote clients
          "listen_users %DIR%/users\nlisten_allow 192.0.2.0/24\n",
      ),
      dir: await (async () => {
        const dir = await Deno.makeTempDir({ prefix: "postie-relay-" });
        await Deno.writeTextFile(`${dir}/users`, `# relay users\nalice:${hash.stdout}`);
        return dir;
      })(),
    });
    try {
      const mail = message("auth", "\r\n");
      const result = await python(`
import smtplib, ssl
s = smtplib.SMTP("127.0.0.1", ${relay.port}, timeout=20)
s.ehlo("client.example")
assert s.has_extn("starttls"), s.esmtp_features
# in clear, from an untrusted address: no relaying, no AUTH
code, text = s.mail("sender@example.org")
assert code == 250
code, text = s.rcpt("user@postie.test")
print("rcpt-clear", code, text.decode())
s.rset()
code, text = s.docmd("AUTH", "PLAIN AGFsaWNlAHMzY3JldCBwYXNz")
print("auth-clear", code, text.decode())
ctx = ssl.create_default_context(cafile=${JSON.stringify(pki.ca.cert)})
s.starttls(context=ctx)
s.ehlo("client.example")
print("features", sorted(s.esmtp_features))
try:
    s.login("alice", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("auth-wrong", e.smtp_code)
s.login("alice", "s3cret pass")
print("auth-ok")
s.sendmail("sender@example.org", ["user@postie.test"], ${JSON.stringify(mail)}.encode())
print("sent")
s.quit()
`);
      assert.equal(result.code, 0, result.stderr + result.stdout);
      assert.match(result.stdout, /^rcpt-clear 550 5\.7\.1 Relay access denied$/m);
      assert.match(
        result.stdout,
        /^auth-clear 538 5\.7\.11 Encryption required for requested authentication mechanism$/m,
      );
      assert.match(result.stdout, /'auth'.*'dsn'.*'enhancedstatuscodes'.*'pipelining'.*'size'/);
      assert.match(result.stdout, /^auth-wrong 535$/m);
      assert.match(result.stdout, /^auth-ok$/m);
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      assert.equal(stripRelayTrace(raw), mail.replaceAll("\r\n", "\n"));
      assert.match(
        stripTraceHeaders(raw),
        /^Received: from client\.example \(\[127\.0\.0\.1\]\)\n\tby \S+ \(postie\) with ESMTPSA id /,
      );
      assert.match(relay.stderr(), /accepted id=\S+ .* user=alice /);
      assert.doesNotMatch(relay.stderr(), /s3cret/);

      const openssl = new Deno.Command("openssl", {
        args: [
          "s_client",
          "-starttls",
          "smtp",
          "-connect",
          `127.0.0.1:${relay.port}`,
          "-CAfile",
          pki.ca.cert,
          "-verify_return_error",
          "-verify_hostname",
          "localhost",
          "-quiet",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = openssl.stdin.getWriter();
      await writer.write(new TextEncoder().encode("EHLO openssl.example\r\n"));
      await delay(1000);
      await writer.write(new TextEncoder().encode("QUIT\r\n"));
      await writer.close();
      const out = await openssl.output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.match(stderr, /verify return:1/);
      assert.match(stdout, /250-AUTH LOGIN PLAIN|250-AUTH PLAIN LOGIN/);
      assert.doesNotMatch(stdout, /STARTTLS/);
      assert.match(stdout, /221 /);
    } finally {
      await relay.stop();
      await postfix.stop();
      await pki.remove();
    }
  },
});

Deno.test({
  name:
    "with the upstream away the client still gets 250, postie -bp lists the mail, and it goes out byte for byte once the upstream is up",
  ignore,
  async fn() {
    const upstreamPort = freePort();
    const relay = await startRelayProcess({ config: upstream(upstreamPort) });
    let postfix;
    try {
      const mail = message("later");
      const result = await smtplibSend(relay.port, mail);
      assert.match(result.stdout, /^250 /, result.stderr);
      const id = /queued as (\S+)/.exec(result.stdout)![1];
      await relay.waitFor(new RegExp(`${id}: deferred \\(attempt 1, `));
      const listing = await listQueue(relay.dir);
      assert.match(
        listing,
        new RegExp(`^${id} +\\d+ +\\d+s +[1-9]\\d*  <sender@example\\.org>$`, "m"),
      );
      assert.match(listing, /^ {4}to <user@postie\.test>$/m);
      assert.match(listing, /^ {4}last error: cannot connect to 127\.0\.0\.1, port \d+/m);
      const json = await listQueue(relay.dir, true);
      assert.equal(json.count, 1);
      assert.equal(json.entries[0].id, id);
      assert.equal(json.entries[0].sender, "sender@example.org");
      assert.deepEqual(json.entries[0].recipients, ["user@postie.test"]);
      assert.equal(json.queue_dir, relay.spool);
      // and through the mailq name, as monitoring would call it
      await Deno.symlink(POSTIE, `${relay.dir}/mailq`);
      const viaMailq = await new Deno.Command(`${relay.dir}/mailq`, {
        args: ["-C", `${relay.dir}/rc`, "--json"],
        env: { HOME: relay.dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(viaMailq.code, 0, new TextDecoder().decode(viaMailq.stderr));
      const mailq = JSON.parse(new TextDecoder().decode(viaMailq.stdout)) as QueueJson;
      assert.deepEqual(mailq.entries.map((e) => e.id), [id]);
      postfix = await startPostfix({ tls: false, port: upstreamPort });
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      assert.equal(stripRelayTrace(raw), mail);
      await relay.waitFor(new RegExp(`${id}: delivered to <user@postie\\.test>`));
      assert.deepEqual(queuedFiles(relay.spool), []);
      assert.match(await listQueue(relay.dir), /^Mail queue is empty/);
    } finally {
      await relay.stop();
      await postfix?.stop();
    }
  },
});

Deno.test({
  name:
    "a recipient the upstream refuses with 5xx among accepted ones: the others get the mail and the sender an RFC 3464 bounce that Python's email parses",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const relay = await startRelayProcess({ config: upstream(postfix.port) });
    try {
      const mail = message("partly refused", "\r\n");
      const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${relay.port}, timeout=20)
refused = s.sendmail("sender@example.org", ["user@postie.test", "rejected@postie.test"],
                     ${JSON.stringify(mail)}.encode())
print("refused", refused)
s.quit()
`);
      // the relay takes both: the upstream's verdict comes later, from the queue
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^refused \{\}$/m);
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      assert.equal(stripRelayTrace(raw), mail.replaceAll("\r\n", "\n"));
      const [bounce] = await postfix.mailbox("sender@example.org", { timeoutMs: 20_000 });
      const file = await Deno.makeTempFile();
      try {
        await Deno.writeTextFile(file, bounce);
        const parsed = await python(`
import email, email.policy
m = email.message_from_binary_file(open(${JSON.stringify(file)}, "rb"), policy=email.policy.default)
print("type", m.get_content_type(), m.get_param("report-type"))
print("to", m["To"])
parts = list(m.iter_parts())
print("parts", [p.get_content_type() for p in parts])
status = parts[1]
groups = status.get_payload()
print("groups", len(groups))
rcpt = groups[1]
print("final", rcpt["Final-Recipient"])
print("action", rcpt["Action"])
print("status", rcpt["Status"])
print("diagnostic", rcpt["Diagnostic-Code"])
print("original", "Subject: partly refused" in parts[2].get_payload()[0].as_string() if parts[2].is_multipart() else parts[2].get_content())
`);
        assert.equal(parsed.code, 0, parsed.stderr);
        assert.match(parsed.stdout, /^type multipart\/report delivery-status$/m);
        assert.match(parsed.stdout, /^to sender@example\.org$/m);
        assert.match(
          parsed.stdout,
          /^parts \['text\/plain', 'message\/delivery-status', 'text\/rfc822-headers'\]$/m,
        );
        assert.match(parsed.stdout, /^groups 2$/m);
        assert.match(parsed.stdout, /^final rfc822; ?rejected@postie\.test$/m);
        assert.match(parsed.stdout, /^action failed$/m);
        assert.match(parsed.stdout, /^status 5\.1\.1$/m);
        assert.match(parsed.stdout, /^diagnostic smtp; ?550 5\.1\.1 /m);
        assert.match(parsed.stdout, /Subject: partly refused/);
      } finally {
        await Deno.remove(file);
      }
      // the bounce went out through the queue from the null sender, and nothing is left
      assert.match(await postfix.log(), /from=<>/);
      await relay.waitFor(/bounce queued as \S+/);
      for (let i = 0; i < 100 && queuedFiles(relay.spool).length > 0; i++) await delay(100);
      assert.deepEqual(queuedFiles(relay.spool), []);
      assert.equal((await postfix.mailbox("user@postie.test", { timeoutMs: 1000 })).length, 1);
    } finally {
      await relay.stop();
      await postfix.stop();
    }
  },
});

Deno.test({
  name:
    "kill -9 in the middle of DATA: the client never gets 250 and no part of the mail reaches the upstream",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    let relay = await startRelayProcess({ config: upstream(postfix.port) });
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.port });
      const enc = new TextEncoder();
      const replies: string[] = [];
      const reading = (async () => {
        const buf = new Uint8Array(4096);
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          replies.push(new TextDecoder().decode(buf.subarray(0, n)));
        }
      })();
      for (let i = 0; i < 100 && !replies.join("").includes("220 "); i++) await delay(50);
      await conn.write(enc.encode(
        "EHLO crash.example\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<user@postie.test>\r\nDATA\r\n",
      ));
      for (let i = 0; i < 100 && !replies.join("").includes("354"); i++) await delay(50);
      assert.match(replies.join(""), /354 /);
      await conn.write(enc.encode("Subject: partial\r\n\r\n" + "half a mail\r\n".repeat(1000)));
      // the relay has started writing the message into the queue's tmp/
      for (let i = 0; i < 100; i++) {
        if ([...Deno.readDirSync(`${relay.spool}/tmp`)].length > 0) break;
        await delay(50);
      }
      assert.ok([...Deno.readDirSync(`${relay.spool}/tmp`)].length > 0);
      assert.deepEqual(queuedFiles(relay.spool), []);
      await relay.kill9();
      await reading;
      conn.close();
      assert.doesNotMatch(replies.join(""), /^250 2\.6\.0/m);

      relay = await startRelayProcess({ config: upstream(postfix.port), dir: relay.dir });
      const marker = message("after the crash");
      assert.match((await smtplibSend(relay.port, marker)).stdout, /^250 /);
      const all = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      await delay(1500);
      const again = await postfix.mailbox("user@postie.test", { timeoutMs: 1000 });
      assert.equal(all.length, 1);
      assert.equal(again.length, 1);
      assert.equal(stripRelayTrace(all[0]), marker);
      // the half mail never entered mail/: no queue run can send it (tmp/ is swept later)
      for (let i = 0; i < 100 && queuedFiles(relay.spool).length > 0; i++) await delay(100);
      assert.deepEqual(queuedFiles(relay.spool), []);
      assert.equal((await listQueue(relay.dir, true)).count, 0);
      const flush = await runPostie(["-q", "-C", `${relay.dir}/rc`], { env: { HOME: relay.dir } });
      assert.equal(flush.code, 0, flush.stderr);
      assert.equal((await postfix.mailbox("user@postie.test", { timeoutMs: 1000 })).length, 1);
    } finally {
      await relay.stop();
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "kill -9 right after the 250: the mail is delivered after the restart",
  ignore,
  async fn() {
    const upstreamPort = freePort();
    let relay = await startRelayProcess({ config: upstream(upstreamPort) });
    let postfix;
    try {
      const mail = message("survives");
      assert.match((await smtplibSend(relay.port, mail)).stdout, /^250 /);
      await relay.kill9();
      assert.equal(queuedFiles(relay.spool).length, 1);
      postfix = await startPostfix({ tls: false, port: upstreamPort });
      relay = await startRelayProcess({ config: upstream(upstreamPort), dir: relay.dir });
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      assert.equal(stripRelayTrace(raw), mail);
      for (let i = 0; i < 100 && queuedFiles(relay.spool).length > 0; i++) await delay(100);
      assert.deepEqual(queuedFiles(relay.spool), []);
    } finally {
      await relay.stop();
      await postfix?.stop();
    }
  },
});

Deno.test({
  name: "postie --health exits 0 while the relay answers and 69 when nothing listens",
  ignore,
  async fn() {
    const relay = await startRelayProcess({ config: upstream(freePort()) });
    try {
      const rc = `${relay.dir}/rc`;
      const ok = await runPostie(["--health", "-C", rc, `--listen=127.0.0.1:${relay.port}`], {
        env: { HOME: relay.dir },
      });
      assert.equal(ok.code, 0, ok.stderr);
      const bad = await runPostie(["--health", "-C", rc, `--listen=127.0.0.1:${freePort()}`], {
        env: { HOME: relay.dir },
      });
      assert.equal(bad.code, 69);
      assert.match(bad.stderr, /^postie: unhealthy: 127\.0\.0\.1:\d+: /);
    } finally {
      await relay.stop();
    }
  },
});

Deno.test({
  name:
    "a smuggling attempt with \\n.\\n reaches Postfix as one mail with the smuggled lines as text, never as a second mail",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const relay = await startRelayProcess({ config: upstream(postfix.port) });
    try {
      const c = await RawSmtp.connect(relay.port);
      assert.equal((await c.reply())?.code, 220);
      assert.equal((await c.command("EHLO smuggler.example"))?.code, 250);
      await c.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<user@postie.test>\r\nDATA\r\n");
      for (let i = 0; i < 3; i++) await c.reply();
      await c.send(
        "From: sender@example.org\r\nSubject: smuggle\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n" +
          "Message-ID: <smuggle@example.org>\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\n" +
          "RCPT TO:<victim@postie.test>\r\nDATA\r\nsmuggled\r\n.\r\n",
      );
      assert.equal((await c.reply())?.code, 250);
      assert.equal((await c.command("QUIT"))?.code, 221);
      c.close();
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      // the bare LFs became line ends and the lone dot was dot-stuffed on the way out
      assert.ok(
        stripRelayTrace(raw).endsWith(
          "\nhello\n.\nMAIL FROM:<evil@example.org>\nRCPT TO:<victim@postie.test>\nDATA\nsmuggled\n",
        ),
        raw,
      );
      await relay.waitFor(/: delivered to </);
      await delay(1000);
      assert.doesNotMatch(await postfix.log(), /victim@postie\.test/);
    } finally {
      await relay.stop();
      await postfix.stop();
    }
  },
});

Deno.test({
  name: "postie -bs speaks SMTP on standard input and output and sends the mail before it exits",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const dir = await Deno.makeTempDir({ prefix: "postie-relay-" });
    try {
      await Deno.writeTextFile(
        `${dir}/rc`,
        upstream(postfix.port).replace("%SPOOL%", `${dir}/spool`),
        { mode: 0o600 },
      );
      const mail = message("stdio", "\r\n");
      const script = "EHLO stdio.example\r\nMAIL FROM:<sender@example.org>\r\n" +
        "RCPT TO:<user@postie.test>\r\nDATA\r\n" + mail.replace(/^\./gm, "..") + ".\r\nQUIT\r\n";
      const result = await runPostie(["-bs", "-C", `${dir}/rc`], {
        stdin: script,
        env: { HOME: dir },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^220 /);
      assert.match(result.stdout, /\r\n250 2\.6\.0 OK queued as \S+\r\n221 /);
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      assert.equal(stripRelayTrace(raw), mail.replaceAll("\r\n", "\n"));
      assert.deepEqual(queuedFiles(`${dir}/spool`), []);
    } finally {
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "metrics_listen serves Prometheus counters and /healthz, with no address or user in them",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const metricsPort = freePort();
    const relay = await startRelayProcess({
      config: upstream(postfix.port, `metrics_listen 127.0.0.1:${metricsPort}\n`),
    });
    try {
      assert.match((await smtplibSend(relay.port, message("metrics"))).stdout, /^250 /);
      const refused = await smtplibSend(relay.port, message("refused"), "not-an-address@");
      assert.notEqual(refused.code, 0);
      await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      await relay.waitFor(/: delivered to </);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /^# TYPE postie_relay_accepted_total counter$/m);
      assert.match(metrics, /^postie_relay_accepted_total 1$/m);
      assert.match(metrics, /^postie_relay_delivered_total 1$/m);
      assert.match(metrics, /^postie_relay_deferred_total 0$/m);
      assert.match(metrics, /^postie_relay_bounced_total 0$/m);
      assert.match(metrics, /^postie_relay_upstream_errors_total 0$/m);
      assert.match(metrics, /^postie_relay_queue_depth 0$/m);
      assert.match(metrics, /^postie_relay_queue_oldest_age_seconds 0\.000$/m);
      assert.doesNotMatch(metrics, /127\.0\.0\.1|example\.org|postie\.test/);
      const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(await health.text(), "ok\n");
      const missing = await fetch(`http://127.0.0.1:${metricsPort}/other`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await relay.stop();
      await postfix.stop();
    }
  },
});

Deno.test({
  name:
    "20 clients at once while the upstream is away: every mail gets 250, the log stays whole and the relay stays up",
  ignore,
  async fn() {
    const relay = await startRelayProcess({ config: upstream(freePort()) });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => smtplibSend(relay.port, message(`burst ${i}`))),
      );
      for (const r of results) assert.match(r.stdout, /^250 /, r.stderr);
      const firstTries = () => (relay.stderr().match(/: deferred \(attempt 1, /g) ?? []).length;
      for (let i = 0; i < 400 && firstTries() < 20; i++) await delay(50);
      assert.equal(firstTries(), 20);
      assert.equal((await listQueue(relay.dir, true)).count, 20);
      const accepted = relay.stderr().match(/ postie: accepted id=/g) ?? [];
      assert.equal(accepted.length, 20);
      for (const line of relay.stderr().trimEnd().split("\n")) {
        assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ postie: /);
      }
      assert.equal(await relay.stop(), 0);
    } finally {
      await relay.stop();
    }
  },
});

Deno.test({
  name:
    "SIGTERM in the middle of a mail: no new connections, the mail in progress still gets its 250, then the relay exits 0",
  ignore,
  async fn() {
    const relay = await startRelayProcess({ config: upstream(freePort()) });
    try {
      const c = await RawSmtp.connect(relay.port);
      assert.equal((await c.reply())?.code, 220);
      assert.equal((await c.command("EHLO term.example"))?.code, 250);
      await c.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<user@postie.test>\r\nDATA\r\n");
      for (let i = 0; i < 3; i++) await c.reply();
      await c.send("Subject: in flight\r\n\r\nfirst half\r\n");
      Deno.kill(relay.pid, "SIGTERM");
      await relay.waitFor(/SIGTERM: no new connections/);
      await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: relay.port }));
      assert.match((await c.command("second half\r\n."))!.text, /^250 2\.6\.0 OK queued as /);
      // the transaction is over: any further command is told the server is going away
      assert.equal((await c.command("MAIL FROM:<late@example.org>"))?.code, 421);
      c.close();
      assert.equal((await relay.status).code, 0);
      assert.match(relay.stderr(), /stopped\n$/);
      assert.equal(queuedFiles(relay.spool).length, 1);
    } finally {
      await relay.stop();
    }
  },
});

Deno.test({
  name:
    "DSN passes through: NOTIFY=SUCCESS given to the relay makes Postfix send the sender a success notice with the client's ENVID and ORCPT",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const relay = await startRelayProcess({ config: upstream(postfix.port) });
    try {
      const mail = message("dsn", "\r\n");
      const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${relay.port}, timeout=20)
s.ehlo("dsn.example")
assert s.has_extn("dsn")
s.sendmail("sender@example.org", ["user@postie.test"], ${JSON.stringify(mail)}.encode(),
           mail_options=["RET=HDRS", "ENVID=relay+2Btest=1"],
           rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Original+2BUser@postie.test"])
s.quit()
`);
      assert.equal(r.code, 0, r.stderr);
      const [raw] = await postfix.mailbox("user@postie.test", { timeoutMs: 20_000 });
      assert.equal(stripRelayTrace(raw), mail.replaceAll("\r\n", "\n"));
      const [notice] = await postfix.mailbox("sender@example.org", { timeoutMs: 20_000 });
      assert.match(notice, /^Subject: Successful Mail Delivery Report$/m);
      assert.match(notice, /^Action: delivered$/m);
      // ENVID and ORCPT went through the relay's queue to Postfix, which reports them
      assert.match(notice, /^Original-Envelope-Id: relay\+test=1$/m);
      assert.match(notice, /^Original-Recipient: rfc822; ?Original\+User@postie\.test$/m);
    } finally {
      await relay.stop();
      await postfix.stop();
    }
  },
});
