/**
 * Fuzzing the SMTP reply framer: random replies, garbage, overlong lines and bare line ends,
 * fed in random chunks. The reader may only return well-formed replies or throw the typed
 * protocol error; how the bytes are chunked never changes the outcome; memory stays bounded.
 * Deterministic: set POSTIE_FUZZ_SEED to replay a reported seed.
 */

import assert from "node:assert/strict";
import { SmtpProtocolError } from "../../../lib/smtp/errors.ts";
import { type Reply, ReplyReader, SMTP_BUFSIZE, SMTP_MAXLINES } from "../../../lib/smtp/reply.ts";
import { fuzzSeed, Random } from "../../support/random.ts";

const SEED = fuzzSeed(0x5eed1);
const STREAMS = 4000;
const encoder = new TextEncoder();

const PIECES = [
  "250 ok",
  "250-PIPELINING",
  "220 mail.example ESMTP",
  "354 go ahead",
  "550 5.1.1 no such user",
  "421-",
  "25",
  "2500 x",
  "abc",
  "",
  " ",
  "-",
  "\r",
  "\n",
  "\r\n",
  "\0",
  "\xff",
  "é",
  "😀",
];

/** A random byte stream that looks like replies some of the time. */
function randomStream(r: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  const count = 1 + r.int(12);
  for (let i = 0; i < count; i++) {
    const roll = r.next();
    if (roll < 0.5) {
      // a well-formed reply of 1..n lines
      const code = String(200 + r.int(400)).padStart(3, "0");
      const lines = 1 + r.int(r.chance(0.05) ? 60 : 4);
      for (let l = 0; l < lines; l++) {
        const text = "x".repeat(r.int(r.chance(0.05) ? 1100 : 30));
        parts.push(encoder.encode(`${code}${l === lines - 1 ? " " : "-"}${text}\r\n`));
      }
    } else if (roll < 0.8) {
      let text = "";
      for (let k = r.int(8); k > 0; k--) text += r.pick(PIECES);
      parts.push(encoder.encode(text));
    } else {
      const bytes = new Uint8Array(r.int(r.chance(0.1) ? 3000 : 40));
      for (let k = 0; k < bytes.length; k++) bytes[k] = r.int(256);
      parts.push(bytes);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function randomChunks(r: Random, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = r.chance(0.3) ? 1 : 1 + r.int(r.chance(0.5) ? 16 : 2048);
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** What a reader made of a stream: the replies taken and how it ended. */
interface Outcome {
  replies: Reply[];
  error: string | null;
}

function feed(chunks: Uint8Array[], maxChunk: number): Outcome {
  const reader = new ReplyReader();
  const replies: Reply[] = [];
  try {
    for (const chunk of chunks) {
      reader.push(chunk);
      // bounded: at most one partial line beyond what one chunk can complete
      assert.ok(reader.bufferedBytes <= maxChunk + SMTP_BUFSIZE + 1, `${reader.bufferedBytes}`);
      for (let reply = reader.next("mail"); reply; reply = reader.next("mail")) {
        replies.push(reply);
      }
    }
    reader.end("mail");
  } catch (error) {
    if (!(error instanceof SmtpProtocolError)) throw error;
    assert.equal(error.exitCode, 76);
    return { replies, error: error.message };
  }
  assert.fail("end() must always throw");
}

function checkReply(reply: Reply): void {
  assert.ok(reply.code >= 0 && reply.code <= 999 && Number.isInteger(reply.code));
  assert.ok(reply.raw.length >= 1 && reply.raw.length <= SMTP_MAXLINES);
  assert.equal(reply.lines.length, reply.raw.length);
  // the code is the first line's (msmtp does not compare the codes of later lines either)
  assert.equal(reply.raw[0].slice(0, 3), String(reply.code).padStart(3, "0"));
  assert.match(reply.raw.at(-1)!, /^\d{3} /);
  for (const raw of reply.raw) {
    assert.match(raw, /^\d{3}[ -]/);
    assert.ok(encoder.encode(raw).length <= SMTP_BUFSIZE * 3);
    assert.doesNotMatch(raw, /\n/);
  }
}

Deno.test("random replies and garbage in random chunks give replies or the typed protocol error", () => {
  const r = new Random(SEED);
  const deadline = performance.now() + 4000;
  let tried = 0;
  for (; tried < STREAMS && performance.now() < deadline; tried++) {
    const stream = randomStream(r);
    const context = `seed ${SEED}, stream ${tried}`;
    const whole = feed([stream], stream.length);
    const chunks = randomChunks(r, stream);
    const split = feed(chunks, Math.max(...chunks.map((c) => c.length), 0));
    const bytewise = feed(Array.from(stream, (b) => Uint8Array.of(b)), 1);
    for (const reply of whole.replies) checkReply(reply);
    // the framing never depends on how the bytes arrived
    assert.deepEqual(split, whole, context);
    assert.deepEqual(bytewise, whole, context);
  }
  assert.ok(tried >= 200, `only ${tried} streams in the time allowed`);
});

Deno.test("an endless line pushed in chunks keeps the buffer bounded and ends in the typed error", () => {
  const reader = new ReplyReader();
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  for (let i = 0; i < 160; i++) reader.push(chunk); // 10 MiB
  assert.ok(reader.bufferedBytes <= SMTP_BUFSIZE + 1, `${reader.bufferedBytes} bytes kept`);
  assert.throws(() => reader.next("greeting"), SmtpProtocolError);
});

Deno.test("an endless multi-line reply is refused after msmtp's 50 lines", () => {
  const reader = new ReplyReader();
  const line = encoder.encode("250-more\r\n");
  let error: unknown;
  for (let i = 0; i < 10_000 && !error; i++) {
    reader.push(line);
    try {
      assert.equal(reader.next("ehlo"), undefined);
    } catch (e) {
      error = e;
    }
  }
  assert.ok(error instanceof SmtpProtocolError);
  assert.match(error.message, /longer than 50 lines/);
});
