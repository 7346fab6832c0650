/**
 * postie called `msmtpd`: msmtpd's options and defaults. `--command` pipes each mail to
 * a program while the client waits (exit 75 is 451, other failures 554), msmtp itself
 * as that program delivers to a real Postfix, `--auth` requires AUTH, `--inetd` serves
 * standard input and output, and without `--command` mail is queued and sent on.
 */

import assert from "node:assert/strict";
import { POSTIE } from "../support/differential.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";
import { canConnect, delay, freePort, killOnExit } from "../support/process.ts";
import { missing, python } from "../support/relay.ts";

const DENO_DIR: string = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache`}/deno`;

interface Msmtpd {
  port: number;
  dir: string;
  stderr(): string;
  stop(): Promise<number>;
}

async function startMsmtpd(args: string[], dir?: string): Promise<Msmtpd> {
  const home = dir ?? await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
  await Deno.symlink(POSTIE, `${home}/msmtpd`).catch(() => {});
  const port = freePort();
  const child = new Deno.Command(`${home}/msmtpd`, {
    args: [`--port=${port}`, ...args],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, DENO_DIR },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const cancel = killOnExit(child.pid);
  let text = "";
  const reading = (async () => {
    for await (const c of child.stderr) text += new TextDecoder().decode(c);
  })();
  for (let i = 0; i < 200 && !(await canConnect(port)); i++) await delay(50);
  assert.ok(await canConnect(port), `msmtpd did not listen: ${text}`);
  return {
    port,
    dir: home,
    stderr: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      const status = await child.status;
      cancel();
      await reading;
      return status.code;
    },
  };
}

/** A delivery command that records its arguments and the mail, then exits with CODE. */
async function captureCommand(dir: string, code = 0): Promise<string> {
  const script = `${dir}/capture.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/args"\ncat > "${dir}/mail"\nexit ${code}\n`,
    { mode: 0o755 },
  );
  return `${script} -f %F --`;
}

const MAIL = "From: a@example.org\r\nSubject: msmtpd\r\n\r\nbody\r\n";

function send(port: number, login = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  return python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${port}, timeout=20)
s.ehlo("client.example")
${login}
code, text = s.mail("a@example.org")
print("mail", code)
code, text = s.rcpt("b@example.net")
print("rcpt", code)
if code == 250:
    code, text = s.data(${JSON.stringify(MAIL)}.encode())
    print("data", code, text.decode())
s.quit()
`);
}

Deno.test("msmtpd --command pipes the mail with %F and the recipients, answering 250 after the command", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
  const d = await startMsmtpd([`--command=${await captureCommand(dir)}`], dir);
  try {
    const r = await send(d.port);
    assert.match(r.stdout, /^data 250 /m, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/args`), "-f\na@example.org\n--\nb@example.net\n");
    const mail = await Deno.readTextFile(`${dir}/mail`);
    assert.match(
      mail,
      /^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby \S+ \(postie\) /,
    );
    assert.ok(mail.endsWith(`\r\n${MAIL}`));
  } finally {
    await d.stop();
  }
});

