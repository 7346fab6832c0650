/**
 * SASLprep (RFC 4013), the stringprep profile SCRAM applies to user names and
 * passwords, so that a password typed with a different Unicode form still matches.
 * Unassigned code points are allowed, as for queries (RFC 3454 §7).
 *
 * @module
 */

/** Non-ASCII space characters (RFC 3454 table C.1.2), mapped to SPACE. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/gu;
/** "Commonly mapped to nothing" (RFC 3454 table B.1). */
const MAPPED_TO_NOTHING =
  /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
/** Prohibited output (RFC 4013 §2.3: tables C.1.2, C.2.1, C.2.2, C.3–C.9). */
const PROHIBITED = new RegExp(
  [
    "[\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000]", // C.1.2
    "[\\u0000-\\u001F\\u007F]", // C.2.1
    "[\\u0080-\\u009F\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029\\u2060-\\u2063]", // C.2.2
    "[\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFC\\u{1D173}-\\u{1D17A}]", // C.2.2
    "[\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}]", // C.3
    "[\\uFDD0-\\uFDEF\\uFFFE\\uFFFF]", // C.4 (BMP)
    "[\\u{1FFFE}\\u{1FFFF}\\u{2FFFE}\\u{2FFFF}\\u{3FFFE}\\u{3FFFF}\\u{4FFFE}\\u{4FFFF}]", // C.4
    "[\\u{5FFFE}\\u{5FFFF}\\u{6FFFE}\\u{6FFFF}\\u{7FFFE}\\u{7FFFF}\\u{8FFFE}\\u{8FFFF}]", // C.4
    "[\\u{9FFFE}\\u{9FFFF}\\u{AFFFE}\\u{AFFFF}\\u{BFFFE}\\u{BFFFF}\\u{CFFFE}\\u{CFFFF}]", // C.4
    "[\\u{DFFFE}\\u{DFFFF}\\u{EFFFE}\\u{EFFFF}\\u{FFFFE}\\u{FFFFF}\\u{10FFFE}\\u{10FFFF}]", // C.4
    "[\\uD800-\\uDFFF]", // C.5: lone surrogates
    "[\\uFFF9-\\uFFFD]", // C.6
    "[\\u2FF0-\\u2FFB]", // C.7
    "[\\u0340\\u0341\\u200E\\u200F\\u202A-\\u202E]", // C.8
    "[\\u{E0001}\\u{E0020}-\\u{E007F}]", // C.9
  ].join("|"),
  "u",
);
/**
 * Right-to-left characters (RFC 3454 table D.1), approximated by the scripts written
 * right to left: JavaScript regular expressions have no Bidi_Class property.
 */
const RAND_AL =
  /[\u05BE\u05C0\u05C3\u05D0-\u05EA\u05F0-\u05F4\u061B\u061F\u0621-\u064A\u066D-\u06D5\u06E5\u06E6\u06FA-\u06FE\u0700-\u070D\u0710-\u072C\u0780-\u07A5\u07B1\u07C0-\u07EA\u200F\uFB1D-\uFDFF\uFE70-\uFEFC]/u;
/** Left-to-right letters (table D.2), approximated as every other letter. */
const L_CAT = /\p{L}/u;

/**
 * Prepares a string with SASLprep; returns null when the result contains a prohibited
 * character or breaks the bidirectional rule, in which case it must not be used.
 *
 * @example Usage
 * ```ts
 * import { saslprep } from "./saslprep.ts";
 * console.log(saslprep("I\u00ADX")); // "IX"
 * console.log(saslprep("\u2168")); // "IX"
 * console.log(saslprep("a\u0007")); // null
 * ```
 */
export function saslprep(input: string): string | null {
  // ASCII without control characters is unchanged by every step: skip the tables.
  if (/^[\x20-\x7e]*$/.test(input)) return input;
  const mapped = input.replace(MAPPED_TO_NOTHING, "").replace(NON_ASCII_SPACE, " ")
    .normalize("NFKC");
  if (PROHIBITED.test(mapped)) return null;
  const chars = [...mapped];
  const isRandAl = (c: string): boolean => RAND_AL.test(c);
  if (chars.some(isRandAl)) {
    if (chars.some((c) => !isRandAl(c) && L_CAT.test(c))) return null;
    if (!isRandAl(chars[0]) || !isRandAl(chars[chars.length - 1])) return null;
  }
  return mapped;
}
