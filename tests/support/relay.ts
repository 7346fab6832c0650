/**
 * `postie -bd` as a child process for the relay tests: a private directory holding its
 * configuration and queue, a free port on 127.0.0.1, its standard error collected, and
 * stopping by PID (SIGTERM, or SIGKILL to play a crash).
 */

import { POSTIE } from "./differential.ts";
import { canConnect, delay, freePort, killOnExit } from "./process.ts";

/** Deno's module cache of the test process, passed on so postie is not compiled again. */
const DENO_DIR: string = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache`}/deno`;

/** Options of {@linkcode startRelayProcess}. */
export interface RelayProcessOptions {
  /** The msmtprc text; `%SPOOL%` and `%DIR%` are replaced by the spool and the directory. */
  config: string;
  /** More arguments after `-bd -C FILE --listen=…`. */
  args?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** Reuse this directory (a restart after a crash); a new one by default. */
  dir?: string;
  /** Reuse this port. */
  port?: number;
}

/** A running `postie -bd`. */
export interface RelayProcess {
  port: number;
  pid: number;
  /** Holds `rc` (the configuration) and `spool/` (the queue directory). */
  dir: string;
  spool: string;
  /** Standard error so far. */
  stderr(): string;
  /** Waits (bounded) until standard error matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number>;
  /** SIGKILL, then waits. */
  kill9(): Promise<void>;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
}

/** Starts `postie -bd` and resolves once its port accepts connections. */
export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "postie-relay-" });
  const spool = `${dir}/spool`;
  const port = options.port ?? freePort();
  const rc = `${dir}/rc`;
  await Deno.writeTextFile(
    rc,
    options.config.replaceAll("%SPOOL%", spool).replaceAll("%DIR%", dir),
    { mode: 0o600 },
  );
  const child = new Deno.Command(POSTIE, {
    args: ["-bd", "-C", rc, `--listen=127.0.0.1:${port}`, ...(options.args ?? [])],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      DENO_DIR,
      ...options.env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const cancelKill = killOnExit(child.pid);
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const status = child.status.then(async (s) => {
    cancelKill();
    await reading.catch(() => {});
    return s;
  });
  let exited = false;
  status.then(() => exited = true);
  for (let i = 0; i < 200 && !(await canConnect(port)); i++) {
    if (exited) throw new Error(`postie -bd exited: ${text}`);
    await delay(50);
  }
  if (!(await canConnect(port))) {
    child.kill("SIGKILL");
    throw new Error(`postie -bd did not listen on ${port}: ${text}`);
  }
  return {
    port,
    pid: child.pid,
    dir,
    spool,
    stderr: () => text,
    async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const m = pattern.exec(text);
        if (m) return m[0];
        await delay(50);
      }
      throw new Error(`timed out waiting for ${pattern} in:\n${text}`);
    },
    async stop(): Promise<number> {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      return (await status).code;
    },
    async kill9(): Promise<void> {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await status;
    },
    status,
  };
}

/** Runs a Python smtplib script (the body of a function with `port` defined). */
export async function python(
  script: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("python3", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/**
 * Whether a test must be skipped for a missing prerequisite (`reason`); the skip is
 * visible (`ignore`), and under CI (`CI=true`) a failing test named after it is added.
 */
export function missing(reason: string | undefined, what: string): boolean {
  if (reason !== undefined && Deno.env.get("CI") === "true") {
    Deno.test(`${what} can run (prerequisite)`, () => {
      throw new Error(`${what}: ${reason}`);
    });
  }
  return reason !== undefined;
}
