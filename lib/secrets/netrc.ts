/**
 * The netrc format (ftp(1)) as msmtp reads it (netrc.c, from fetchmail): `machine`,
 * `login`/`user`, `password`/`passwd`, `account`, `macdef`, `default`, quoted tokens and
 * `#` comments.
 *
 * @module
 */

import { sysconfDir } from "../sysconf.ts";

/** An entry while it is being read. */
interface Draft {
  host: string | null;
  login: string | null;
  password: string | null;
}

/** One `machine` entry. */
export interface NetrcEntry {
  /** The machine name; null for the `default` entry, which never matches. */
  host: string | null;
  /** The login name. */
  login: string;
  /** The password, when the entry has one. */
  password: string | null;
}

/**
 * The system netrc file, `SYSCONFDIR/netrc`.
 *
 * @example Usage
 * ```ts
 * import { systemNetrcPath } from "./netrc.ts";
 * console.log(systemNetrcPath({ getenv: () => undefined })); // "/etc/netrc"
 * ```
 */
export function systemNetrcPath(env: { getenv(name: string): string | undefined }): string {
  return `${sysconfDir(env)}/netrc`;
}

/**
 * Parses netrc text into its entries, in file order. As in msmtp, an entry without a
 * login is dropped (so it matches no user); `macdef` skips lines up to the next empty
 * one; unknown words are ignored.
 *
 * @example Usage
 * ```ts
 * import { parseNetrc } from "./netrc.ts";
 * const entries = parseNetrc("machine mail.example login alice password s3cret\n");
 * console.log(entries[0].login); // "alice"
 * ```
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  // Login and password before the first `machine` or `default` belong to no entry.
  const state: { current: Draft | null } = { current: null };
  let pending: "login" | "password" | "machine" | "account" | "macdef" | null = null;
  let inMacro = false;

  const finish = (): void => {
    const done = state.current;
    if (done !== null && done.login !== null) {
      entries.push({ host: done.host, login: done.login, password: done.password });
    }
    state.current = { host: null, login: null, password: null };
  };

  for (const rawLine of text.split("\n")) {
    const line = rawLine.replace(/\s+$/, "");
    if (inMacro) {
      // A macro body runs to the first empty (or blank) line.
      if (line === "") inMacro = false;
      continue;
    }
    let p = 0;
    while (p < line.length) {
      while (p < line.length && isSpace(line[p])) p++;
      if (p >= line.length || line[p] === "#") break;
      let token = "";
      let quote = "";
      while (p < line.length && (quote !== "" || !isSpace(line[p]))) {
        const c = line[p++];
        if (quote !== "") {
          if (c === quote) quote = "";
          else token += c;
        } else if (c === '"' || c === "'") {
          quote = c;
        } else {
          token += c;
        }
      }
      if (pending !== null) {
        if (pending === "machine") {
          finish();
          state.current!.host = token;
        }
        const cur = state.current;
        if (pending === "login" && cur) {
          cur.login = token;
        } else if (pending === "password" && cur) {
          cur.password = token;
        }
        pending = null;
        continue;
      }
      switch (token) {
        case "default":
          finish();
          break;
        case "login":
        case "user":
          pending = "login";
          break;
        case "password":
        case "passwd":
          pending = "password";
          break;
        case "machine":
          pending = "machine";
          break;
        case "account":
          pending = "account";
          break;
        case "macdef":
          // The macro name and the rest of the line are skipped with the body.
          inMacro = true;
          break;
      }
      if (inMacro) break;
    }
  }
  finish();
  return entries;
}

/**
 * The first entry for `host` whose login is `login`, or undefined.
 *
 * @example Usage
 * ```ts
 * import { parseNetrc, searchNetrc } from "./netrc.ts";
 * const entries = parseNetrc("machine a login bob password x\nmachine a login alice password y");
 * console.log(searchNetrc(entries, "a", "alice")?.password); // "y"
 * ```
 */
export function searchNetrc(
  entries: readonly NetrcEntry[],
  host: string,
  login: string,
): NetrcEntry | undefined {
  return entries.find((e) => e.host !== null && e.host === host && e.login === login);
}

/**
 * The password for `host` and `login` from the netrc file at `path`; null when the file
 * cannot be read, has no matching entry, or the entry has no password.
 *
 * @example Usage
 * ```ts ignore
 * import { netrcPassword } from "./netrc.ts";
 * const pw = await netrcPassword("/home/joe/.netrc", "mail.example", "joe");
 * ```
 */
export async function netrcPassword(
  path: string,
  host: string,
  login: string,
): Promise<string | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return null;
  }
  return searchNetrc(parseNetrc(text), host, login)?.password ?? null;
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n" || c === "\f" || c === "\v";
}
