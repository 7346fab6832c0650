/**
 * Faults through the real command line: a fault server misbehaves at one stage of the
 * dialogue (drops the connection, goes silent, answers 4xx/5xx, sends malformed or overlong
 * replies, splits replies byte by byte, fails the TLS handshake) and postie must end within
 * the timeout with msmtp's exit code and messages, and never claim that an undelivered mail
 * was sent. Where msmtp is installed it runs the same case and must agree on the exit code
 * and standard error, except for postie's deliberate differences (4xx at the greeting, EHLO
 * or STARTTLS gives EX_TEMPFAIL; the timeout covers the TLS handshake, ending with 74).
 *
 * The cases run a few at a time in the background; each test waits for its own.
 */

import assert from "node:assert/strict";
import {
  compareWithMsmtp,
  MSMTP_MISSING,
  runMsmtp,
  runPostie,
  type RunResult,
  withoutDocumentedDifferences,
} from "../support/differential.ts";
import { type Fault, type FaultServerOptions, startFaultServer } from "../support/fault_server.ts";
import { createTestPki, type TestPki } from "../support/pki.ts";

/** The `--timeout` of the cases whose server falls silent (what ends them), in seconds. */
const TIMEOUT = 2;
/**
 * The `--timeout` of every other case, in seconds. None of them waits for it, but each needs
 * the server's answers in time, and the server runs in this test process, busy with the other
 * cases: on a loaded machine an answer took more than 2 s (exit 74, "network read error: the
 * operation timed out", where a reply to MAIL should have given 76). Longer than HANG_MS, so a
 * run that ends in time was not ended by it.
 */
const REPLY_TIMEOUT = 30;
/**
 * How late the client may hang up on a silent server, beyond the timeout, as the server sees
 * it (from the command it left unanswered to the hang-up): timer and scheduling latency only,
 * since the client's start-up is not part of it.
 *
 * How early is not a tolerance: the client starts its timer only once it has read what the
 * server last said (the greeting: once it is running and connected), so the time from the
 * start of the server's last write (the greeting: from starting the client) to the hang-up,
 * both on the test's clock, can only be longer than the client's own wait. The time from the
 * server reading the unanswered command is no such bound: a loaded test process reads it, or
 * accepts the connection of a silent greeting, well after the client's timer started (hung up
 * "1775 ms after the server fell silent" once, at the greeting).
 */
const SLACK_MS = 1500;
/** How long the process may take to end once it has hung up (error lines, log, exit). */
const EXIT_MS = 2500;
/**
 * Whatever the fault, a run ends well before any default timeout (the 10-minute wait for the
 * answer to the end of the mail, a 60 s connect) or REPLY_TIMEOUT could be what ended it;
 * start-up on a loaded machine is inside this bound, which is a guard against hangs and not a
 * speed check.
 */
const HANG_MS = TIMEOUT * 1000 + 25_000;
const PARALLEL = 8;
const MAIL = "Subject: fault\n\nbody line\n";
/** A body large enough that the client is still writing it when the server hangs up. */
const BIG_MAIL = "Subject: big\n\n" + ("x".repeat(76) + "\n").repeat(40_000);

/** Which certificate the server presents; STARTTLS is used when one is set. */
type ServerCert = "good" | "expired" | "otherName" | "untrusted";

/** One fault case. */
interface FaultCase {
  /** The behaviour, as a sentence: the test's name. */
  name: string;
  /** The server's behaviour. */
  server: FaultServerOptions & { cert?: never; key?: never };
  /** The server presents this certificate and the account uses STARTTLS. */
  tls?: ServerCert;
  /** Extra account lines. */
  config?: string[];
  /** The exit code expected. */
  code: number;
  /** The first line of standard error (after `postie: `), as a pattern. */
  message: RegExp;
  /** Standard input; a small mail by default. */
  stdin?: string;
  /** A deliberate difference: msmtp is not run (it differs, or it would hang). */
  postieOnly?: string;
  /** Compare only the exit code and the first line's pattern with msmtp, not all of stderr. */
  racy?: boolean;
  /**
   * Why postie hangs up on the silent server only when it ends, not when its timeout passes
   * (the hang-up then comes after the error lines and the log, so EXIT_MS more is allowed).
   */
  hangsUpAtExit?: string;
}