Deno.test("msmtpd --command does not offer DSN, which the command could not get: its parameters are refused with 555 5.5.4", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
  const d = await startMsmtpd([`--command=${await captureCommand(dir)}`], dir);
  try {
    const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${d.port}, timeout=20)
s.ehlo("client.example")
print(s.has_extn("dsn"), s.has_extn("enhancedstatuscodes"))
print(*s.mail("a@example.org", ["RET=HDRS"]))
print(*s.mail("a@example.org"))
print(*s.rcpt("b@example.net", ["NOTIFY=FAILURE"]))
s.quit()
`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), [
      "False True",
      "555 b'5.5.4 Unsupported option: RET'",
      "250 b'2.1.0 Accepted'",
      "555 b'5.5.4 Unsupported option: NOTIFY'",
    ]);
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("msmtpd --command: exit 75 is 451 (try again), exit 1 is 554", async () => {
  for (const [code, reply] of [[75, 451], [1, 554]]) {
    const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
    const d = await startMsmtpd([`--command=${await captureCommand(dir, code)}`], dir);
    try {
      const r = await send(d.port);
      assert.match(r.stdout, new RegExp(`^data ${reply} `, "m"), r.stdout + r.stderr);
    } finally {
      await d.stop();
    }
  }
});

Deno.test("msmtpd --auth=USER,EVAL requires AUTH (in clear, as msmtpd) and takes the evaluated password", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
  const d = await startMsmtpd(
    [
      `--command=${await captureCommand(dir)}`,
      "--auth=alice,echo open sesame",
      "--log=" + `${dir}/log`,
    ],
    dir,
  );
  try {
    const without = await send(d.port);
    assert.match(without.stdout, /^rcpt 550$/m);
    const wrong = await send(
      d.port,
      `
try:
    s.login("alice", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("auth", e.smtp_code)
`,
    );
    assert.match(wrong.stdout, /^auth 535$/m);
    const right = await send(d.port, 's.login("alice", "open sesame")');
    assert.match(right.stdout, /^data 250 /m, right.stderr);
    const log = await Deno.readTextFile(`${dir}/log`);
    assert.match(log, / msmtpd: refused reason=relay_denied /);
    assert.match(log, / msmtpd: accepted .* user=alice /);
    assert.doesNotMatch(log + d.stderr(), /open sesame/);
  } finally {
    await d.stop();
  }
});

Deno.test("msmtpd --inetd --command serves one session on standard input and output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
  await Deno.symlink(POSTIE, `${dir}/msmtpd`);
  const out = await new Deno.Command(`${dir}/msmtpd`, {
    args: ["--inetd", `--command=${await captureCommand(dir)}`],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir, DENO_DIR },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(
    "EHLO inetd.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" +
      MAIL + ".\r\nQUIT\r\n",
  ));
  await w.close();
  const result = await out.output();
  const stdout = new TextDecoder().decode(result.stdout);
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  assert.match(stdout, /^220 /);
  assert.match(stdout, /\r\n250 2\.6\.0 [^\r]*\r\n221 /);
  assert.ok((await Deno.readTextFile(`${dir}/mail`)).endsWith(`\r\n${MAIL}`));
});

Deno.test({
  name:
    "msmtpd with msmtp as its command delivers to Postfix, and without --command queues and sends through the account",
  ignore: missing(postfixUnavailable(), "msmtpd with msmtp and Postfix"),
  async fn() {
    const postfix = await startPostfix({ tls: false });
    try {
      const viaMsmtp = await startMsmtpd([
        `--command=/usr/bin/msmtp --host=127.0.0.1 --port=${postfix.port} -f %F --`,
      ]);
      try {
        const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${viaMsmtp.port}, timeout=20)
s.sendmail("a@example.org", ["one@postie.test"], ${JSON.stringify(MAIL)}.encode())
s.quit()
`);
        assert.equal(r.code, 0, r.stderr);
        const [raw] = await postfix.mailbox("one@postie.test", { timeoutMs: 20_000 });
        // msmtp adds the Date and Message-ID the mail lacks, above the relay's line
        assert.match(
          stripTraceHeaders(raw),
          /\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\n\tby \S+ \(postie\)/,
        );
        assert.ok(raw.endsWith("\n" + MAIL.replaceAll("\r\n", "\n")));
      } finally {
        await viaMsmtp.stop();
      }

      const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
      await Deno.writeTextFile(
        `${dir}/.msmtprc`,
        `account default\nhost 127.0.0.1\nport ${postfix.port}\nfrom x@example.org\n` +
          `queue_dir ${dir}/spool\n`,
        { mode: 0o600 },
      );
      const queued = await startMsmtpd([], dir);
      try {
        const r = await python(`
import smtplib
s = smtplib.SMTP("127.0.0.1", ${queued.port}, timeout=20)
s.sendmail("a@example.org", ["two@postie.test"], ${JSON.stringify(MAIL)}.encode())
s.quit()
`);
        assert.equal(r.code, 0, r.stderr);
        const [raw] = await postfix.mailbox("two@postie.test", { timeoutMs: 20_000 });
        assert.ok(raw.endsWith("\n" + MAIL.replaceAll("\r\n", "\n")));
      } finally {
        assert.equal(await queued.stop(), 0);
      }
    } finally {
      await postfix.stop();
    }
  },
});

Deno.test("msmtpd's own usage: --help, unknown options, a bad port", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-msmtpd-" });
  await Deno.symlink(POSTIE, `${dir}/msmtpd`);
  const run = async (args: string[]) => {
    const out = await new Deno.Command(`${dir}/msmtpd`, {
      args,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir, DENO_DIR },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  };
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: msmtpd \[option\.\.\.\]\n/);
  assert.match(help.stdout, /--auth=user\[,passwordeval\]/);
  const bogus = await run(["--bogus"]);
  assert.equal(bogus.code, 64);
  assert.equal(bogus.stderr, "msmtpd: unrecognized option '--bogus'\n");
  const port = await run(["--port=99999"]);
  assert.equal(port.code, 64);
  assert.equal(port.stderr, "msmtpd: invalid port 99999\n");
  await Deno.remove(dir, { recursive: true });
});
