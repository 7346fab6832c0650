/**
 * Runs a helper program (`passwordeval`, `eval`, a keyring tool) under a time limit that
 * holds: the helper runs in its own process group, the whole group is killed at the limit,
 * and reading stops then, even when a grandchild (`sleep 60 &`) still holds the output pipe.
 *
 * @module
 */

/** How a helper should run. */
export interface LimitedRunOptions {
  /** Arguments after the program. */
  args: string[];
  /** The limit in milliseconds. */
  timeoutMs: number;
  /** The environment; with `clearEnv` nothing else is passed. */
  env?: Record<string, string>;
  /** Start from an empty environment. */
  clearEnv?: boolean;
  /** Bytes for standard input; none (`/dev/null`) when absent. */
  input?: Uint8Array;
  /** Standard error goes to the user (`inherit`) or is collected (`piped`). */
  stderr: "inherit" | "piped";
  /**
   * Ends the wait as soon as the program itself has exited and this returns true for what
   * it printed, without waiting for the end of its output (which a background grandchild
   * may hold open).
   */
  enough?: (stdout: Uint8Array) => boolean;
}

/** What a helper run produced. */
export interface LimitedRunResult {
  /** The exit code, or null when it was killed at the limit. */
  code: number | null;
  /** Standard output read before the end (or the limit). */
  stdout: Uint8Array;
  /** Standard error read, when collected. */
  stderr: Uint8Array;
  /** The limit was reached: the process group was killed. */
  timedOut: boolean;
  /** The process id, for messages. */
  pid: number;
}

/** Collects a stream into one buffer until it ends or `stop()` is called. */
function collect(stream: ReadableStream<Uint8Array>): {
  bytes(): Uint8Array;
  done: Promise<void>;
  stop(): void;
  changed: (listener: () => void) => void;
} {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  let onChange = (): void => {};
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        chunks.push(value);
        onChange();
      }
    } catch {
      // cancelled at the limit
    }
  })();
  return {
    bytes(): Uint8Array {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    },
    done,
    stop(): void {
      reader.cancel().catch(() => {});
    },
    changed(listener): void {
      onChange = listener;
    },
  };
}

/**
 * Kills every process in the group led by `pid`. `Deno.kill` on a group needs unrestricted
 * `--allow-run`; `sh`, which the program may run anyway, does it with its `kill` builtin.
 */
async function killGroup(child: Deno.ChildProcess): Promise<void> {
  try {
    await new Deno.Command("sh", {
      args: ["-c", 'kill -s KILL -- "-$1"', "sh", String(child.pid)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // sh cannot run: at least the helper itself goes
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Runs `program` with a limit. Never throws for the helper's own failure; throws Deno's
 * error when it cannot be started (missing, not permitted).
 *
 * @example Usage
 * ```ts
 * import { runLimited } from "./subprocess.ts";
 * const r = await runLimited("sh", { args: ["-c", "sleep 5 & echo hi"], timeoutMs: 2000, stderr: "inherit", enough: (out) => out.includes(10) });
 * console.log(new TextDecoder().decode(r.stdout), r.timedOut); // "hi\n" false
 * ```
 */
export async function runLimited(
  program: string,
  options: LimitedRunOptions,
): Promise<LimitedRunResult> {
  const child = new Deno.Command(program, {
    args: options.args,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: options.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: options.stderr,
    // A new session, hence a new process group whose id is the child's pid, so the limit
    // can kill everything the helper started.
    detached: true,
  }).spawn();
  const out = collect(child.stdout);
  const err = options.stderr === "piped" ? collect(child.stderr) : undefined;
  if (options.input !== undefined) {
    const writer = child.stdin.getWriter();
    writer.write(options.input).then(() => writer.close()).catch(() => {
      // the helper exited without reading; its status says why
    });
  }
  let exited: Deno.CommandStatus | undefined;
  let settle = (): void => {};
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const status = child.status.then((s) => {
    exited = s;
    if (options.enough?.(out.bytes())) settle();
  });
  out.changed(() => {
    if (exited && options.enough?.(out.bytes())) settle();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<"limit">((resolve) => {
    timer = setTimeout(() => resolve("limit"), options.timeoutMs);
  });
  const outcome = await Promise.race([
    Promise.all([status, out.done, err?.done]).then(() => "done" as const),
    settled.then(() => "enough" as const),
    limit,
  ]);
  clearTimeout(timer);
  if (outcome !== "done") {
    if (outcome === "limit") await killGroup(child);
    out.stop();
    err?.stop();
  }
  if (outcome === "limit") await child.status;
  return {
    code: outcome === "limit" ? null : exited?.code ?? null,
    stdout: out.bytes(),
    stderr: err?.bytes() ?? new Uint8Array(0),
    timedOut: outcome === "limit",
    pid: child.pid,
  };
}