const AUTH = ["auth plain", "user alice", "password secret"];
const CAPS = ["8BITMIME", "AUTH PLAIN"];

function drop(stage: string, extra: Partial<FaultCase> = {}): FaultCase {
  return {
    name: `the connection dropped at ${stage} ends with msmtp's error`,
    code: 0,
    message: /.*/,
    ...extra,
    server: { ...extra.server, faults: { [stage]: "drop" } },
  } as FaultCase;
}

function silent(stage: string, extra: Partial<FaultCase> = {}): FaultCase {
  return {
    name: `a server silent at ${stage} times out with EX_IOERR`,
    code: 74,
    message: /^network read error: the operation timed out$/,
    ...extra,
    server: { ...extra.server, faults: { [stage]: "silent" } },
  } as FaultCase;
}

function reply(stage: string, text: Fault, code: number, message: RegExp, extra = {}): FaultCase {
  const shown = typeof text === "string" ? text.slice(0, 3) : "bytes";
  return {
    name: `a ${shown} reply at ${stage} gives exit code ${code}`,
    server: { faults: { [stage]: text } },
    code,
    message,
    ...extra,
  };
}

/** Whether the server falls silent at some stage, so that the client's timeout ends the run. */
function fallsSilent(c: FaultCase): boolean {
  return Object.values(c.server.faults ?? {}).flat().some((f) =>
    f === "silent" || f === "stall-tls"
  );
}

const emptyReply = /^the server sent an empty reply$/;
const readReset = /^network (read|write) error: (Connection reset by peer|Broken pipe)$/;

