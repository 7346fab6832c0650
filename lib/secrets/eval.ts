/**
 * Runs a user's command through `sh -c` and takes the first line of its output: the
 * engine behind msmtprc's `eval` and `passwordeval`.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** How long an eval command may run before it is killed (a stuck pinentry, a hung vault). */
export const EVAL_TIMEOUT_MS = 60_000;

/**
 * Runs `sh -c command` and returns the first line of its standard output without the
 * line end (CR and LF stripped), or undefined when it printed nothing at all. Standard
 * error passes through to the user; the exit status is ignored, as msmtp ignores it. With
 * `env`, the command sees exactly those variables; otherwise the process's.
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
  const child = new Deno.Command("sh", {
    args: ["-c", command],
    // a caller that gives the environment gives all of it: nothing of the process leaks in
    ...(env === undefined ? {} : { env: { ...env }, clearEnv: true }),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It ended between the timeout firing and the kill.
    }
  }, timeoutMs);
  try {
    const { stdout } = await child.output();
    if (stdout.length === 0) return undefined;
    return firstLine(new TextDecoder().decode(stdout));
  } finally {
    clearTimeout(timer);
  }
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
  const out = await run(command);
  if (out === undefined) throw new ConfigError(`cannot read output of '${command}'`);
  return out;
}
