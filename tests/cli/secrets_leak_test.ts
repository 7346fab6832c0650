/**
 * No output of postie ever shows a password or token: every authentication path (each
 * mechanism, each password source, `--pretend`, `-d` transcripts, the log file, failed
 * logins, a failing `passwordeval`) runs with a distinctive secret, and neither the secret
 * nor any base64 text that encodes it (the AUTH PLAIN payload `\0user\0secret`, LOGIN's
 * password line, the XOAUTH2 and OAUTHBEARER payloads) may appear on stdout, on stderr or
 * in the log file.
 *
 * The scripted server (tests/support/scripted_peer.ts) covers every path without root;
 * where Postfix and Dovecot can run (tests/support/postfix.ts), the real SASL exchanges,
 * SCRAM included, are checked the same way.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runPostie, type RunResult } from "../support/differential.ts";
import { saslUnavailable, startPostfix } from "../support/postfix.ts";
import { listenScriptedPeer, type ScriptedPeer } from "../support/scripted_peer.ts";

const SECRET = "S3cr3t-Canary-2f9c";
const USER = "alice";
const MAIL = "From: sender@example.org\nTo: rcpt@example.org\nSubject: canary\n\nbody\n";

const CAPABILITIES = ["AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER", "PIPELINING"];
const FAILED = "535 5.7.8 Error: authentication failed: bad credentials";

/**
 * Every base64 text that can occur inside the encoding of any byte string holding
 * `secret`: the secret may start at any of the three offsets of a base64 group, so each
 * offset gives one run of characters that depends on the secret's bytes alone.
 */
function base64Needles(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const needles: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = new Uint8Array(offset + bytes.length);
    padded.set(bytes, offset);
    const encoded = Buffer.from(padded).toString("base64").replace(/=+$/, "");
    // Characters mixing in bytes before the secret (leading) or after it (trailing) vary.
    const start = offset === 0 ? 0 : Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    needles.push(encoded.slice(start, end));
  }
  return needles;
}

const b64 = (text: string): string => Buffer.from(text, "binary").toString("base64");

/** The secret in every form that must never be shown. */
const NEEDLES: string[] = [
  SECRET,
  SECRET.toLowerCase(),
  ...base64Needles(SECRET),
  b64(`\0${USER}\0${SECRET}`),
  b64(`${USER}\0${SECRET}`),
  b64(`user=${USER}\x01auth=Bearer ${SECRET}\x01\x01`),
];

/** Asserts that no needle occurs in any of the texts, naming where one was found. */
function assertNoSecret(texts: Record<string, string>): void {
  for (const [where, text] of Object.entries(texts)) {
    for (const needle of NEEDLES) {
      assert.ok(!text.includes(needle), `the secret (as ${JSON.stringify(needle)}) is in ${where}`);
    }
  }
}

/** A private HOME with Deno's module cache still reachable. */
async function makeHome(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await Deno.makeTempDir({ prefix: "postie-leak-" });
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  return { home, env: { HOME: home, DENO_DIR: denoDir } };
}

/** Runs postie with `--logfile` and checks stdout, stderr and the log for the secret. */
async function runChecked(
  home: string,
  env: Record<string, string>,
  args: string[],
): Promise<RunResult & { log: string }> {
  const logFile = `${home}/postie-${crypto.randomUUID()}.log`;
  const result = await runPostie([`--logfile=${logFile}`, ...args], { stdin: MAIL, env });
  const log = await Deno.readTextFile(logFile).catch(() => "");
  assertNoSecret({ stdout: result.stdout, stderr: result.stderr, "the log file": log });
  return { ...result, log };
}

/** What a scripted server answers to the AUTH exchange of one scenario. */
type AuthScript = (peer: ScriptedPeer) => void;

const ACCEPT: Record<string, AuthScript> = {
  plain: () => {},
  login: (p) => p.on("AUTH", "334 VXNlcm5hbWU6").on("SASL", "334 UGFzc3dvcmQ6"),
  "cram-md5": (p) => p.on("AUTH", "334 PDEyMzQ1LjY3ODkwQGZha2UudGVzdD4="),
  xoauth2: (p) => p.on("AUTH", "334 "),
  oauthbearer: () => {},
};

const REJECT: Record<string, AuthScript> = {
  plain: (p) => p.on("AUTH", FAILED),
  login: (p) => p.on("AUTH", "334 VXNlcm5hbWU6").on("SASL", "334 UGFzc3dvcmQ6", FAILED),
  "cram-md5": (p) => p.on("AUTH", "334 PDEyMzQ1LjY3ODkwQGZha2UudGVzdD4=").on("SASL", FAILED),
  xoauth2: (p) => p.on("AUTH", "334 ").on("SASL", "334 eyJzdGF0dXMiOiI0MDEifQ==", FAILED),
  oauthbearer: (p) => p.on("AUTH", "334 eyJzdGF0dXMiOiI0MDEifQ==").on("SASL", FAILED),
};

