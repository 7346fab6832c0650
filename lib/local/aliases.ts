/**
 * The system aliases file (`/etc/aliases`, aliases(5)) for mail delivered on this host:
 * `name: target, target`, continuation lines starting with a blank, `#` comments at the
 * start of a line, names compared without case. A target is a mail address (forwarded), a
 * local name (looked up again, or the user's mailbox when it names itself or is written
 * `\name`) or an absolute path (an mbox file). Pipes (`|command`) and `:include:` are
 * refused: postie runs no programs on behalf of mail.
 *
 * This is not msmtp's `aliases` file (`lib/message/aliases.ts`), which rewrites recipients
 * before they are sent to a relay and has a `default:` entry; this one is the
 * `local_aliases` command and is read only for mail delivered on this host.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** One parsed `name: targets` entry. */
export interface LocalAliasEntry {
  /** The targets as written, in order. */
  targets: string[];
  /** The line the entry starts on. */
  line: number;
}

/** A parsed system aliases file. */
export interface LocalAliasTable {
  /** The file it came from, for error messages. */
  file: string;
  /** Lower-case name → entry. */
  entries: Map<string, LocalAliasEntry>;
}

/** Where one local recipient's mail ends up. */
export type LocalTarget =
  | { kind: "remote"; address: string }
  | { kind: "mailbox"; user: string }
  | { kind: "file"; path: string };

/** sendmail's and Postfix's bound on nested aliases. */
const MAX_DEPTH = 20;

function trim(s: string): string {
  return s.replace(/^[ \t\r]+|[ \t\r]+$/g, "");
}

/** Splits a target list at commas outside double quotes. */
function splitTargets(text: string): string[] {
  const targets: string[] = [];
  let current = "";
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      targets.push(trim(current));
      current = "";
    } else {
      current += c;
    }
  }
  targets.push(trim(current));
  return targets.filter((t) => t !== "").map((t) =>
    t.length > 1 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t
  );
}

function checkTarget(target: string, file: string, line: number): void {
  if (target.startsWith("|")) {
    throw new ConfigError(
      `line ${line}: pipe targets are not supported (${target}); deliver to a mailbox or an address`,
      { file },
    );
  }
  if (target.toLowerCase().startsWith(":include:")) {
    throw new ConfigError(`line ${line}: :include: is not supported (${target})`, { file });
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(target)) {
    throw new ConfigError(`line ${line}: control character in target`, { file });
  }
}

/**
 * Parses the text of a system aliases file. Errors name the file and line (EX_CONFIG).
 *
 * @example Usage
 * ```ts
 * import { parseLocalAliases } from "./aliases.ts";
 * const t = parseLocalAliases("# cron mail\nRoot: admin@example.org,\n  ops\nops: alice\n", "a");
 * console.log(t.entries.get("root")?.targets); // ["admin@example.org", "ops"]
 * ```
 */
export function parseLocalAliases(text: string, file: string): LocalAliasTable {
  const entries = new Map<string, LocalAliasEntry>();
  // Join continuation lines (starting with a blank) to the entry they continue.
  const logical: { text: string; line: number }[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, "");
    if (/^[ \t]*#/.test(content) || trim(content) === "") return;
    if (/^[ \t]/.test(content)) {
      const last = logical[logical.length - 1];
      if (last === undefined) {
        throw new ConfigError(`line ${line}: continuation line without an alias`, { file });
      }
      last.text += " " + trim(content);
      return;
    }
    logical.push({ text: content, line });
  });
  for (const { text: entry, line } of logical) {
    const colon = entry.indexOf(":");
    if (colon < 0) throw new ConfigError(`line ${line}: ':' expected after the name`, { file });
    let name = trim(entry.slice(0, colon));
    if (name.length > 1 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1);
    if (name === "" || /[\s@]/.test(name)) {
      throw new ConfigError(`line ${line}: invalid alias name '${name}'`, { file });
    }
    const key = name.toLowerCase();
    if (entries.has(key)) {
      throw new ConfigError(
        `line ${line}: duplicate alias '${name}' (first on line ${entries.get(key)?.line})`,
        { file },
      );
    }
    const targets = splitTargets(entry.slice(colon + 1));
    if (targets.length === 0) {
      throw new ConfigError(`line ${line}: alias '${name}' has no target`, { file });
    }
    for (const target of targets) checkTarget(target, file, line);
    entries.set(key, { targets, line });
  }
  return { file, entries };
}

