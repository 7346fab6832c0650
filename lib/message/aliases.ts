/**
 * The aliases file (msmtp's `aliases` command): local recipients, those without `@`, are
 * replaced by the addresses they stand for, recursively, with a `default:` entry for unknown
 * local names.
 *
 * Expansion keeps the order of the file and expands every recipient, a deliberate difference
 * from msmtp 1.8.23, which reverses each expansion and skips the recipient after an expanded
 * one.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** A parsed aliases file. */
export interface AliasTable {
  /** The file it came from, for error messages. */
  file: string;
  /** Alias → its targets, in file order. */
  entries: Map<string, string[]>;
}

/** msmtp reads lines with a 512-byte buffer and refuses longer lines. */
const MAX_LINE = 511;
/** msmtp's recursion bound for nested aliases. */
const MAX_DEPTH = 16;

const encoder = new TextEncoder();

/** C's isspace in the C locale. */
function trim(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "");
}

/** A local name: non-empty, no `@`. */
function isAlias(s: string): boolean {
  return s !== "" && !s.includes("@");
}

/**
 * Parses the text of an aliases file: `name: addr1, addr2`, `#` starts a comment anywhere,
 * exactly one `:` per line, keys non-empty without `@`, no duplicates. Errors read as
 * msmtp's: `FILE: line N: single ':' delimiter expected` (EX_CONFIG).
 *
 * @example Usage
 * ```ts
 * import { parseAliases } from "./aliases.ts";
 * const t = parseAliases("root: admin@x.org, ops # staff\nops: o@x.org\n", "aliases");
 * console.log(t.entries.get("root")); // ["admin@x.org", "ops"]
 * ```
 */
export function parseAliases(text: string, file: string): AliasTable {
  const entries = new Map<string, string[]>();
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, index) => {
    const lnum = index + 1;
    const withNewline = index < lines.length - 1 || text.endsWith("\n") ? 1 : 0;
    if (encoder.encode(raw).length + withNewline >= MAX_LINE) {
      throw new ConfigError(`line ${lnum}: longer than ${MAX_LINE} characters`, { file });
    }
    const content = trim(raw.split("#")[0]);
    const parts = content.split(":").map(trim);
    if (parts.length === 1 && parts[0] === "") return;
    if (parts.length !== 2) {
      throw new ConfigError(`line ${lnum}: single ':' delimiter expected`, { file });
    }
    const [key, value] = parts;
    if (!isAlias(key)) {
      throw new ConfigError(`line ${lnum}: invalid alias '${key}'`, { file });
    }
    if (entries.has(key)) {
      throw new ConfigError(`line ${lnum}: duplicate alias '${key}'`, { file });
    }
    // msmtp keeps an empty target (from a trailing comma) and sends RCPT TO:<>, which
    // makes the server refuse the whole mail; an empty target stands for nobody here.
    entries.set(key, value.split(",").map(trim).filter((t) => t !== ""));
  });
  return { file, entries };
}

/**
 * Expands one local name, depth first, in file order.
 */
function expandOne(name: string, table: AliasTable, depth: number, top: string): string[] {
  if (depth > MAX_DEPTH) {
    throw new ConfigError(`Too many redirects when expanding alias ${top}.`, {
      file: table.file,
    });
  }
  const targets = table.entries.get(name) ?? table.entries.get("default");
  if (targets === undefined) return [name];
  return targets.flatMap((t) => isAlias(t) ? expandOne(t, table, depth + 1, top) : [t]);
}

/**
 * Replaces every local recipient by its expansion, keeping the order; addresses with `@` are
 * left alone, unknown local names go to `default:` or stay as they are.
 *
 * @example Usage
 * ```ts
 * import { expandAliases, parseAliases } from "./aliases.ts";
 * const t = parseAliases("root: a@x.org, ops\nops: o1@x.org, o2@x.org\n", "f");
 * console.log(expandAliases(["root", "b@x.org"], t));
 * // ["a@x.org", "o1@x.org", "o2@x.org", "b@x.org"]
 * ```
 */
export function expandAliases(recipients: readonly string[], table: AliasTable): string[] {
  return recipients.flatMap((r) => isAlias(r) ? expandOne(r, table, 0, r) : [r]);
}

/** msmtp prints strerror(errno); these are the texts for the errors a read can give. */
function describeReadError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "No such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "input error";
  if (e instanceof Deno.errors.NotADirectory) return "Not a directory";
  return "input error";
}

/**
 * Applies an aliases file to the recipients. The file is read only when at least one
 * recipient is local, as msmtp does, so a missing file is an error (`FILE: No such file or
 * directory`, EX_CONFIG) only then.
 *
 * @example Usage
 * ```ts
 * import { applyAliases } from "./aliases.ts";
 * console.log(await applyAliases("/nonexistent", ["a@x.org"])); // ["a@x.org"], file unread
 * ```
 */
export async function applyAliases(
  file: string,
  recipients: readonly string[],
): Promise<string[]> {
  if (!recipients.some(isAlias)) return [...recipients];
  let text: string;
  try {
    text = new TextDecoder().decode(await Deno.readFile(file));
  } catch (e) {
    throw new ConfigError(describeReadError(e), { file }, { cause: e });
  }
  return expandAliases(recipients, parseAliases(text, file));
}
