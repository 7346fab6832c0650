/**
 * postie authenticating against a real SASL server: Postfix on loopback with Dovecot
 * behind `smtpd_sasl_type = dovecot` (see tests/support/dovecot.ts). Every mechanism
 * postie shares with Dovecot logs in and delivers; `auth on` chooses as documented; a
 * wrong password and a refused insecure method end as in msmtp, byte for byte where
 * Debian's msmtp is installed; each password source (config file, `passwordeval`,
 * `~/.netrc`) works.
 */

import assert from "node:assert/strict";
import { compareWithMsmtp, runMsmtp, type RunOptions, runPostie } from "../support/differential.ts";
import { type Postfix, saslUnavailable, startPostfix } from "../support/postfix.ts";

const reason = saslUnavailable();
const ignore = reason !== undefined;
if (reason !== undefined) console.error(`auth_interop_test.ts: skipped: ${reason}`);

const USER = "alice";
const PASSWORD = "Interop-Pa55-7d1e";

/** Keeps Deno's module cache reachable when HOME points elsewhere (a missing cache costs seconds). */
function baseEnv(): Record<string, string> {
  const dir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  return { DENO_DIR: dir };
}

function message(to: string, subject: string): string {
  return [
    "From: Sender <sender@example.org>",
    `To: <${to}>`,
    `Subject: ${subject}`,
    "Date: Mon, 02 Jun 2025 10:00:00 +0000",
    `Message-ID: <${crypto.randomUUID()}@example.org>`,
    "",
    `Sent by the auth interop test (${subject}).`,
    "",
  ].join("\n");
}

/** Command-line arguments for the SASL port `port` of `postfix`, `tls` with the test CA. */
function args(
  postfix: Postfix,
  options: { port?: number; tls?: boolean; extra?: string[]; to: string },
): string[] {
  const tls = options.tls ?? true;
  return [
    "--host=127.0.0.1",
    `--port=${options.port ?? postfix.port}`,
    ...(tls ? ["--tls", `--tls-trust-file=${postfix.caFile}`] : []),
    "-f",
    "sender@example.org",
    ...(options.extra ?? []),
    "--",
    options.to,
  ];
}

/** `--auth`, `--user` and a `passwordeval` that reads `password` from a private file. */
async function withPassword(
  postfix: Postfix,
  auth: string,
  password = PASSWORD,
): Promise<string[]> {
  const file = `${postfix.dir}/password-${crypto.randomUUID()}`;
  await Deno.writeTextFile(file, `${password}\n`, { mode: 0o600 });
  return [`--auth=${auth}`, `--user=${USER}`, `--passwordeval=cat ${file}`];
}

async function withPostfix(fn: (postfix: Postfix) => Promise<void>): Promise<void> {
  const postfix = await startPostfix({
    tls: true,
    sasl: { users: [{ user: USER, password: PASSWORD }] },
  });
  try {
    await fn(postfix);
  } finally {
    await postfix.stop();
  }
}

/** The mechanism of every `--> AUTH` command in a `-d` transcript. */
function authCommands(stdout: string): string[] {
  return [...stdout.matchAll(/^--> AUTH ([A-Z0-9-]+)/gm)].map((m) => m[1]);
}

async function assertDelivered(postfix: Postfix, to: string, subject: string, count = 1) {
  const mails = await postfix.mailbox(to, { count });
  assert.equal(mails.length, count);
  for (const mail of mails) assert.match(mail, new RegExp(`^Subject: ${subject}$`, "m"));
}

Deno.test({
  name: "each SASL mechanism logs in to Postfix+Dovecot over STARTTLS and the mail arrives",
  ignore,
  async fn(t) {
    await withPostfix(async (postfix) => {
      const dovecot = postfix.sasl!.dovecot;
      for (const mech of ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]) {
        await t.step(`--auth=${mech.toLowerCase()} authenticates with ${mech}`, async () => {
          const to = `${mech.toLowerCase()}@postie.test`;
          const before = (await dovecot.authRequests()).length;
          const result = await runPostie(
            args(postfix, {
              to,
              extra: ["-d", ...await withPassword(postfix, mech.toLowerCase())],
            }),
            { stdin: message(to, mech), env: baseEnv() },
          );
          assert.equal(result.stderr, "");
          assert.equal(result.code, 0);
          assert.deepEqual(authCommands(result.stdout), [mech]);
          assert.deepEqual((await dovecot.authRequests()).slice(before), [mech]);
          await assertDelivered(postfix, to, mech);
        });
      }
    });
  },
});

