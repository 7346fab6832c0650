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

/** What `scripts/postie` needs to run, relative to the repository root. */
const RUNNABLE = ["scripts/postie", "main.ts", "deno.json", "deno.lock", "lib"];

let runnableCopy: Promise<string> | undefined;

/** Copies `from` to `to` (files and directories), readable by everyone. */
async function copyReadable(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isDirectory) {
    await Deno.mkdir(to, { mode: 0o755 });
    await Deno.chmod(to, 0o755);
    for await (const entry of Deno.readDir(from)) {
      await copyReadable(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
    return;
  }
  await Deno.copyFile(from, to);
  // executables stay executable (scripts/postie), for everyone
  await Deno.chmod(to, (info.mode ?? 0) & 0o111 ? 0o755 : 0o644);
}

/**
 * The path of a copy of postie that nobody can run. The checkout may sit where other users
 * cannot enter (a clone under /root, any `mktemp -d`), so what `scripts/postie` runs is
 * copied once per test process to a world-readable directory, removed when the process ends.
 */
function postieForNobody(): Promise<string> {
  runnableCopy ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "postie-for-nobody-" });
    await Deno.chmod(dir, 0o755);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    await Deno.mkdir(`${dir}/scripts`, { mode: 0o755 });
    await Deno.chmod(`${dir}/scripts`, 0o755);
    for (const path of RUNNABLE) await copyReadable(`${ROOT}/${path}`, `${dir}/${path}`);
    return `${dir}/scripts/postie`;
  })();
  return runnableCopy;
}

/**
 * Runs a program as nobody with HOME set to `home`. Deno's module cache goes under that
 * HOME too, since nobody cannot read root's. postie itself (`POSTIE`) runs from a copy
 * nobody can read, wherever the checkout is.
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
    { env: { HOME: home, DENO_DIR: `${home}/.deno` }, stdin },
  );
}
