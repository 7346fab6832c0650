/**
 * Running programs as an unprivileged user (nobody, uid and gid 65534) from a root test run,
 * for the checks msmtp skips for root: the private config file, unreadable files.
 */

import { POSTIE, ROOT, run, type RunResult } from "./differential.ts";

/** nobody's uid and gid. */
export const NOBODY = 65534;

/** Whether the tests run as root, which they must to switch to nobody. */
export const IS_ROOT: boolean = Deno.uid() === 0;

/** Makes `${dir}/home`, owned by nobody, inside a directory nobody may enter. */
export async function nobodyHome(dir: string): Promise<string> {
  await Deno.chmod(dir, 0o755);
  const home = `${dir}/home`;
  await Deno.mkdir(home);
  await Deno.chown(home, NOBODY, NOBODY);
  return home;
}

let runnableCopy: Promise<string> | undefined;

/** Whether every directory above `path` lets others in, and others may run `path`. */
async function othersCanRun(path: string): Promise<boolean> {
  try {
    if (((await Deno.stat(path)).mode ?? 0) & 0o005 ^ 0o005) return false;
    for (let dir = path.slice(0, path.lastIndexOf("/")); dir !== "";) {
      if ((((await Deno.stat(dir)).mode ?? 0) & 0o001) === 0) return false;
      dir = dir.slice(0, dir.lastIndexOf("/"));
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The postie nobody runs. The checkout may sit where other users cannot enter (a clone
 * under /root, any `mktemp -d`); then postie is built once per test process into a
 * world-readable temporary prefix (`deno task build --prefix`), removed when it ends.
 */
function postieForNobody(): Promise<string> {
  runnableCopy ??= (async () => {
    if (await othersCanRun(POSTIE)) return POSTIE;
    const dir = await Deno.makeTempDir({ prefix: "postie-for-nobody-" });
    await Deno.chmod(dir, 0o755);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "build", "--prefix", dir],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno task build --prefix ${dir}: ${new TextDecoder().decode(out.stderr)}`);
    }
    const chmod = await new Deno.Command("chmod", { args: ["-R", "a+rX", dir] }).output();
    if (!chmod.success) throw new Error(`chmod -R a+rX ${dir} failed`);
    return `${dir}/bin/postie`;
  })();
  return runnableCopy;
}

/**
 * Runs a program as nobody with HOME set to `home`. postie itself (`POSTIE`) runs from a
 * build nobody can reach, wherever the checkout is.
 */
export async function asNobody(
  program: string,
  args: string[],
  home: string,
  stdin: string,
): Promise<RunResult> {
  const runnable = program === POSTIE ? await postieForNobody() : program;
  return await run(
    "setpriv",
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", runnable, ...args],
    { env: { HOME: home }, stdin },
  );
}
