/**
 * The command-line recipient parser takes a fast path for plain words (`user@example.org`)
 * and runs msmtp's header scanner over `To: WORD` for the rest. Both must give the same
 * recipients for every word: seeded random words, most of them plain or one character away
 * from plain, are parsed by parseRecipientArgument and by the scanner itself, and compared.
 * Deterministic: set POSTIE_FUZZ_SEED to replay a reported seed.
 */

import assert from "node:assert/strict";
import {
  AddressError,
  parseRecipientArgument,
  scanHeaders,
} from "../../../lib/message/addresses.ts";
import { ExitCode } from "../../../lib/exit.ts";
import { fuzzSeed, Random } from "../../support/random.ts";

const SEED = fuzzSeed(0xfa57);
const WORDS = 20000;
const encoder = new TextEncoder();

/**
 * What msmtp does with a recipient word (it writes it as a `To:` header and scans that),
 * with postie's refusal of a control character first: the recipients, or the refusal.
 */
function scannerRecipients(word: string): string[] | "refused" {
  for (const ch of word) {
    const c = ch.charCodeAt(0);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return "refused";
  }
  return scanHeaders(encoder.encode(`To: ${word}\n\n`), {
    recipients: true,
    fromAndFlags: false,
    origin: "the command line",
    errorExitCode: ExitCode.USAGE,
  }).recipients;
}

/** What postie's parser gives: the recipients, or the refusal (a usage error). */
function postieRecipients(word: string): string[] | "refused" {
  try {
    return parseRecipientArgument(word);
  } catch (e) {
    if (e instanceof AddressError && e.exitCode === ExitCode.USAGE) return "refused";
    throw e;
  }
}

const PLAIN = "abcxyzABCXYZ0189.-_+=!#$%&'*/?^`{|}~@>)[]";
// every character the fast path must leave to the scanner, and some that it may take
const OTHER = [
  ...'\\("<:,; \t',
  "é",
  "ÿ",
  "😀",
  "\ud800",
  "\udcff",
  "\x7f",
  "\x80",
  "\u00a0",
  "\u2028",
];

function randomWord(r: Random): string {
  const length = r.int(r.chance(0.1) ? 60 : 24);
  let word = "";
  for (let i = 0; i < length; i++) {
    word += r.chance(0.93) ? PLAIN[r.int(PLAIN.length)] : r.pick(OTHER);
  }
  return word;
}

Deno.test("plain recipient words give the same recipients as msmtp's scanner gives", () => {
  const r = new Random(SEED);
  let plain = 0;
  let other = 0;
  for (let i = 0; i < WORDS; i++) {
    const word = randomWord(r);
    const expected = scannerRecipients(word);
    assert.deepEqual(
      postieRecipients(word),
      expected,
      `seed ${SEED}, word ${JSON.stringify(word)}`,
    );
    if (expected !== "refused" && expected.length === 1 && expected[0] === word) plain++;
    else other++;
  }
  // both paths were exercised many times
  assert.ok(plain > WORDS / 10, `only ${plain} plain words`);
  assert.ok(other > WORDS / 10, `only ${other} other words`);
});

Deno.test("words at the edge of plain parse as msmtp's scanner parses them", () => {
  const words = [
    "a@example.org",
    "root",
    ">a@b",
    ")a@b",
    "a@b>",
    "a@b)",
    "a@@b",
    "@",
    ".",
    "a@b,",
    ",a@b",
    "a@b;",
    "a:b@c",
    "a\\b@c",
    "a(b)@c",
    'a"b"@c',
    "a<b>@c",
    "a@b c@d",
    "a@b\tc@d",
    "",
    " ",
    "é@example.org",
    "a@b\u00a0",
  ];
  for (const word of words) {
    assert.deepEqual(postieRecipients(word), scannerRecipients(word), JSON.stringify(word));
  }
});

Deno.test("a word with a control character is refused on either path, as a usage error", () => {
  for (const word of ["a@b\r\nRCPT TO:<x@y>", "a@b\0", "\x1ba@b", "a@b\x7f", "a\nb"]) {
    assert.throws(
      () => parseRecipientArgument(word),
      (e: unknown) => e instanceof AddressError && e.exitCode === ExitCode.USAGE,
      JSON.stringify(word),
    );
  }
});