/**
 * Where one local name's mail goes: aliases are followed depth first; a name that lists
 * itself (`root: root, admin@x`) or is written `\name` is that user's mailbox; a name
 * without an entry is a mailbox. Duplicates are dropped.
 *
 * @throws {ConfigError} on a loop (`alias loop: a -> b -> a`) or nesting deeper than 20.
 *
 * @example Usage
 * ```ts
 * import { parseLocalAliases, resolveLocal } from "./aliases.ts";
 * const t = parseLocalAliases("root: root, ops\nops: alice, bob@example.org\n", "a");
 * console.log(resolveLocal("root", t));
 * // [{ kind: "mailbox", user: "root" }, { kind: "mailbox", user: "alice" },
 * //  { kind: "remote", address: "bob@example.org" }]
 * ```
 */
export function resolveLocal(name: string, table: LocalAliasTable | undefined): LocalTarget[] {
  const out: LocalTarget[] = [];
  const seen = new Set<string>();
  const add = (target: LocalTarget): void => {
    const key = target.kind === "remote"
      ? `r:${target.address.toLowerCase()}`
      : target.kind === "mailbox"
      ? `m:${target.user}`
      : `f:${target.path}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(target);
  };
  const listsItself = (alias: string): boolean =>
    table?.entries.get(alias.toLowerCase())?.targets.some((t) =>
      t.toLowerCase() === alias.toLowerCase()
    ) ?? false;
  const walk = (current: string, path: string[]): void => {
    const key = current.toLowerCase();
    const entry = table?.entries.get(key);
    if (entry === undefined) return add({ kind: "mailbox", user: current });
    if (path.length >= MAX_DEPTH) {
      throw new ConfigError(`aliases nested deeper than ${MAX_DEPTH} for ${name}`, {
        file: table?.file,
      });
    }
    for (const target of entry.targets) {
      if (target.startsWith("/")) add({ kind: "file", path: target });
      else if (target.includes("@")) add({ kind: "remote", address: target });
      else if (target.startsWith("\\")) add({ kind: "mailbox", user: target.slice(1) });
      else if (target.toLowerCase() === key) add({ kind: "mailbox", user: target });
      else if (path.includes(target.toLowerCase()) && listsItself(target)) {
        // back at a name that keeps its own mail: that mailbox, already counted
        add({ kind: "mailbox", user: target });
      } else if (path.includes(target.toLowerCase())) {
        throw new ConfigError(
          `alias loop: ${[...path, key, target.toLowerCase()].join(" -> ")}`,
          { file: table?.file, line: entry.line },
        );
      } else walk(target, [...path, key]);
    }
  };
  walk(name, []);
  return out;
}

/**
 * Checks every entry of a table the way delivery would follow it (loops, depth), for the
 * `newaliases` command. Returns the number of aliases.
 *
 * @throws {ConfigError} the first problem found.
 *
 * @example Usage
 * ```ts
 * import { parseLocalAliases, validateLocalAliases } from "./aliases.ts";
 * console.log(validateLocalAliases(parseLocalAliases("a: b\nb: c@example.org\n", "f"))); // 2
 * ```
 */
export function validateLocalAliases(table: LocalAliasTable): number {
  for (const name of table.entries.keys()) resolveLocal(name, table);
  return table.entries.size;
}

/**
 * Reads and parses an aliases file. A missing file is no aliases when `optional` (the
 * default `/etc/aliases`), an error otherwise (EX_CONFIG, or EX_NOINPUT when unreadable).
 *
 * @example Usage
 * ```ts
 * import { loadLocalAliases } from "./aliases.ts";
 * console.log(await loadLocalAliases("/nonexistent/aliases", true)); // undefined
 * ```
 */
export async function loadLocalAliases(
  file: string,
  optional: boolean,
): Promise<LocalAliasTable | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (optional && e instanceof Deno.errors.NotFound) return undefined;
    const reason = e instanceof Deno.errors.NotFound
      ? "No such file or directory"
      : e instanceof Deno.errors.PermissionDenied
      ? "Permission denied"
      : "cannot read the file";
    throw new ConfigError(reason, { file }, { cause: e });
  }
  return parseLocalAliases(text, file);
}
