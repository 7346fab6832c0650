/**
 * Fuzzing the header scanner and the command-line address parser: random and mutated header
 * blocks and arguments, control characters, folding, quoting, NUL and invalid UTF-8 bytes.
 * They may only return addresses free of CR, LF, NUL and other control characters, or throw
 * the typed AddressError; never anything else, and never slowly.
 * Deterministic: set POSTIE_FUZZ_SEED to replay a reported seed.
 */

import assert from "node:assert/strict";
import {
  AddressError,
  parseRecipientArgument,
  scanHeaders,
} from "../../../lib/message/addresses.ts";
import { fuzzSeed, Random } from "../../support/random.ts";

const SEED = fuzzSeed(0xadd7e55);
const INPUTS = 6000;
const SLOW_MS = 500;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const NAMES = [
  "To",
  "Cc",
  "Bcc",
  "to",
  "BCC",
  "Resent-To",
  "Resent-Cc",
  "Resent-Bcc",
  "Resent-From",
  "From",
  "from",
  "Date",
  "Message-ID",
  "Subject",
  "X-Any",
  "To ",
  "",
];
const TOKENS = [
  "a@example.org",
  "Joe <joe@example.org>",
  '"quoted, name" <q@example.org>',
  '"a\\"b"@example.org',
  "(comment)",
  "(nested (comment))",
  "group: g1@example.org, g2@example.org;",
  "undisclosed-recipients:;",
  "<>",
  "<",
  ">",
  ",",
  ";",
  ":",
  "@",
  '"',
  "\\",
  "(",
  ")",
  " ",
  "\t",
  "\r",
  "\n",
  "\r\n",
  "\n ",
  "\r\n\t",
  "\0",
  "\x01",
  "\x7f",
  "\x1b[31m",
  "é",
  "😀",
  "RCPT TO:<victim@example.org>",
];
const RAW = [0xff, 0xfe, 0xc3, 0x80, 0xed, 0xa0, 0x00, 0x0d, 0x0a];

function randomValue(r: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let n = r.int(10); n > 0; n--) {
    parts.push(
      r.chance(0.1) ? Uint8Array.of(r.pick(RAW)) : encoder.encode(r.pick(TOKENS)),
    );
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function randomHeaderBlock(r: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let n = r.int(8); n > 0; n--) {
    parts.push(encoder.encode(`${r.pick(NAMES)}${r.chance(0.9) ? ":" : ""} `));
    parts.push(randomValue(r));
    parts.push(encoder.encode(r.pick(["\n", "\r\n", "\n", "\r", ""])));
  }
  return concat(parts);
}

/** Control characters never reach an envelope address. */
function assertClean(address: string, context: string): void {
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(address, /[\x00-\x1f\x7f]/, `${JSON.stringify(address)}; ${context}`);
}

function timed<T>(context: string, f: () => T): T {
  const start = performance.now();
  try {
    return f();
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < SLOW_MS, `${Math.round(ms)} ms; ${context}`);
  }
}

Deno.test("random header blocks give clean addresses or an AddressError", () => {
  const r = new Random(SEED);
  const deadline = performance.now() + 4000;
  let tried = 0;
  let refused = 0;
  for (; tried < INPUTS && performance.now() < deadline; tried++) {
    const block = randomHeaderBlock(r);
    const context = `seed ${SEED}, input ${tried}: ${JSON.stringify(decoder.decode(block))}`;
    try {
      const scan = timed(context, () =>
        scanHeaders(block, {
          recipients: true,
          fromAndFlags: true,
          terminated: r.chance(0.5),
        }));
      for (const address of scan.recipients) assertClean(address, context);
      if (scan.from !== null) assertClean(scan.from, context);
    } catch (error) {
      if (!(error instanceof AddressError)) throw new Error(context, { cause: error });
      assert.equal(error.exitCode, 65, context);
      assert.doesNotMatch(error.message, /[\r\n]/, "a one-line message");
      refused++;
    }
  }
  assert.ok(tried >= 500, `only ${tried} inputs in the time allowed`);
  assert.ok(refused > 0 && refused < tried, `${refused} of ${tried} refused`);
});

Deno.test("random recipient arguments give clean addresses or a usage error", () => {
  const r = new Random(SEED ^ 0x9e3779b9);
  const deadline = performance.now() + 3000;
  let tried = 0;
  for (; tried < INPUTS && performance.now() < deadline; tried++) {
    let word = "";
    for (let n = 1 + r.int(8); n > 0; n--) word += r.pick(TOKENS);
    if (r.chance(0.05)) word += "\udcff\ud800";
    const context = `seed ${SEED}, argument ${tried}: ${JSON.stringify(word)}`;
    try {
      const addresses = timed(context, () => parseRecipientArgument(word));
      for (const address of addresses) assertClean(address, context);
    } catch (error) {
      if (!(error instanceof AddressError)) throw new Error(context, { cause: error });
      assert.equal(error.exitCode, 64, context);
      assert.doesNotMatch(error.message, /[\r\n]/, "a one-line message");
    }
  }
  assert.ok(tried >= 500, `only ${tried} inputs in the time allowed`);
});

Deno.test("a huge To header of random addresses is scanned in linear time", () => {
  const r = new Random(SEED + 1);
  const parts: string[] = [];
  for (let i = 0; i < 50_000; i++) parts.push(r.pick(TOKENS.slice(0, 8)));
  const block = encoder.encode(`To: ${parts.join(", ")}\n`);
  const start = performance.now();
  const scan = scanHeaders(block, { recipients: true, fromAndFlags: true, terminated: true });
  assert.ok(performance.now() - start < 3000);
  assert.ok(scan.recipients.length > 0);
  for (const address of scan.recipients) assertClean(address, "huge To header");
});
