/**
 * The interop matrix: postie against real mail servers from Debian's packages (Exim4,
 * OpenSMTPD, Dovecot's LMTP server, python3-aiosmtpd), each a private instance on loopback
 * (see tests/support/servers.ts). For every server and every mode it offers — plain,
 * STARTTLS, implicit TLS, each AUTH mechanism — a mail piped into postie is read back from the
 * server's mail store and compared byte for byte with what was piped in, after the server's
 * own trace headers.
 *
 * Test and step names carry a `[matrix SERVER]` / `[MODE]` tag that
 * scripts/reliability_report.ts turns into the table of docs/RELIABILITY.md; a mode the
 * server cannot run here is an ignored step whose name ends with `(skipped: REASON)`.
 */

import assert from "node:assert/strict";
import { runPostie } from "../support/differential.ts";
import {
  aiosmtpdUnavailable,
  AUTH_PASSWORD,
  AUTH_USER,
  dovecotUnavailable,
  eximUnavailable,
  type MailServer,
  opensmtpdUnavailable,
  startAiosmtpd,
  startDovecotLmtp,
  startExim,
  startOpensmtpd,
  stripServerTrace,
} from "../support/servers.ts";

/** A mail with the bytes that are easy to get wrong: dots, trailing spaces, 8-bit, CRLF. */
function message(subject: string, id: string, lineEnd = "\n"): string {
  return [
    "From: Sender <sender@example.org>",
    "To: User <user@postie.test>",
    `Subject: ${subject}`,
    "Date: Mon, 02 Jun 2025 10:00:00 +0000",
    `Message-ID: <${id}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Hello from postie.",
    "A line with trailing spaces   ",
    ".A line starting with a dot",
    "..Two dots",
    ".",
    "8-bit: gr\u00fc\u00dfe",
    "",
  ].join(lineEnd);
}

type Mode = "plain" | "starttls" | "implicit-tls" | `auth-${string}`;

interface Case {
  mode: Mode;
  /** Why this server cannot do the mode, if it cannot. */
  skip?: string;
}

/** postie's arguments for one mode against a server. */
function postieArgs(server: MailServer, mode: Mode, lmtp: boolean): string[] {
  const args = ["--host=127.0.0.1", "-f", "sender@example.org"];
  if (lmtp) args.push("--protocol=lmtp");
  if (mode === "implicit-tls") {
    args.push(`--port=${server.tlsPort}`, "--tls", "--tls-starttls=off");
  } else {
    args.push(`--port=${server.port}`);
  }
  if (mode !== "plain") args.push("--tls", `--tls-trust-file=${server.caFile}`);
  if (mode.startsWith("auth-")) {
    args.push(
      `--auth=${mode.slice("auth-".length)}`,
      `--user=${AUTH_USER}`,
      `--passwordeval=echo ${AUTH_PASSWORD}`,
    );
  } else {
    args.push("--auth=off");
  }
  return [...args, "--", "user@postie.test"];
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Sends one mail in one mode and checks that it arrived unchanged. */
async function sendAndCompare(
  server: MailServer,
  mode: Mode,
  options: { lmtp?: boolean; stored: "lf" | "crlf"; input: "lf" | "crlf" },
): Promise<void> {
  const id = `${crypto.randomUUID()}@example.org`;
  const mail = message(`${server.name} ${mode}`, id, options.input === "crlf" ? "\r\n" : "\n");
  const result = await runPostie(postieArgs(server, mode, options.lmtp ?? false), {
    stdin: mail,
  });
  assert.equal(result.stderr, "", `postie's stderr; server log:\n${await server.log()}`);
  assert.equal(result.code, 0);
  const raw = decoder.decode(await server.delivered(id));
  const lf = mail.replaceAll("\r\n", "\n");
  assert.equal(stripServerTrace(raw), options.stored === "crlf" ? lf.replaceAll("\n", "\r\n") : lf);
}

/**
 * One test per server whose steps are its modes; steps of modes that cannot run are
 * ignored with the reason in their name, so the report still lists them. A server that is
 * not installed makes the whole test a visible skip: it never passes without a step run.
 */
function matrix(
  label: string,
  server: string,
  unavailable: string | undefined,
  cases: Case[],
  run: (c: Case, t: Deno.TestContext) => Promise<void>,
): void {
  const runnable = cases.filter((c) => c.skip === undefined);
  const skipAll = unavailable ?? (runnable.length === 0 ? "no mode can run" : undefined);
  Deno.test({
    name: `[matrix ${server}] postie delivers through ${label} in every mode it offers` +
      (skipAll ? ` (skipped: ${skipAll})` : ""),
    ignore: skipAll !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      for (const c of cases) {
        const skip = c.skip;
        await t.step({
          name: `[${c.mode}] a mail piped in over ${c.mode} arrives byte for byte` +
            (skip ? ` (skipped: ${skip})` : ""),
          ignore: skip !== undefined,
          fn: () => run(c, t),
        });
      }
    },
  });
}

