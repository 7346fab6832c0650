/**
 * fnmatch(3) with no flags, as msmtp uses it to match `from` patterns: `?`, `*`,
 * bracket expressions (`[abc]`, `[a-z]`, `[!x]`, `[^x]`) and backslash escapes.
 *
 * @module
 */

/**
 * Whether `text` matches the shell pattern `pattern` (case-sensitive; `*` and `?` match
 * any character, `/` included, as fnmatch without FNM_PATHNAME does).
 *
 * @example Usage
 * ```ts
 * import { fnmatch } from "./fnmatch.ts";
 * console.log(fnmatch("*@example.com", "joe@example.com")); // true
 * console.log(fnmatch("[a-c]?@x", "d1@x")); // false
 * ```
 */
export function fnmatch(pattern: string, text: string): boolean {
  return matchFrom(pattern, 0, text, 0);
}

function matchFrom(p: string, pi: number, t: string, ti: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === "*") {
      while (p[pi] === "*") pi++;
      if (pi === p.length) return true;
      for (let k = ti; k <= t.length; k++) {
        if (matchFrom(p, pi, t, k)) return true;
      }
      return false;
    }
    if (ti >= t.length) return false;
    if (c === "?") {
      pi++;
      ti++;
      continue;
    }
    if (c === "[") {
      const result = bracket(p, pi, t[ti]);
      if (result !== undefined) {
        if (!result.matched) return false;
        pi = result.next;
        ti++;
        continue;
      }
      // An unclosed `[` is an ordinary character.
    }
    if (c === "\\" && pi + 1 < p.length) {
      if (p[pi + 1] !== t[ti]) return false;
      pi += 2;
      ti++;
      continue;
    }
    if (c !== t[ti]) return false;
    pi++;
    ti++;
  }
  return ti === t.length;
}

/** Matches one character against the bracket expression at `start`; undefined if unclosed. */
function bracket(
  p: string,
  start: number,
  ch: string,
): { matched: boolean; next: number } | undefined {
  let i = start + 1;
  const negate = p[i] === "!" || p[i] === "^";
  if (negate) i++;
  let matched = false;
  let first = true;
  while (i < p.length && (first || p[i] !== "]")) {
    first = false;
    let lo = p[i];
    if (lo === "\\" && i + 1 < p.length) lo = p[++i];
    let hi = lo;
    if (p[i + 1] === "-" && i + 2 < p.length && p[i + 2] !== "]") {
      hi = p[i + 2];
      if (hi === "\\" && i + 3 < p.length) hi = p[++i + 2];
      i += 2;
    }
    if (lo <= ch && ch <= hi) matched = true;
    i++;
  }
  if (i >= p.length) return undefined;
  return { matched: matched !== negate, next: i + 1 };
}
