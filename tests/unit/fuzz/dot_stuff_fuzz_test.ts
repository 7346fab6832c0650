/**
 * Fuzzing the dot-stuffer: random bytes rich in dots, CRs and LFs, split into random chunks
 * (stuffed into a new buffer, or in place, read into the output's own room at a random
 * distance), must give exactly what a simple reference implementation gives, with only CRLF
 * line ends and no `\r.\r`, `\n.\n` or lone `.` line before the final one (SMTP smuggling).
 * Deterministic: set POSTIE_FUZZ_SEED to replay a reported seed.
 */

import assert from "node:assert/strict";
import { DotStuffer } from "../../../lib/message/dot_stuff.ts";
import { fuzzSeed, Random } from "../../support/random.ts";

const SEED = fuzzSeed(0xd07);
const INPUTS = 5000;
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * The reference: split into lines at CRLF, bare CR or bare LF; double a leading dot; end
 * every line with CRLF, the last one too when it has any bytes. mailsize counts each line
 * ending as one byte and no stuffing dot.
 */
function reference(input: Uint8Array): { out: number[]; mailsize: number } {
  const out: number[] = [];
  let mailsize = 0;
  let line: number[] = [];
  const flush = () => {
    if (line[0] === DOT) out.push(DOT);
    out.push(...line, CR, LF);
    mailsize += line.length + 1;
    line = [];
  };
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === CR) {
      if (input[i + 1] === LF) i++;
      flush();
    } else if (b === LF) {
      flush();
    } else {
      line.push(b);
    }
  }
  if (line.length > 0) flush();
  return { out, mailsize };
}

function randomInput(r: Random): Uint8Array {
  const bytes = new Uint8Array(r.int(r.chance(0.05) ? 4000 : 80));
  for (let i = 0; i < bytes.length; i++) {
    const roll = r.next();
    bytes[i] = roll < 0.25 ? DOT : roll < 0.45 ? CR : roll < 0.65 ? LF : r.int(256);
  }
  return bytes;
}

function stuff(input: Uint8Array, r: Random): { out: number[]; mailsize: number } {
  const stuffer = new DotStuffer();
  const out: number[] = [];
  for (let at = 0; at < input.length;) {
    const size = r.chance(0.3) ? r.int(3) : 1 + r.int(64);
    const chunk = input.subarray(at, at + size);
    if (r.chance(0.5)) {
      out.push(...stuffer.push(chunk));
    } else {
      // read into the output's own room, at a random distance after where the output starts
      const n = chunk.length;
      const start = r.int(4);
      const gap = r.int(n + 12);
      const buffer = new Uint8Array(start + Math.max(2 * n, gap + n) + r.int(4)).fill(0xee);
      buffer.set(chunk, start + gap);
      const end = stuffer.stuffInto(buffer.subarray(start + gap, start + gap + n), buffer, start);
      out.push(...buffer.subarray(start, end));
    }
    at += size;
  }
  out.push(...stuffer.end());
  return { out, mailsize: stuffer.mailsize };
}

function find(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("random bytes in random chunks are stuffed exactly as the reference does", () => {
  const r = new Random(SEED);
  const deadline = performance.now() + 4000;
  let tried = 0;
  for (; tried < INPUTS && performance.now() < deadline; tried++) {
    const input = randomInput(r);
    const context = `seed ${SEED}, input ${tried}: ${
      JSON.stringify(String.fromCharCode(...input))
    }`;
    const got = stuff(input, r);
    const want = reference(input);
    assert.deepEqual(got, want, context);
    // what reaches the server, with the final dot the session adds
    const wire = [...got.out, DOT, CR, LF];
    for (let i = 0; i < wire.length; i++) {
      if (wire[i] === CR) assert.equal(wire[i + 1], LF, `bare CR at ${i}; ${context}`);
      if (wire[i] === LF) assert.equal(wire[i - 1], CR, `bare LF at ${i}; ${context}`);
    }
    assert.equal(find(wire, [CR, DOT, CR]), -1, context);
    assert.equal(find(wire, [LF, DOT, LF]), -1, context);
    // the only lone dot line is the final one
    const end = find([CR, LF, ...wire], [CR, LF, DOT, CR, LF]);
    assert.equal(end, wire.length - 3, `an early end of data; ${context}`);
  }
  assert.ok(tried >= 500, `only ${tried} inputs in the time allowed`);
});
