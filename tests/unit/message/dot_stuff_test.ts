import assert from "node:assert/strict";
import { DotStuffer, dotStuffStream } from "../../../lib/message/dot_stuff.ts";

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
