/**
 * Runs a user's command through `sh -c` and takes the first line of its output: the
 * engine behind msmtprc's `eval` and `passwordeval`.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { runLimited } from "./subprocess.ts";

/**
 * How long an eval command may run when no `timeout` applies (a stuck pinentry, a hung
 * vault): the default network timeout, so a helper never waits longer than the connection.
 */
export const EVAL_TIMEOUT_MS = 60_000;

/**
 * An eval command reached its limit; it and every process it started were killed.
 * {@linkcode EvalTimeoutError.detail} is the sentence after the setting's name.
 */
export class EvalTimeoutError extends ConfigError {
  /** `'CMD' did not finish within N seconds; sh (pid P) and … were killed`. */
  readonly detail: string;

  /** The command, the limit in seconds, the pid of its `sh` and what the message starts with. */
  constructor(command: string, seconds: number, pid: number, setting = "eval command") {
    const detail = `'${command}' did not finish within ${seconds} second${
      seconds === 1 ? "" : "s"
    }; sh (pid ${pid}) and every process it started were killed`;
    super(`${setting} ${detail}`);
    this.name = "EvalTimeoutError";
    this.detail = detail;
  }
}

/**
 * Runs `sh -c command` and returns the first line of its standard output without the
 * line end (CR and LF stripped), or undefined when it printed nothing at all. Standard
 * error passes through to the user; the exit status is ignored, as msmtp ignores it. With
 * `env`, the command sees exactly those variables; otherwise the process's.
 *
 * The command runs in its own process group. Once `sh` has exited and a whole line was
 * read, the answer is there: a background process it left holding the output is not waited
 * for. At the limit the whole group is killed and an {@linkcode EvalTimeoutError} thrown.
 *
 * @example Usage
 * ```ts
 * import { runEvalCommand } from "./eval.ts";
 * console.log(await runEvalCommand("echo secret")); // "secret"
 * console.log(await runEvalCommand("true")); // undefined
 * ```
 */
export async function runEvalCommand(
  command: string,
  timeoutMs: number = EVAL_TIMEOUT_MS,
  env?: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  const r = await runLimited("sh", {
    args: ["-c", command],
    timeoutMs,
    // a caller that gives the environment gives all of it: nothing of the process leaks in
    ...(env === undefined ? {} : { env: { ...env }, clearEnv: true }),
    stderr: "inherit",
    enough: (out) => out.includes(0x0a),
  });
  if (r.timedOut) {
    throw new EvalTimeoutError(command, Math.max(1, Math.round(timeoutMs / 1000)), r.pid);
  }
  if (r.stdout.length === 0) return undefined;
  return firstLine(new TextDecoder().decode(r.stdout));
}

/**
 * The first line of `text`, without its LF and any CR before it.
 *
 * @example Usage
 * ```ts
 * import { firstLine } from "./eval.ts";
 * console.log(firstLine("pw\r\nrest\n")); // "pw"
 * ```
 */
export function firstLine(text: string): string {
  const nl = text.indexOf("\n");
  const line = nl === -1 ? text : text.slice(0, nl);
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * Evaluates `passwordeval`: the password, or a {@linkcode ConfigError} (exit 78) worded
 * as msmtp's `cannot read output of 'CMD'` when the command printed nothing.
 *
 * @example Usage
 * ```ts
 * import { evalPassword } from "./eval.ts";
 * console.log(await evalPassword("echo secret")); // "secret"
 * ```
 */
export async function evalPassword(
  command: string,
  run: (command: string) => Promise<string | undefined> = runEvalCommand,
): Promise<string> {
  let out: string | undefined;
  try {
    out = await run(command);
  } catch (error) {
    if (!(error instanceof EvalTimeoutError)) throw error;
    throw new ConfigError(`passwordeval ${error.detail}`);
  }
  if (out === undefined) throw new ConfigError(`cannot read output of '${command}'`);
  return out;
}
