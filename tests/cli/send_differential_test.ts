/**
 * Sendmail mode compared with Debian's msmtp 1.8.23: for every scenario of
 * `tests/support/send_scenarios.ts` both programs get the same msmtprc, arguments and
 * standard input and talk to the same capture server, one after the other. The SMTP
 * dialogue (envelope parameters included), the DATA bytes, the exit code, standard output
 * and standard error, and the log line must be equal; only the generated Date value, the
 * Message-ID's hex part and the log time stamp are normalised.
 *
 * The scenarios run a few at a time in the background; each test waits for its own.
 */

import assert from "node:assert/strict";
import { type CaptureServer, startCaptureServer } from "../../scripts/capture_server.ts";
import {
  haveMsmtp,
  runMsmtp,
  runPostie,
  type RunResult,
  withoutDocumentedDifferences,
} from "../support/differential.ts";
import { SCENARIOS, type SendScenario, SIMPLE } from "../support/send_scenarios.ts";

const SKIP = !haveMsmtp();
/** How many scenarios run at once. */
const PARALLEL = 8;

/** What one program did in one scenario, normalised for comparison. */
export interface Observed {
  code: number;
  stdout: string;
  stderr: string;
  /** The log file's content (empty when none was written). */
  log: string;
  /** The server's transcripts, one per session (`C:`, `S:`, `D:` lines). */
  sessions: string[][];
  /** The DATA of each mail received, dot-unstuffed, one character per byte. */
  mails: string[];
}

const DATE_VALUE = String.raw`[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`;
const DATE_LINE = new RegExp(String.raw`^((?:--> |D: )?Date: )${DATE_VALUE}(?=\r?$)`, "gm");
const MSGID_LINE = /^((?:--> |D: )?Message-ID: <)[0-9a-f]{32}\./gm;
/** msmtp's default `logfile_time_format`, `%b %d %H:%M:%S`. */
const DEFAULT_LOG_TIME = /^[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2}$/;

/** Replaces the generated Date value and the Message-ID's random part. */
export function normaliseGenerated(text: string): string {
  return text.replace(DATE_LINE, "$1<DATE>").replace(MSGID_LINE, "$1HEX.");
}

