/**
 * Running programs as an unprivileged user (nobody, uid and gid 65534) from a root test run,
 * for the checks msmtp skips for root: the private config file, unreadable files.
 */

import { run, type RunResult } from "./differential.ts";

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

/** Runs a program as nobody with HOME set to `home`. */
export function asNobody(
  program: string,
  args: string[],
  home: string,
  stdin: string,
): Promise<RunResult> {
  return run(
    "setpriv",
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", program, ...args],
    { env: { HOME: home }, stdin },
  );
}
