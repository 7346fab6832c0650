/**
 * `.env` files: the variables a configuration refers to with `{ env = "NAME" }`, read
 * with dotenv's parser. The values are secrets: no message here ever contains one.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { ExitCode } from "../exit.ts";

/** Owner and permission bits of a file (null where the platform has none). */
export interface DotenvFileStat {
  /** The owner's user id. */
  uid: number | null;
  /** The permission bits (`st_mode`). */
  mode: number | null;
}

/**
 * The file access {@linkcode loadDotenv} needs. Without `stat` and `uid` the file's
 * owner and permissions are not checked (resolve.ts's `Env` fits this shape).
 */
export interface DotenvIo {
  /** Reads a whole file; throws Deno's errors (NotFound, PermissionDenied, …). */
  readTextFile(path: string): Promise<string>;
  /** The owner and mode of a file. */
  stat?(path: string): Promise<DotenvFileStat>;
  /** The effective user id; 0 (root) skips the check, as msmtp does. */
  uid?(): number | null;
}

/** Reading from disk, with the ownership and permission check. */
const DENO_IO: DotenvIo = {
  readTextFile: (path) => Deno.readTextFile(path),
  stat: async (path) => {
    const info = await Deno.stat(path);
    return { uid: info.uid, mode: info.mode };
  },
  uid: () => Deno.uid(),
};

const OPEN_FAILURES: Record<string, string> = {
  NotFound: "No such file or directory",
  PermissionDenied: "Permission denied",
  IsADirectory: "Is a directory",
};

/**
 * Reads and parses a `.env` file (`NAME=value`, quotes, `export`, `#` comments, as
 * dotenv 16 reads them). The file holds secrets, so like an msmtprc file with a
 * `password` it must be owned by the user and readable by no one else (unless running
 * as root). Failures are {@linkcode ConfigError}s naming the file, never a value:
 * `FILE: No such file or directory` (exit 78), other read errors exit 74.
 *
 * @example Usage
 * ```ts
 * import { loadDotenv } from "./dotenv.ts";
 * const vars = await loadDotenv(".env", {
 *   readTextFile: () => Promise.resolve("SMTP_PASSWORD='s3cret'\n"),
 * });
 * console.log(Object.keys(vars)); // ["SMTP_PASSWORD"]
 * ```
 */
export async function loadDotenv(
  path: string,
  io: DotenvIo = DENO_IO,
): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await io.readTextFile(path);
    if (io.stat !== undefined && io.uid !== undefined) await checkPrivate(path, io);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const name = e instanceof Error ? e.name : "";
    const failure = OPEN_FAILURES[name];
    if (failure !== undefined) throw new ConfigError(failure, { file: path }, { cause: e });
    throw new ConfigError("input error", { file: path, exitCode: ExitCode.IOERR }, { cause: e });
  }
  // dotenv is loaded only when a .env file is actually used: start-up time matters.
  const { parse } = await import("npm:dotenv@^16");
  // A prototype-free record, so a variable named `constructor` is just a variable.
  return Object.assign(Object.create(null), parse(text)) as Record<string, string>;
}

/** msmtp's rule for files holding secrets, in its words. */
async function checkPrivate(path: string, io: DotenvIo): Promise<void> {
  const uid = io.uid?.() ?? null;
  if (uid === null || uid === 0 || io.stat === undefined) return;
  const stat = await io.stat(path);
  if (stat.uid !== null && stat.uid !== uid) {
    throw new ConfigError("contains secrets and therefore must be owned by you", { file: path });
  }
  // No execute bit for the owner, nothing at all for group and others.
  if (stat.mode !== null && (stat.mode & 0o177) !== 0) {
    throw new ConfigError(
      "contains secrets and therefore must have no more than user read/write permissions",
      { file: path },
    );
  }
}