const CASES: FaultCase[] = [
  // ---- the connection dropped at each stage
  drop("greeting", { code: 76, message: emptyReply }),
  drop("ehlo", { code: 76, message: emptyReply }),
  drop("starttls", { code: 76, message: emptyReply, tls: "good" }),
  drop("auth", { code: 76, message: emptyReply, config: AUTH, server: { capabilities: CAPS } }),
  drop("mail", { code: 76, message: emptyReply }),
  drop("rcpt", { code: 76, message: emptyReply }),
  drop("data", { code: 76, message: emptyReply }),
  drop("body", {
    name: "the connection dropped in the middle of the mail data ends with EX_IOERR",
    code: 74,
    message: readReset,
    stdin: BIG_MAIL,
    racy: true,
  }),
  drop("dot", { code: 76, message: emptyReply }),
  // ---- a silent server at each stage
  silent("greeting"),
  silent("ehlo"),
  silent("starttls", { tls: "good" }),
  silent("auth", { config: AUTH, server: { capabilities: CAPS } }),
  silent("mail"),
  silent("rcpt"),
  silent("data"),
  silent("body"),
  silent("dot"),
  {
    name: "a TLS handshake the server never answers ends within the timeout",
    server: { faults: { starttls: "stall-tls" } },
    tls: "good",
    // a timeout is 74 wherever it happens, as at every other silent stage
    code: 74,
    message: /^TLS handshake failed: the operation timed out$/,
    postieOnly: "msmtp waits forever in the TLS handshake",
    hangsUpAtExit: "Deno cannot abort a native TLS handshake: closing its connection " +
      "waits for the handshake to end, which a silent server never lets happen",
  },
  // ---- 4xx and 5xx at every stage
  reply("greeting", "421 4.3.2 busy", 75, /^cannot get initial OK message from server$/, {
    postieOnly: "4xx at the greeting is EX_TEMPFAIL (msmtp: 76)",
  }),
  reply("greeting", "554 5.3.2 go away", 76, /^cannot get initial OK message from server$/),
  reply("ehlo", "421 4.3.2 closing", 75, /^SMTP server does not accept EHLO or HELO commands$/, {
    postieOnly: "4xx at EHLO is EX_TEMPFAIL (msmtp: 76)",
  }),
  reply("ehlo", "451 4.3.0 later", 75, /^SMTP server does not accept EHLO or HELO commands$/, {
    postieOnly: "4xx at EHLO/HELO is EX_TEMPFAIL (msmtp: 76)",
  }),
  reply("ehlo", "554 5.5.1 no", 76, /^SMTP server does not accept EHLO or HELO commands$/),
  reply("starttls", "454 4.7.0 TLS not available", 75, /^command STARTTLS failed$/, {
    tls: "good",
    postieOnly: "4xx at STARTTLS is EX_TEMPFAIL (msmtp: 76)",
  }),
  reply("starttls", "554 5.7.0 no TLS", 76, /^command STARTTLS failed$/, { tls: "good" }),
  reply("auth", "454 4.7.0 try later", 77, /^authentication failed \(method PLAIN\)$/, {
    config: AUTH,
    server: { faults: { auth: "454 4.7.0 try later" }, capabilities: CAPS },
  }),
  reply("auth", "535 5.7.8 bad credentials", 77, /^authentication failed \(method PLAIN\)$/, {
    config: AUTH,
    server: { faults: { auth: "535 5.7.8 bad credentials" }, capabilities: CAPS },
  }),
  reply("mail", "451 4.3.0 later", 69, /^envelope from address sender@example.com not accepted/),
  reply("mail", "553 5.7.1 not yours", 65, /^envelope from address sender@example.com not/),
  reply("rcpt", "450 4.2.0 mailbox busy", 69, /^recipient address rcpt@example.org not accepted/),
  reply("rcpt", "550 5.1.1 no such user", 65, /^recipient address rcpt@example.org not/),
  reply("data", "451 4.3.0 later", 69, /^the server does not accept mail data$/),
  reply("data", "554 5.5.1 no valid recipients", 65, /^the server does not accept mail data$/),
  reply("dot", "451 4.3.0 queue full", 69, /^the server did not accept the mail$/),
  reply("dot", "554 5.7.1 spam", 69, /^the server did not accept the mail$/),
  {
    name: "a 5xx reply to QUIT after the mail was accepted still succeeds",
    server: { faults: { quit: "500 5.5.1 what" } },
    code: 0,
    message: /^$/,
  },
  {
    name: "a connection dropped at QUIT after the mail was accepted still succeeds",
    server: { faults: { quit: "drop" } },
    code: 0,
    message: /^$/,
  },
  // ---- malformed and overlong replies
  reply("greeting", "hello there", 76, /^the server sent an invalid reply$/, {
    name: "a greeting that is not an SMTP reply is an invalid reply",
  }),
  reply("greeting", "220", 76, /^the server sent an invalid reply$/, {
    name: "a greeting of three digits only is an invalid reply",
  }),
  reply("greeting", "220 " + "x".repeat(2000), 76, /^the server sent an invalid reply$/, {
    name: "an overlong greeting line is an invalid reply",
  }),
  reply("mail", "250 " + "y".repeat(5000), 76, /^the server sent an invalid reply$/, {
    name: "an overlong reply to MAIL is an invalid reply",
  }),
  reply(
    "ehlo",
    Array.from({ length: 60 }, () => "250-X").join("\r\n") + "\r\n250 end\r\n",
    76,
    /^Rejecting server reply that is longer than 50 lines\. Increase SMTP_MAXLINES\.$/,
    { name: "an EHLO reply of 61 lines is refused as msmtp does" },
  ),
  reply("rcpt", "250-continued\r\n", 76, /^the server sent an invalid reply$/, {
    name: "a multi-line reply cut off by the server going away is an invalid reply",
    server: { faults: { rcpt: ["250-continued", "drop"] } },
  }),
  reply("mail", "25O ok", 76, /^the server sent an invalid reply$/, {
    name: "a reply code with a letter in it is an invalid reply",
  }),
  reply("dot", "250\tqueued", 76, /^the server sent an invalid reply$/, {
    name: "a reply with a tab after the code is an invalid reply",
  }),
  reply(
    "greeting",
    new Uint8Array([0x32, 0x32, 0x30, 0x20, 0xff, 0xfe, 0x00, 0x0d, 0x0a]),
    0,
    /^$/,
    {
      name: "invalid UTF-8 and NUL in the greeting text are harmless",
    },
  ),
  // ---- split replies
  {
    name: "every reply split byte by byte still delivers the mail",
    server: { bytewise: true, capabilities: ["PIPELINING", "8BITMIME"] },
    code: 0,
    message: /^$/,
  },
  {
    name: "a refusal split byte by byte is read whole",
    server: { bytewise: true, faults: { rcpt: "550-5.1.1 no such\r\n550 5.1.1 user\r\n" } },
    code: 65,
    message: /^recipient address rcpt@example.org not accepted by the server$/,
  },
  // ---- TLS failures
  {
    name: "a server that answers the TLS ClientHello with plaintext fails the handshake",
    server: { faults: { starttls: ["220 go ahead", "read", "this is not TLS at all", "drop"] } },
    tls: "good",
    code: 76,
    message: /^TLS handshake failed: /,
  },
  {
    name: "a certificate for another host name is refused",
    server: {},
    tls: "otherName",
    code: 69,
    message: /^TLS certificate verification failed: The certificate is NOT trusted\. /,
  },
  {
    name: "an expired certificate is refused",
    server: {},
    tls: "expired",
    code: 69,
    message: /^TLS certificate verification failed: The certificate is NOT trusted\. /,
  },
  {
    name: "a certificate from an untrusted CA is refused",
    server: {},
    tls: "untrusted",
    code: 69,
    message: /^TLS certificate verification failed: The certificate is NOT trusted\. /,
  },
];