Deno.test({
  name: "--auth=on over STARTTLS picks SCRAM-SHA-256 from Postfix's list",
  ignore,
  async fn() {
    await withPostfix(async (postfix) => {
      const to = "auto@postie.test";
      const result = await runPostie(
        args(postfix, { to, extra: ["-d", ...await withPassword(postfix, "on")] }),
        {
          stdin: message(to, "auto"),
          env: baseEnv(),
        },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^<-- 250-AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256\r?$/m,
      );
      // msmtp 1.8.23 takes PLAIN here (its order under TLS starts with PLAIN); postie prefers
      // SCRAM, as msmtp does from 1.8.26 on.
      assert.deepEqual(authCommands(result.stdout), ["SCRAM-SHA-256"]);
      assert.deepEqual(await postfix.sasl!.dovecot.authRequests(), ["SCRAM-SHA-256"]);
      await assertDelivered(postfix, to, "auto");
    });
  },
});

Deno.test({
  name: "--auth=on without TLS picks SCRAM-SHA-256, as msmtp does",
  ignore,
  async fn(t) {
    await withPostfix(async (postfix) => {
      const to = "clear@postie.test";
      const sendWith = async (program: typeof runPostie): Promise<void> => {
        const result = await program(
          args(postfix, { to, tls: false, extra: ["-d", ...await withPassword(postfix, "on")] }),
          { stdin: message(to, "clear"), env: baseEnv() },
        );
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(authCommands(result.stdout), ["SCRAM-SHA-256"]);
      };
      await sendWith(runPostie);
      assert.deepEqual(await postfix.sasl!.dovecot.authRequests(), ["SCRAM-SHA-256"]);
      await assertDelivered(postfix, to, "clear", 1);
      await compareWithMsmtp(t, async () => {
        await sendWith(runMsmtp);
        assert.deepEqual(await postfix.sasl!.dovecot.authRequests(), [
          "SCRAM-SHA-256",
          "SCRAM-SHA-256",
        ]);
        await assertDelivered(postfix, to, "clear", 2);
      });
    });
  },
});

Deno.test({
  name: "a wrong password fails with 77 and msmtp's exact messages, and delivers nothing",
  ignore,
  async fn(t) {
    await withPostfix(async (postfix) => {
      const to = "wrong@postie.test";
      const argv = args(postfix, {
        to,
        extra: await withPassword(postfix, "plain", "not-the-password"),
      });
      const options: RunOptions = { stdin: message(to, "wrong"), env: baseEnv() };
      const postie = await runPostie(argv, options);
      assert.equal(postie.code, 77);
      assert.match(
        postie.stderr,
        /^postie: authentication failed \(method PLAIN\)\npostie: server message: 535 5\.7\.8 [^\n]*\npostie: could not send mail\n$/,
      );
      assert.equal(postie.stdout, "");
      await compareWithMsmtp(t, async () => {
        const msmtp = await runMsmtp(argv, options);
        assert.equal(postie.stderr, msmtp.stderr);
        assert.equal(postie.code, msmtp.code);
      });
      assert.match(
        await postfix.sasl!.dovecot.log(),
        /passwd-file\(alice,127\.0\.0\.1\): Password mismatch/,
      );
      assert.deepEqual(await postfix.mailbox(to, { count: 0 }), []);
    });
  },
});

Deno.test({
  name:
    "--auth=on without TLS refuses a server offering only PLAIN and LOGIN and sends no password",
  ignore,
  async fn(t) {
    await withPostfix(async (postfix) => {
      const to = "refused@postie.test";
      const argv = args(postfix, {
        to,
        port: postfix.sasl!.plainLoginPort,
        tls: false,
        extra: ["-d", ...await withPassword(postfix, "on")],
      });
      const options: RunOptions = { stdin: message(to, "refused"), env: baseEnv() };
      const postie = await runPostie(argv, options);
      assert.equal(postie.code, 69);
      assert.equal(
        postie.stderr,
        "postie: cannot use a secure authentication method\npostie: could not send mail\n",
      );
      assert.match(postie.stdout, /^<-- 250-AUTH PLAIN LOGIN\r?$/m);
      assert.deepEqual(authCommands(postie.stdout), []);
      assert.ok(!postie.stdout.includes(PASSWORD));
      await compareWithMsmtp(t, async () => {
        const msmtp = await runMsmtp(argv, options);
        assert.equal(postie.stderr, msmtp.stderr);
        assert.equal(postie.code, msmtp.code);
      });
      assert.deepEqual(await postfix.sasl!.dovecot.authRequests(), []);
    });
  },
});

