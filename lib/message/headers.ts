/**
 * The header block as header fields: each field's name and its raw lines, continuation lines
 * included, with case-insensitive lookup and unfolding.
 *
 * Lines are split at LF and every CR is dropped, because that is what msmtp does with the
 * header block before sending it (and so no bare CR can reach the server from a header).
 *
 * @module
 */

/** One header field. */
export interface HeaderField {
  /** The name as written, without the colon; `""` for a line that is not `name:` (malformed). */
  name: string;
  /** The raw lines of the field (first line, then continuation lines), without line endings. */
  lines: Uint8Array[];
}

const LF = 0x0a;
const CR = 0x0d;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Splits a header block into lines without their endings, dropping every CR.
 *
 * @example Usage
 * ```ts
 * import { headerLines } from "./headers.ts";
 * const lines = headerLines(new TextEncoder().encode("A: 1\r\nB: 2\n"));
 * console.log(lines.length); // 2
 * ```
 */
export function headerLines(header: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(LF, start);
    if (end < 0) end = header.length;
    lines.push(withoutCR(header.subarray(start, end)));
    start = end + 1;
  }
  return lines;
}

function withoutCR(line: Uint8Array): Uint8Array {
  if (line.indexOf(CR) < 0) return line;
  return line.filter((b) => b !== CR);
}

/**
 * A continuation line starts with a space or a tab.
 *
 * @example Usage
 * ```ts
 * import { isContinuation } from "./headers.ts";
 * console.log(isContinuation(new TextEncoder().encode("\tmore"))); // true
 * ```
 */
export function isContinuation(line: Uint8Array): boolean {
  return line.length > 0 && (line[0] === 0x20 || line[0] === 0x09);
}

/**
 * Splits a header block into fields; continuation lines belong to the field above them.
 *
 * @example Usage
 * ```ts
 * import { splitHeaderFields } from "./headers.ts";
 * const fields = splitHeaderFields(new TextEncoder().encode("To: a,\n b\nSubject: x\n"));
 * console.log(fields.map((f) => f.name)); // ["To", "Subject"]
 * ```
 */
export function splitHeaderFields(header: Uint8Array): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of headerLines(header)) {
    const last = fields[fields.length - 1];
    if (isContinuation(line) && last) {
      last.lines.push(line);
      continue;
    }
    const colon = line.indexOf(0x3a);
    const name = colon > 0 ? latin1.decode(line.subarray(0, colon)) : "";
    fields.push({ name: /^[!-9;-~]+$/.test(name) ? name : "", lines: [line] });
  }
  return fields;
}

/**
 * Finds every field with the given name, compared case-insensitively.
 *
 * @example Usage
 * ```ts
 * import { findHeaders, splitHeaderFields } from "./headers.ts";
 * const fields = splitHeaderFields(new TextEncoder().encode("to: a\nTO: b\n"));
 * console.log(findHeaders(fields, "To").length); // 2
 * ```
 */
export function findHeaders(fields: readonly HeaderField[], name: string): HeaderField[] {
  const wanted = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === wanted);
}

/**
 * Finds the first field with the given name, compared case-insensitively.
 *
 * @example Usage
 * ```ts
 * import { findHeader, splitHeaderFields } from "./headers.ts";
 * const fields = splitHeaderFields(new TextEncoder().encode("Subject: hi\n"));
 * console.log(findHeader(fields, "subject")?.name); // "Subject"
 * ```
 */
export function findHeader(
  fields: readonly HeaderField[],
  name: string,
): HeaderField | undefined {
  return findHeaders(fields, name)[0];
}

/**
 * The unfolded value of a field (RFC 5322 §2.2.3: the line breaks before continuation lines
 * are removed, the whitespace kept), decoded as UTF-8 with U+FFFD for invalid bytes.
 *
 * @example Usage
 * ```ts
 * import { splitHeaderFields, unfoldValue } from "./headers.ts";
 * const [to] = splitHeaderFields(new TextEncoder().encode("To: a,\n\tb\n"));
 * console.log(unfoldValue(to)); // "a,\tb"
 * ```
 */
export function unfoldValue(field: HeaderField): string {
  const text = field.lines.map((l) => utf8.decode(l)).join("");
  const colon = text.indexOf(":");
  return (colon >= 0 ? text.slice(colon + 1) : text).replace(/^[ \t]+/, "");
}
