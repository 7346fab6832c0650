import assert from "node:assert/strict";
import { DotStuffer, dotStuffStream, maxStuffedLength } from "../../../lib/message/dot_stuff.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function stuff(...chunks: string[]): [string, number] {
  const s = new DotStuffer();
  let out = "";
  for (const c of chunks) out += dec.decode(s.push(enc.encode(c)));
  out += dec.decode(s.end());
  return [out, s.mailsize];
}

Deno.test("LF and CRLF become CRLF and a leading dot is doubled", () => {
  assert.deepEqual(stuff("a\n.b\r\n..c\n.\n"), ["a\r\n..b\r\n...c\r\n..\r\n", 11]);
});

Deno.test("a bare CR ends a line (no smuggling sequence reaches the server)", () => {
  assert.deepEqual(stuff("x\r.\r\ny\n.\nz"), ["x\r\n..\r\ny\r\n..\r\nz\r\n", 10]);
  assert.deepEqual(stuff("a\r\rb"), ["a\r\n\r\nb\r\n", 5]);
});

Deno.test("a missing final newline is added, an empty mail stays empty", () => {
  assert.deepEqual(stuff("last"), ["last\r\n", 5]);
  assert.deepEqual(stuff(""), ["", 0]);
  assert.deepEqual(stuff("."), ["..\r\n", 2]);
});

Deno.test("chunk boundaries at every position give the same bytes", () => {
  const mail = "Subject: x\r\n\r\n.one\n..two\r\n.\r\nbare\rcr\r\n.\rend.";
  const [whole, size] = stuff(mail);
  for (let i = 0; i <= mail.length; i++) {
    for (let j = i; j <= mail.length; j++) {
      assert.deepEqual(
        stuff(mail.slice(0, i), mail.slice(i, j), mail.slice(j)),
        [whole, size],
        `${i},${j}`,
      );
    }
  }
  assert.deepEqual(stuff(...mail.split("")), [whole, size]);
});

Deno.test("mailsize counts each line ending as one byte and no stuffing dots", () => {
  const [, size] = stuff(".a\r\n.b\n");
  assert.equal(size, 6);
});

Deno.test("the stream form stuffs and counts too", async () => {
  const { stream, stuffer } = dotStuffStream();
  const out = ReadableStream.from([enc.encode(".a\r"), enc.encode("\n.b")]).pipeThrough(stream);
  assert.equal(await new Response(out).text(), "..a\r\n..b\r\n");
  assert.equal(stuffer.mailsize, 6);
});

Deno.test("a 10 MB mail goes through in chunks with the right size", () => {
  const line = "x".repeat(76) + "\n";
  const chunk = enc.encode(line.repeat(862)); // about 64 KiB
  const s = new DotStuffer();
  let out = 0;
  for (let i = 0; i < 160; i++) out += s.push(chunk).length;
  assert.equal(s.mailsize, 160 * chunk.length);
  assert.equal(out, 160 * 862 * 78);
});

/**
 * An independent reference for the tests below: split into lines at CRLF, bare CR or bare
 * LF; double a leading dot; end every line with CRLF, the last one too when it has bytes.
 */
function reference(input: Uint8Array): number[] {
  const out: number[] = [];
  let line: number[] = [];
  const flush = () => {
    if (line[0] === 0x2e) out.push(0x2e);
    out.push(...line, 0x0d, 0x0a);
    line = [];
  };
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === 0x0d) {
      if (input[i + 1] === 0x0a) i++;
      flush();
    } else if (b === 0x0a) {
      flush();
    } else {
      line.push(b);
    }
  }
  if (line.length > 0) flush();
  return out;
}

/** Stuffs `chunks` with stuffInto, each read into `out` at `gap` bytes after `at`. */
function stuffInPlace(chunks: Uint8Array[], gap: (n: number) => number, at = 3): number[] {
  const s = new DotStuffer();
  const wire: number[] = [];
  for (const chunk of chunks) {
    const n = chunk.length;
    const out = new Uint8Array(at + Math.max(maxStuffedLength(n), gap(n) + n) + 5).fill(0xee);
    out.set(chunk, at + gap(n));
    const end = s.stuffInto(out.subarray(at + gap(n), at + gap(n) + n), out, at);
    wire.push(...out.subarray(at, end));
  }
  wire.push(...s.end());
  return wire;
}

