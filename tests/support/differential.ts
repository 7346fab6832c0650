/**
 * Runs Debian's msmtp and postie side by side with the same arguments, environment and
 * standard input, so tests can compare their output byte for byte.
 */

import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
/**
 * The command users run, so what is tested is what is installed: `$POSTIE_BIN` when set (an
 * installed postie, say /usr/local/bin/postie), else the artifact `deno task build` puts in
 * the repository's git-ignored `.build/` (scripts/test.sh builds it first; a test file run
 * on its own after a source change rebuilds it here, one process at a time).
 */
export const POSTIE: string = await builtPostie();

async function builtPostie(): Promise<string> {
  const installed = Deno.env.get("POSTIE_BIN");
  if (installed !== undefined && installed !== "") return installed;
  const prefix = `${ROOT}/.build`;
  const launcher = `${prefix}/bin/postie`;
  const lock = `${ROOT}/.build.lock`;
  for (let waited = 0; !(await isFresh(launcher)); waited++) {
    if (waited >= 600) throw new Error(`${launcher}: still not built after 60 s (${lock}?)`);
    let owner: Deno.FsFile | undefined;
    try {
      owner = await Deno.open(lock, { write: true, createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100)); // another process builds
      continue;
    }
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "build", "--prefix", prefix],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`deno task build: ${new TextDecoder().decode(out.stderr)}`);
    } finally {
      owner.close();
      await Deno.remove(lock);
    }
  }
  return launcher;
}

/** Whether the launcher exists and is newer than every source file it is built from. */
async function isFresh(launcher: string): Promise<boolean> {
  let built: number;
  try {
    built = (await Deno.stat(launcher)).mtime?.getTime() ?? 0;
  } catch {
    return false;
  }
  const newest = async (path: string): Promise<number> => {
    const info = await Deno.stat(path);
    let time = info.mtime?.getTime() ?? 0;
    if (info.isDirectory) {
      for await (const entry of Deno.readDir(path)) {
        time = Math.max(time, await newest(`${path}/${entry.name}`));
      }
    }
    return time;
  };
  const sources = [
    "main.ts",
    "deno.json",
    "deno.lock",
    "lib",
    "scripts/build.ts",
  ];
  for (const source of sources) {
    if ((await newest(`${ROOT}/${source}`)) > built) return false;
  }
  return true;
}

/** What a program printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run a program. */
export interface RunOptions {
  /** Extra environment (merged over a minimal base with HOME and PATH). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Standard input; the empty string when absent. */
  stdin?: string | Uint8Array;
  /** Replace the whole environment instead of the minimal base. */
  bareEnv?: boolean;
}

/** Whether Debian's msmtp is installed here. */
export function haveMsmtp(): boolean {
  try {
    return Deno.statSync("/usr/bin/msmtp").isFile;
  } catch {
    return false;
  }
}

/** Runs one program and collects its output. */
export async function run(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const base: Record<string, string> = options.bareEnv ? {} : {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: options.env?.HOME ?? "/nonexistent",
    LANG: "C",
    LC_ALL: "C",
  };
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: { ...base, ...options.env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const input = options.stdin ?? "";
  await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input)
    .catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs the built postie (see POSTIE). */
export function runPostie(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(POSTIE, args, options);
}

/** Runs msmtp and rewrites its program name to postie's, so outputs compare directly. */
export async function runMsmtp(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run("/usr/bin/msmtp", args, options);
  const rename = (text: string) => text.replace(/^msmtp: /gm, "postie: ");
  return { ...result, stdout: rename(result.stdout), stderr: rename(result.stderr) };
}

/**
 * postie's output with its documented differences from msmtp taken out, for comparing the
 * two: the `hint:` line after an error (README, "Errors that tell you what to do") and the
 * default `timeout` (60 seconds; msmtp has none and prints `off`). Everything else must match.
 */
export function withoutDocumentedDifferences(result: RunResult): RunResult {
  return {
    ...result,
    stdout: result.stdout.replace(/^timeout = 60 seconds$/gm, "timeout = off"),
    stderr: result.stderr.replace(/^[^\n:]+: hint: .*\n/gm, ""),
  };
}

/** Why comparisons with msmtp cannot run here, or undefined when they can. */
export const MSMTP_MISSING: string | undefined = haveMsmtp()
  ? undefined
  : "Debian's msmtp is not installed (/usr/bin/msmtp)";

/**
 * Runs `compare` as a step of `t`: a visible skip when msmtp is missing (and, through
 * scripts/test.sh, a failure under CI), never a pass without comparing.
 */
export async function compareWithMsmtp(
  t: Deno.TestContext,
  compare: () => Promise<void>,
  name = "msmtp 1.8.23 agrees",
): Promise<void> {
  await t.step({
    name: MSMTP_MISSING === undefined ? name : `${name} (skipped: ${MSMTP_MISSING})`,
    ignore: MSMTP_MISSING !== undefined,
    fn: compare,
  });
}