const SKIP_MSMTP = MSMTP_MISSING !== undefined;

/** What one program did in one case. */
interface Observed extends RunResult {
  ms: number;
  /** When the client was started and when the process ended (performance.now()). */
  started: number;
  ended: number;
  /** When the server fell silent and when the client then hung up (performance.now()). */
  silentAt?: number;
  hungUpAt?: number;
  /** When the silent server began its last write before falling silent (performance.now()). */
  lastSaidAt?: number;
  log: string;
  /** Mails the server accepted with its final 250. */
  delivered: number;
  /** Every line the server received. */
  lines: string[];
}

let pki: Promise<TestPki> | undefined;
let pkiDir: string | undefined;
function getPki(): Promise<TestPki> {
  return pki ??= createTestPki().then((p) => {
    pkiDir = p.dir;
    return p;
  });
}

function certFiles(p: TestPki, which: ServerCert): { cert: string; key: string } {
  return {
    good: p.server,
    expired: p.expired,
    otherName: p.otherName,
    untrusted: p.untrusted,
  }[which];
}

async function observe(c: FaultCase, tool: "postie" | "msmtp", dir: string): Promise<Observed> {
  const p = c.tls ? await getPki() : undefined;
  const server = await startFaultServer({
    ...c.server,
    ...(p && c.tls ? certFiles(p, c.tls) : {}),
  });
  try {
    const home = `${dir}/home-${tool}`;
    await Deno.mkdir(home);
    const rc = `${dir}/rc-${tool}`;
    const lines = [
      "account default",
      "host 127.0.0.1",
      `port ${server.port}`,
      "from sender@example.com",
      "logfile ~/log",
      ...(p ? ["tls on", "tls_starttls on", `tls_trust_file ${p.ca.cert}`] : []),
      ...(c.config ?? []),
      "",
    ];
    await Deno.writeTextFile(rc, lines.join("\n"), { mode: 0o600 });
    const start = performance.now();
    const runner = tool === "postie" ? runPostie : runMsmtp;
    const timeout = fallsSilent(c) ? TIMEOUT : REPLY_TIMEOUT;
    const result = await runner(["-C", rc, `--timeout=${timeout}`, "rcpt@example.org"], {
      env: { HOME: home },
      stdin: c.stdin ?? MAIL,
    });
    const ended = performance.now();
    const ms = ended - start;
    const silent = server.sessions.findLast((s) => s.silentAt !== undefined);
    let log = "";
    try {
      log = await Deno.readTextFile(`${home}/log`);
    } catch {
      // no log line written
    }
    return {
      ...result,
      stderr: result.stderr.replaceAll(rc, "$RC").replaceAll(home, "$HOME"),
      ms,
      started: start,
      ended,
      silentAt: silent?.silentAt,
      hungUpAt: silent?.hungUpAt,
      lastSaidAt: silent?.lastSaidAt,
      log,
      delivered: server.sessions.filter((s) => s.delivered).length,
      lines: server.sessions.flatMap((s) => s.lines),
    };
  } finally {
    await server.close();
  }
}

interface Outcome {
  postie: Observed;
  msmtp?: Observed;
}