/** Runs `fn` against a scripted server on loopback set up by `script`. */
async function withScriptedServer(
  script: AuthScript,
  fn: (port: number, peers: ScriptedPeer[]) => Promise<void>,
): Promise<void> {
  const server = listenScriptedPeer({ capabilities: CAPABILITIES }, script);
  try {
    await fn(server.port, server.peers);
  } finally {
    await server.close();
  }
}

/** Everything the client wrote on the wire, decoded where it was base64. */
function wire(peers: ScriptedPeer[]): string {
  return peers.map((p) => p.written).join("");
}

Deno.test("no mechanism shows the secret in -d transcripts, output or the log", async (t) => {
  const { home, env } = await makeHome();
  try {
    const secretFile = `${home}/secret`;
    await Deno.writeTextFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    for (const [mech, script] of Object.entries(ACCEPT)) {
      await t.step(`--auth=${mech} succeeds without showing the secret`, async () => {
        await withScriptedServer(script, async (port, peers) => {
          const result = await runChecked(home, env, [
            "-d",
            "--host=127.0.0.1",
            `--port=${port}`,
            `--auth=${mech}`,
            `--user=${USER}`,
            `--passwordeval=cat ${secretFile}`,
            "-f",
            "sender@example.org",
            "rcpt@example.org",
          ]);
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stdout, new RegExp(`^--> AUTH ${mech.toUpperCase()}`, "m"));
          assert.match(result.log, /exitcode=EX_OK/);
          // Not vacuous: the secret did travel to the server, in some form.
          if (mech !== "cram-md5") {
            assert.ok(base64Needles(SECRET).some((n) => wire(peers).includes(n)));
          }
        });
      });
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a failed login shows the server's message but not the secret", async (t) => {
  const { home, env } = await makeHome();
  try {
    const secretFile = `${home}/secret`;
    await Deno.writeTextFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    for (const [mech, script] of Object.entries(REJECT)) {
      await t.step(`--auth=${mech} refused with 535`, async () => {
        await withScriptedServer(script, async (port) => {
          const result = await runChecked(home, env, [
            "-d",
            "--host=127.0.0.1",
            `--port=${port}`,
            `--auth=${mech}`,
            `--user=${USER}`,
            `--passwordeval=cat ${secretFile}`,
            "-f",
            "sender@example.org",
            "rcpt@example.org",
          ]);
          assert.equal(result.code, 77, result.stderr);
          assert.match(
            result.stderr,
            new RegExp(`^postie: authentication failed \\(method ${mech.toUpperCase()}\\)\n`),
          );
          assert.match(result.log, /exitcode=EX_NOPERM/);
        });
      });
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("every password source keeps the secret out of output, --pretend and the log", async (t) => {
  const { home, env } = await makeHome();
  try {
    const secretFile = `${home}/secret`;
    await Deno.writeTextFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    await withScriptedServer(() => {}, async (port, peers) => {
      const account = [
        "account default",
        "host 127.0.0.1",
        `port ${port}`,
        "auth plain",
        `user ${USER}`,
        "from sender@example.org",
      ];
      const rc = async (name: string, lines: string[]): Promise<string> => {
        const path = `${home}/${name}`;
        await Deno.writeTextFile(path, [...account, ...lines, ""].join("\n"), { mode: 0o600 });
        return path;
      };
      const toml = async (name: string, lines: string[]): Promise<string> => {
        const path = `${home}/${name}.toml`;
        const text = [
          'default = "main"',
          ...lines.filter((l) => l.startsWith("env_file")),
          "[accounts.main]",
          'host = "127.0.0.1"',
          `port = ${port}`,
          'auth = "plain"',
          `user = "${USER}"`,
          'from = "sender@example.org"',
          ...lines.filter((l) => !l.startsWith("env_file")),
          "",
        ].join("\n");
        await Deno.writeTextFile(path, text, { mode: 0o600 });
        return path;
      };
      await Deno.writeTextFile(`${home}/smtp.env`, `SMTP_PASSWORD=${SECRET}\n`, { mode: 0o600 });

      const sources: [string, () => Promise<{ args: string[]; env?: Record<string, string> }>][] = [
        ["password in an msmtprc", async () => ({
          args: ["-C", await rc("rc-password", [`password ${SECRET}`])],
        })],
        ["passwordeval in an msmtprc", async () => ({
          args: ["-C", await rc("rc-eval", [`passwordeval cat ${secretFile}`])],
        })],
        ["--passwordeval on the command line", async () => ({
          args: ["-C", await rc("rc-plain", []), `--passwordeval=cat ${secretFile}`],
        })],
        ["~/.netrc", async () => {
          await Deno.writeTextFile(
            `${home}/.netrc`,
            `machine 127.0.0.1 login ${USER} password ${SECRET}\n`,
            { mode: 0o600 },
          );
          return { args: ["-C", await rc("rc-netrc", [])] };
        }],
        ["TOML { env } from the environment", async () => ({
          args: ["-C", await toml("env", ['password = { env = "SMTP_PASSWORD" }'])],
          env: { SMTP_PASSWORD: SECRET },
        })],
        ["TOML { env } from --env-file", async () => ({
          args: [
            "-C",
            await toml("envfile", ['password = { env = "SMTP_PASSWORD" }']),
            `--env-file=${home}/smtp.env`,
          ],
        })],
        ["TOML { env } from env_file", async () => ({
          args: [
            "-C",
            await toml("envkey", ['env_file = "smtp.env"', 'password = { env = "SMTP_PASSWORD" }']),
          ],
        })],
      ];
      for (const [name, make] of sources) {
        await t.step(`${name}: sending with -d`, async () => {
          const { args, env: extra } = await make();
          const before = wire(peers).length;
          const result = await runChecked(home, { ...env, ...extra }, [
            ...args,
            "-d",
            "rcpt@example.org",
          ]);
          assert.equal(result.code, 0, result.stderr);
          // `*` when set; netrc (like the keyring) is asked only at AUTH time, as in msmtp.
          assert.match(result.stdout, /^password = (\*|\(not set\))$/m);
          // The password did reach the server: the AUTH PLAIN payload is on the wire.
          assert.ok(wire(peers).slice(before).includes(b64(`\0${USER}\0${SECRET}`)));
        });
        await t.step(`${name}: --pretend`, async () => {
          const { args, env: extra } = await make();
          const result = await runChecked(home, { ...env, ...extra }, [
            ...args,
            "--pretend",
            "rcpt@example.org",
          ]);
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stdout, /^password = (\*|\(not set\))$/m);
        });
      }
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a failing passwordeval ends with 78 and shows no secret", async () => {
  const { home, env } = await makeHome();
  try {
    // The command prints nothing on stdout; what it says on stderr reaches the user, as in
    // msmtp, so the secret must not be in the command or its complaint.
    const missing = `${home}/no-such-secret`;
    const result = await runChecked(home, env, [
      "--host=127.0.0.1",
      "--port=9",
      "--auth=plain",
      `--user=${USER}`,
      `--passwordeval=cat ${missing}`,
      "-f",
      "sender@example.org",
      "rcpt@example.org",
    ]);
    assert.equal(result.code, 78);
    assert.match(result.stderr, new RegExp(`postie: cannot read output of 'cat ${missing}'\n$`));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

const saslReason = saslUnavailable();

Deno.test({
  name: "real SASL exchanges with Postfix and Dovecot, SCRAM included, show no secret",
  ignore: saslReason !== undefined,
  async fn(t) {
    const { home, env } = await makeHome();
    const postfix = await startPostfix({
      tls: true,
      sasl: { users: [{ user: USER, password: SECRET }] },
    });
    try {
      const secretFile = `${home}/secret`;
      await Deno.writeTextFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
      const wrongFile = `${home}/wrong`;
      await Deno.writeTextFile(wrongFile, `${SECRET}-wrong\n`, { mode: 0o600 });
      const cases: [string, string, boolean, number][] = [
        ...["plain", "login", "cram-md5", "scram-sha-1", "scram-sha-256", "on"].map((
          m,
        ): [string, string, boolean, number] => [m, secretFile, true, 0]),
        ["on", secretFile, false, 0],
        ["plain", wrongFile, true, 77],
        ["scram-sha-256", wrongFile, true, 77],
      ];
      for (const [mech, file, tls, code] of cases) {
        const label = `--auth=${mech}${tls ? " over STARTTLS" : " without TLS"}` +
          (code === 0 ? "" : " with a wrong password");
        await t.step(label, async () => {
          const result = await runChecked(home, env, [
            "-d",
            "--host=127.0.0.1",
            `--port=${postfix.port}`,
            ...(tls ? ["--tls", `--tls-trust-file=${postfix.caFile}`] : []),
            `--auth=${mech}`,
            `--user=${USER}`,
            `--passwordeval=cat ${file}`,
            "-f",
            "sender@example.org",
            "user@postie.test",
          ]);
          assert.equal(result.code, code, result.stderr);
        });
      }
      // Postfix's and Dovecot's own logs are not postie's output, but a leak there would
      // mean the secret crossed the wire in a form the server logs: check them too.
      assertNoSecret({
        "Postfix's log": await postfix.log(),
        "Dovecot's log": await postfix.sasl!.dovecot.log(),
      });
    } finally {
      await postfix.stop();
      await Deno.remove(home, { recursive: true });
    }
  },
});

if (saslReason !== undefined) {
  console.error(`secrets_leak_test.ts: the Postfix+Dovecot part is skipped: ${saslReason}`);
}