Deno.test({
  name: "a port with smtpd_tls_auth_only offers AUTH only after STARTTLS",
  ignore,
  async fn(t) {
    await withPostfix(async (postfix) => {
      const to = "tlsonly@postie.test";
      const port = postfix.sasl!.tlsOnlyPort;
      const clear = args(postfix, {
        to,
        port,
        tls: false,
        extra: await withPassword(postfix, "plain"),
      });
      const options: RunOptions = { stdin: message(to, "tlsonly"), env: baseEnv() };
      const refused = await runPostie(clear, options);
      assert.equal(refused.code, 69);
      assert.equal(
        refused.stderr,
        "postie: the server does not support authentication\npostie: could not send mail\n",
      );
      await compareWithMsmtp(t, async () => {
        const msmtp = await runMsmtp(clear, options);
        assert.equal(refused.stderr, msmtp.stderr);
        assert.equal(refused.code, msmtp.code);
      });
      const sent = await runPostie(
        args(postfix, { to, port, extra: await withPassword(postfix, "plain") }),
        options,
      );
      assert.equal(sent.stderr, "");
      assert.equal(sent.code, 0);
      assert.deepEqual(await postfix.sasl!.dovecot.authRequests(), ["PLAIN"]);
      await assertDelivered(postfix, to, "tlsonly");
    });
  },
});

Deno.test({
  name: "the password comes from a private config file, from passwordeval and from ~/.netrc",
  ignore,
  async fn(t) {
    await withPostfix(async (postfix) => {
      const home = await Deno.makeTempDir({ prefix: "postie-auth-home-" });
      try {
        const account = [
          "account default",
          "host 127.0.0.1",
          `port ${postfix.port}`,
          "tls on",
          `tls_trust_file ${postfix.caFile}`,
          "auth on",
          `user ${USER}`,
          "from sender@example.org",
        ];
        const send = async (to: string, argv: string[], env: Record<string, string> = {}) => {
          const result = await runPostie(argv, {
            stdin: message(to, to.split("@")[0]),
            env: { ...baseEnv(), HOME: home, ...env },
          });
          assert.equal(result.stderr, "");
          assert.equal(result.code, 0);
          await assertDelivered(postfix, to, to.split("@")[0]);
        };

        await t.step("password in a 0600 configuration file", async () => {
          const rc = `${home}/rc-password`;
          await Deno.writeTextFile(rc, [...account, `password ${PASSWORD}`, ""].join("\n"));
          await Deno.chmod(rc, 0o600);
          await send("rcfile@postie.test", ["-C", rc, "rcfile@postie.test"]);
        });

        await t.step("passwordeval reading a secret file", async () => {
          const secret = `${home}/secret`;
          await Deno.writeTextFile(secret, `${PASSWORD}\n`);
          await Deno.chmod(secret, 0o600);
          const rc = `${home}/rc-eval`;
          await Deno.writeTextFile(rc, [...account, `passwordeval cat ${secret}`, ""].join("\n"));
          await Deno.chmod(rc, 0o600);
          await send("evaluated@postie.test", ["-C", rc, "evaluated@postie.test"]);
        });

        await t.step("~/.netrc of a temporary HOME", async () => {
          await Deno.writeTextFile(
            `${home}/.netrc`,
            `machine 127.0.0.1 login ${USER} password ${PASSWORD}\n`,
          );
          await Deno.chmod(`${home}/.netrc`, 0o600);
          const rc = `${home}/rc-netrc`;
          await Deno.writeTextFile(rc, account.join("\n") + "\n");
          await Deno.chmod(rc, 0o600);
          await send("netrc@postie.test", ["-C", rc, "netrc@postie.test"]);
        });

        assert.deepEqual(
          await postfix.sasl!.dovecot.authRequests(),
          ["SCRAM-SHA-256", "SCRAM-SHA-256", "SCRAM-SHA-256"],
        );
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });
  },
});