/**
 * Debian 12's OpenSMTPD 6.8.0p2 fails every TLS handshake with OpenSSL 3, whatever the
 * client: its log says `io-error: error:0A080006:SSL routines::EVP lib`, and
 * `openssl s_client` and msmtp 1.8.23 get alert 80 (internal error) exactly as postie does.
 * It offers AUTH only after TLS, so the AUTH modes fall with it.
 */
const OPENSMTPD_TLS_BROKEN = "Debian 12's OpenSMTPD 6.8.0p2 fails every TLS handshake under " +
  "OpenSSL 3 (server log: SSL routines::EVP lib; msmtp and openssl s_client fail alike), " +
  "and it offers AUTH only after TLS";

const SMTP_MODES: Mode[] = ["plain", "starttls", "implicit-tls"];

// --- python3-aiosmtpd: one process per mode (its command line takes one TLS setting).
matrix(
  "python3-aiosmtpd",
  "aiosmtpd",
  aiosmtpdUnavailable(),
  [
    ...SMTP_MODES.map((mode) => ({ mode })),
    { mode: "auth-plain", skip: "`python3 -m aiosmtpd` has no option to enable AUTH" },
  ],
  async ({ mode }) => {
    const server = await startAiosmtpd({
      tls: mode === "starttls" ? "starttls" : mode === "implicit-tls" ? "implicit" : undefined,
    });
    try {
      // aiosmtpd stores the DATA bytes as received: the CRLF postie sent, no trace header.
      await sendAndCompare(server, mode, { stored: "crlf", input: "lf" });
    } finally {
      await server.stop();
    }
  },
);

/** Runs every case against one shared instance, started at the first case that runs. */
function shared(start: () => Promise<MailServer>) {
  let server: Promise<MailServer> | undefined;
  return {
    get: () => (server ??= start()),
    async stop() {
      if (server) await (await server).stop().catch(() => {});
      server = undefined;
    },
  };
}

function serverMatrix(
  label: string,
  name: string,
  unavailable: string | undefined,
  cases: Case[],
  start: () => Promise<MailServer>,
  options: { lmtp?: boolean; stored?: "lf" | "crlf" } = {},
): void {
  const instance = shared(start);
  const last = cases.filter((c) => !c.skip).at(-1);
  matrix(label, name, unavailable, cases, async (c) => {
    try {
      const server = await instance.get();
      // Alternate LF and CRLF input: postie must send both the same way.
      const input = cases.indexOf(c) % 2 === 0 ? "lf" : "crlf";
      await sendAndCompare(server, c.mode, {
        lmtp: options.lmtp,
        stored: options.stored ?? "lf",
        input,
      });
    } catch (e) {
      await instance.stop();
      throw e;
    } finally {
      if (c === last) await instance.stop();
    }
  });
}

serverMatrix("Exim4", "exim", eximUnavailable(), [
  ...SMTP_MODES.map((mode) => ({ mode })),
  { mode: "auth-plain" },
  { mode: "auth-login" },
  { mode: "auth-cram-md5" },
], startExim);

serverMatrix(
  "OpenSMTPD",
  "opensmtpd",
  opensmtpdUnavailable(),
  [
    { mode: "plain" },
    ...(["starttls", "implicit-tls", "auth-plain", "auth-login"] as const).map((mode) => ({
      mode,
      skip: OPENSMTPD_TLS_BROKEN,
    })),
  ],
  startOpensmtpd,
  { stored: "crlf" },
);

serverMatrix(
  "Dovecot's LMTP server",
  "dovecot-lmtp",
  dovecotUnavailable(),
  [
    ...SMTP_MODES.map((mode) => ({ mode })),
    { mode: "auth-plain", skip: "Dovecot's LMTP server offers no AUTH" },
  ],
  startDovecotLmtp,
  { lmtp: true },
);