const TRICKY = "Subject: x\r\n\r\n.one\n..two\r\n.\r\nbare\rcr\r\n.\rend.\n\n\n.\n.\n.\nx\n" +
  ".a\n".repeat(40) + "\n".repeat(30) + "last.";

Deno.test("stuffing in place: the chunk read into the output's room at any distance", () => {
  const input = enc.encode(TRICKY);
  const want = reference(input);
  for (const size of [1, 2, 3, 5, 8, 17, 64, input.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < input.length; i += size) chunks.push(input.slice(i, i + size));
    for (const gap of [0, 1, 7, 8, 9, 16, 100]) {
      assert.deepEqual(
        stuffInPlace(chunks, (n) => Math.min(gap, n)),
        want,
        `size ${size} gap ${gap}`,
      );
    }
    // at the second half of the room (the classic place), and right after the output's room
    assert.deepEqual(stuffInPlace(chunks, (n) => n), want, `size ${size} tail`);
    assert.deepEqual(stuffInPlace(chunks, (n) => 2 * n), want, `size ${size} after`);
  }
});

Deno.test("stuffing in place: LF-only lines of every length, the gap running out", () => {
  // short lines shrink the distance to the unread input fastest; dots shrink it more
  for (const line of ["\n", ".\n", "a\n", ".a\n", "..\n", "abc\n", ".".repeat(70) + "\n"]) {
    const input = enc.encode(line.repeat(300) + "tail");
    const want = reference(input);
    for (const gap of [8, 9, 10, 33, 200]) {
      assert.deepEqual(
        stuffInPlace([input], () => gap),
        want,
        `${JSON.stringify(line)} gap ${gap}`,
      );
      const halves = [input.slice(0, 451), input.slice(451)];
      assert.deepEqual(stuffInPlace(halves, (n) => Math.min(gap, n)), want);
    }
  }
});

Deno.test("stuffing in place: \\r\\n. split at every position, one chunk in the buffer each", () => {
  const mail = "a\r\n.b\r\n.\r\n..\r\nc\r.\r\nd\n.\re";
  const input = enc.encode(mail);
  const want = reference(input);
  for (let i = 0; i <= mail.length; i++) {
    for (let j = i; j <= mail.length; j++) {
      const chunks = [input.slice(0, i), input.slice(i, j), input.slice(j)];
      assert.deepEqual(stuffInPlace(chunks, (n) => Math.min(8, n)), want, `${i},${j}`);
      assert.deepEqual(stuffInPlace(chunks, (n) => n), want, `${i},${j} tail`);
    }
  }
});

Deno.test("stuffInto refuses an output without room for the worst case", () => {
  const s = new DotStuffer();
  assert.throws(() => s.stuffInto(enc.encode("..."), new Uint8Array(5), 0), RangeError);
  assert.throws(() => s.stuffInto(enc.encode("a"), new Uint8Array(4), 3), RangeError);
  assert.equal(maxStuffedLength(3), 6);
});

Deno.test("a chunk elsewhere in the output's buffer is copied, not read where it lies", () => {
  const input = enc.encode(".x\n.y\nz\n");
  const want = reference(input);
  // the chunk overlaps the first half of the output's room: it must be moved first
  const buf = new Uint8Array(64);
  buf.set(input, 2);
  const s = new DotStuffer();
  const end = s.stuffInto(buf.subarray(2, 2 + input.length), buf, 0);
  assert.deepEqual([...buf.subarray(0, end), ...s.end()], want);
});

Deno.test("mailsize is the same whichever way the chunks are stuffed", () => {
  const input = enc.encode(TRICKY);
  const a = new DotStuffer();
  a.push(input);
  a.end();
  const b = new DotStuffer();
  const out = new Uint8Array(maxStuffedLength(input.length) + 20);
  out.set(input, 20);
  b.stuffInto(out.subarray(20, 20 + input.length), out, 0);
  b.end();
  assert.equal(b.mailsize, a.mailsize);
  // each line end counts one byte, stuffing dots none: the input less the LF of each CRLF
  assert.equal(a.mailsize, input.length - (TRICKY.match(/\r\n/g)?.length ?? 0) + 1);
});