/** Bytes as a string of the same length, one character per byte, for exact comparison. */
function byteString(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

/** Replaces each log line's time stamp by `<TIME>` after checking its format. */
function normaliseLog(text: string, time: RegExp): string {
  return text.replace(/^(.*?) ((?:host|socket)=)/gm, (_all, stamp: string, key: string) => {
    assert.match(stamp, time, `log time stamp ${JSON.stringify(stamp)}`);
    return `<TIME> ${key}`;
  });
}

function rcText(s: SendScenario, port: number, dir: string): string {
  return [
    "defaults",
    "logfile ~/log",
    "",
    "account default",
    "host 127.0.0.1",
    `port ${port}`,
    "from sender@example.com",
    ...(s.config ?? []).map((line) => line.replaceAll("$DIR", dir).replaceAll("$PORT", `${port}`)),
    "",
  ].join("\n");
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

type Runner = (args: string[], options: Parameters<typeof runPostie>[1]) => Promise<RunResult>;

/** Runs one program for a scenario and collects everything the comparison needs. */
async function observe(
  s: SendScenario,
  runner: Runner,
  tool: string,
  dir: string,
  rc: string,
  port: number,
  server: CaptureServer | undefined,
): Promise<Observed> {
  const home = `${dir}/home-${tool}`;
  await Deno.mkdir(home);
  const before = server?.sessions.length ?? 0;
  const args = s.args.map((arg) => arg.replaceAll("$PORT", `${port}`));
  const result = await runner(s.noRc ? args : ["-C", rc, ...args], {
    cwd: dir,
    env: { HOME: home },
    stdin: s.stdin ?? SIMPLE,
  });
  let sessions: string[][] = [];
  let mails: string[] = [];
  if (server) {
    await server.waitForSessions(server.sessions.length);
    const mine = server.sessions.slice(before);
    sessions = mine.map((session) =>
      session.transcript.map((line) => normaliseGenerated(line).replaceAll(dir, "$DIR"))
    );
    mails = mine.flatMap((session) =>
      session.mails.map((mail) => normaliseGenerated(byteString(mail.data)))
    );
  }
  const clean = (text: string) =>
    normaliseGenerated(text).replaceAll(rc, "$RC").replaceAll(home, "$HOME")
      .replaceAll(`port ${port}`, "port $PORT").replaceAll(`port = ${port}`, "port = $PORT");
  const logTime = s.logTime ?? DEFAULT_LOG_TIME;
  const stdout = s.config?.includes("logfile -") || s.args.includes("--logfile=-")
    ? normaliseLog(result.stdout, logTime)
    : result.stdout;
  return {
    code: result.code,
    stdout: clean(stdout),
    stderr: clean(result.stderr),
    log: normaliseLog(await readOrEmpty(`${home}/log`), logTime).replaceAll(home, "$HOME"),
    sessions,
    mails,
  };
}

/** The outcome of one scenario: msmtp's and postie's observations (msmtp's absent with postieOnly). */
interface Outcome {
  msmtp?: Observed;
  postie: Observed;
}

async function runScenario(s: SendScenario): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "postie_senddiff_" });
  let server: CaptureServer | undefined;
  try {
    let port = 25;
    if (s.server === "closed") port = closedPort();
    else if (s.server !== "none") {
      server = startCaptureServer({ port: 0, ...(s.server ?? {}) });
      port = server.port;
    }
    for (const [name, text] of Object.entries(s.files ?? {})) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const rc = `${dir}/rc`;
    await Deno.writeTextFile(rc, rcText(s, port, dir));
    await Deno.chmod(rc, 0o600);
    const msmtp = s.postieOnly
      ? undefined
      : await observe(s, runMsmtp, "msmtp", dir, rc, port, server);
    const postie = await observe(
      s,
      (args, options) => runPostie(args, options).then(withoutDocumentedDifferences),
      "postie",
      dir,
      rc,
      port,
      server,
    );
    return msmtp ? { msmtp, postie } : { postie };
  } finally {
    await server?.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Starts every runnable scenario, at most PARALLEL at a time. */
function startAll(scenarios: SendScenario[]): Map<string, Promise<Outcome>> {
  const results = new Map<string, Promise<Outcome>>();
  const queue = [...scenarios];
  let running = 0;
  const waiting: Array<() => void> = [];
  const slot = async () => {
    if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  for (const s of queue) {
    const p = slot().then(() => runScenario(s)).finally(release);
    p.catch(() => {}); // reported by the scenario's own test
    results.set(s.name, p);
  }
  return results;
}

function rcptLines(o: Observed): string[] {
  return o.sessions.flat().filter((line) => line.startsWith("C: RCPT TO:"));
}

function checkPostieOnly(s: SendScenario, postie: Observed): void {
  const want = s.postieOnly!;
  assert.equal(postie.code, s.code, `postie's exit code; stderr: ${postie.stderr}`);
  if (want.stderr !== undefined) assert.equal(postie.stderr, want.stderr);
  if (want.sessions !== undefined) assert.equal(postie.sessions.length, want.sessions);
  if (want.data !== undefined) assert.deepEqual(postie.mails, [want.data]);
  if (want.rcpt !== undefined) assert.deepEqual(rcptLines(postie), want.rcpt);
  for (const mail of postie.mails) {
    assert.doesNotMatch(mail, /\r(?!\n)|(?<!\r)\n/, "only CRLF line ends reach the server");
  }
}

const runnable = SKIP ? [] : SCENARIOS.filter((s) => !s.ignore);
let started: Map<string, Promise<Outcome>> | undefined;

for (const s of SCENARIOS) {
  Deno.test({
    name: s.postieOnly ? `postie (deliberately unlike msmtp): ${s.name}` : s.name,
    ignore: SKIP || s.ignore === true,
    // the scenarios run in the background, so operations span tests
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      started ??= startAll(runnable);
      const outcome = await started.get(s.name)!;
      if (s.postieOnly) return checkPostieOnly(s, outcome.postie);
      const msmtp = outcome.msmtp!;
      assert.equal(msmtp.code, s.code, `msmtp's exit code; stderr: ${msmtp.stderr}`);
      // the scenario really reached the server (or really did not)
      const served = s.server !== "none" && s.server !== "closed" && s.code !== 64;
      assert.equal(msmtp.sessions.length, served ? 1 : 0, "msmtp's SMTP sessions");
      if (s.code === 0) assert.equal(msmtp.mails.length, 1, "mails msmtp delivered");
      assert.deepEqual(outcome.postie, msmtp);
    },
  });
}

Deno.test("every scenario has a unique name", () => {
  const names = SCENARIOS.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  assert.ok(SCENARIOS.length >= 60);
});