async function runCase(c: FaultCase): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "postie_faults_" });
  try {
    const [postie, msmtp] = await Promise.all([
      observe(c, "postie", dir),
      c.postieOnly || SKIP_MSMTP ? Promise.resolve(undefined) : observe(c, "msmtp", dir),
    ]);
    return msmtp ? { postie, msmtp } : { postie };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function startAll(cases: FaultCase[]): Map<string, Promise<Outcome>> {
  const results = new Map<string, Promise<Outcome>>();
  let running = 0;
  const waiting: Array<() => void> = [];
  for (const c of cases) {
    const p = (async () => {
      if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
      running++;
      try {
        return await runCase(c);
      } finally {
        running--;
        waiting.shift()?.();
      }
    })();
    p.catch(() => {}); // reported by the case's own test
    results.set(c.name, p);
  }
  return results;
}

/** The checks every run must pass, whatever the fault. */
function checkPostie(c: FaultCase, o: Observed): void {
  const context = `stderr: ${o.stderr}`;
  assert.equal(o.code, c.code, `exit code; ${context}`);
  assert.ok(o.ms < HANG_MS, `ended after ${Math.round(o.ms)} ms`);
  if (o.silentAt !== undefined) {
    // the server fell silent: the client's own timeout, measured by the server
    assert.ok(o.hungUpAt !== undefined, "the client hung up");
    // not before the timeout: timed from an event before the client's timer started
    const since = o.lastSaidAt ?? o.started;
    const waitedAtLeast = o.hungUpAt - since;
    assert.ok(
      waitedAtLeast >= TIMEOUT * 1000,
      `hung up ${waitedAtLeast.toFixed(1)} ms after ${
        o.lastSaidAt === undefined ? "being started" : "the server's last reply began"
      }`,
    );
    const waited = o.hungUpAt - o.silentAt;
    const late = TIMEOUT * 1000 + SLACK_MS + (c.hangsUpAtExit ? EXIT_MS : 0);
    assert.ok(waited < late, `hung up ${Math.round(waited)} ms after the server fell silent`);
    const exit = o.ended - o.hungUpAt;
    assert.ok(exit < EXIT_MS, `ended ${Math.round(exit)} ms after hanging up`);
  }
  assert.doesNotMatch(o.stderr, /internal error/);
  const lines = o.stderr.split("\n").filter((l) => l !== "");
  if (c.code === 0) {
    assert.deepEqual(lines, []);
    assert.equal(o.delivered, 1, "the server took the mail");
    assert.match(o.log, /exitcode=EX_OK$/m);
    return;
  }
  // one message, msmtp's server message lines, then could not send mail (and at most one
  // hint line after it, postie's own: README, "Errors that tell you what to do")
  if (lines.at(-1)?.startsWith("postie: hint: ")) lines.pop();
  assert.ok(!lines.some((l) => l.startsWith("postie: hint: ")), "one hint line, at the end");
  assert.ok(lines.length >= 2, context);
  for (const line of lines) assert.match(line, /^postie: /);
  assert.match(lines[0].slice("postie: ".length), c.message);
  for (const line of lines.slice(1, -1)) assert.match(line, /^postie: server message: /);
  assert.equal(lines.at(-1), "postie: could not send mail (account default from $RC)");
  assert.equal(o.delivered, 0, "no mail was delivered");
  assert.doesNotMatch(o.log, /EX_OK/, "the log never says an undelivered mail was sent");
  assert.match(o.log, /exitcode=EX_[A-Z]+$/m);
}

let started: Map<string, Promise<Outcome>> | undefined;
addEventListener("unload", () => {
  if (pkiDir) Deno.removeSync(pkiDir, { recursive: true });
});

for (const c of CASES) {
  Deno.test({
    name: c.postieOnly ? `${c.name} (deliberately unlike msmtp: ${c.postieOnly})` : c.name,
    // the cases run in the background, so operations span tests
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      started ??= startAll(CASES);
      const { postie, msmtp } = await started.get(c.name)!;
      checkPostie(c, postie);
      // a deliberate difference is named in the test; msmtp does not run for it
      if (c.postieOnly) return;
      await compareWithMsmtp(t, () => {
        assert.ok(msmtp, "msmtp ran");
        assert.equal(msmtp.code, postie.code, `msmtp's exit code; msmtp said: ${msmtp.stderr}`);
        if (c.racy) {
          const first = msmtp.stderr.split("\n")[0].replace(/^postie: /, "");
          assert.match(first, c.message);
        } else {
          assert.equal(withoutDocumentedDifferences(postie).stderr, msmtp.stderr);
        }
        assert.equal(postie.delivered, msmtp.delivered);
        return Promise.resolve();
      });
    },
  });
}

Deno.test("every fault case has a unique name", () => {
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
});
