import assert from "node:assert/strict";
import { parseReplies, ReplyReader, SMTP_MAXLINES } from "../../../lib/smtp/reply.ts";
import { SmtpProtocolError } from "../../../lib/smtp/errors.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

Deno.test("a single-line reply gives its code, text, whole line and enhanced code", () => {
  const [reply] = parseReplies("250 2.1.0 Ok\r\n");
  assert.deepEqual(reply, {
    code: 250,
    lines: ["2.1.0 Ok"],
    raw: ["250 2.1.0 Ok"],
    enhanced: "2.1.0",
  });
});

Deno.test("continuation lines join into one reply", () => {
  const replies = parseReplies("250-mail.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
  assert.equal(replies.length, 1);
  assert.deepEqual(replies[0].lines, ["mail.example", "PIPELINING", "SIZE 100"]);
  assert.deepEqual(replies[0].raw, ["250-mail.example", "250-PIPELINING", "250 SIZE 100"]);
});

Deno.test("bare LF ends a line like CRLF", () => {
  const replies = parseReplies("220 hi\n250-a\n250 b\r\n");
  assert.deepEqual(replies.map((r) => r.raw), [["220 hi"], ["250-a", "250 b"]]);
});

Deno.test("an empty text after the code is a valid line", () => {
  const [reply] = parseReplies("334 \r\n");
  assert.deepEqual(reply.lines, [""]);
});

Deno.test("a reply split byte by byte, CRLF included, is framed once complete", () => {
  const reader = new ReplyReader();
  const bytes = enc("250-first\r\n250 second\r\n");
  for (let i = 0; i < bytes.length - 1; i++) {
    reader.push(bytes.slice(i, i + 1));
    assert.equal(reader.next(), undefined);
  }
  reader.push(bytes.slice(-1));
  assert.deepEqual(reader.next()?.lines, ["first", "second"]);
  assert.equal(reader.hasBufferedData, false);
});

Deno.test("a UTF-8 character split across chunks is decoded whole", () => {
  const reader = new ReplyReader();
  const bytes = enc("550 Empfänger unbekannt\r\n");
  const cut = bytes.indexOf(0xc3) + 1;
  reader.push(bytes.slice(0, cut));
  assert.equal(reader.next(), undefined);
  reader.push(bytes.slice(cut));
  assert.deepEqual(reader.next()?.lines, ["Empfänger unbekannt"]);
});

Deno.test("invalid UTF-8 in a reply becomes the replacement character", () => {
  const reader = new ReplyReader();
  reader.push(new Uint8Array([...enc("250 caf"), 0xe9, ...enc(" ok\r\n")]));
  assert.deepEqual(reader.next()?.lines, ["caf\uFFFD ok"]);
});

Deno.test("a line that is not NNN-space or NNN-dash is msmtp's invalid reply (EX_PROTOCOL)", () => {
  for (const text of ["hello\r\n", "25 x\r\n", "250\r\n", "250x\r\n", "\r\n"]) {
    assert.throws(() => parseReplies(text), (e: unknown) => {
      assert.ok(e instanceof SmtpProtocolError);
      assert.equal(e.message, "the server sent an invalid reply");
      assert.equal(e.exitCode, 76);
      return true;
    }, text);
  }
});

Deno.test("a line of 1023 bytes with its CRLF is accepted, one byte more is invalid", () => {
  const ok = "250 " + "x".repeat(1023 - 6) + "\r\n";
  assert.equal(ok.length, 1023);
  assert.equal(parseReplies(ok)[0].code, 250);
  const long = "250 " + "x".repeat(1023 - 5) + "\r\n";
  assert.throws(() => parseReplies(long), /the server sent an invalid reply/);
});

Deno.test("an endless line is refused without buffering it", () => {
  const reader = new ReplyReader();
  reader.push(enc("250 ok\r\n"));
  for (let i = 0; i < 100; i++) reader.push(new Uint8Array(100_000).fill(0x41));
  assert.ok(reader.bufferedBytes <= 1024 + 8);
  assert.equal(reader.next()?.code, 250);
  assert.throws(() => reader.next("mail"), (e: unknown) => {
    assert.ok(e instanceof SmtpProtocolError);
    assert.equal(e.stage, "mail");
    return true;
  });
});

Deno.test("a reply of 50 lines is accepted and one of 51 is refused with msmtp's words", () => {
  const lines = (n: number): string =>
    Array.from({ length: n }, (_, i) => `250${i === n - 1 ? " " : "-"}line${i}\r\n`).join("");
  assert.equal(parseReplies(lines(SMTP_MAXLINES))[0].lines.length, 50);
  assert.throws(
    () => parseReplies(lines(SMTP_MAXLINES + 1)),
    /^SmtpProtocolError: Rejecting server reply that is longer than 50 lines\. Increase SMTP_MAXLINES\.$/,
  );
});

Deno.test("end of stream before a reply is an empty reply, inside one an invalid reply", () => {
  const reader = new ReplyReader();
  assert.throws(() => reader.end("greeting"), /the server sent an empty reply/);
  reader.push(enc("250-partial\r\n"));
  assert.equal(reader.next(), undefined);
  assert.throws(() => reader.end("ehlo"), /the server sent an invalid reply/);
  const other = new ReplyReader();
  other.push(enc("250 no line end"));
  assert.equal(other.next(), undefined);
  assert.throws(() => other.end(), /the server sent an invalid reply/);
});

Deno.test("bytes after a reply stay unparsed until asked for, and can be discarded", () => {
  const reader = new ReplyReader();
  reader.push(enc("220 Ready to start TLS\r\n250 injected\r\ngarbage"));
  assert.equal(reader.next()?.code, 220);
  assert.equal(reader.hasBufferedData, true);
  reader.discard();
  assert.equal(reader.hasBufferedData, false);
  assert.equal(reader.next(), undefined);
});

Deno.test("each valid line is reported as msmtp's debug output prints it", () => {
  const seen: string[] = [];
  const reader = new ReplyReader({ onLine: (l) => seen.push(l) });
  reader.push(enc("250-a\r\n250 b\n"));
  reader.next();
  assert.deepEqual(seen, ["<-- 250-a\r\n", "<-- 250 b\n"]);
});

Deno.test("an enhanced code must match the reply class", () => {
  assert.equal(parseReplies("550 5.7.1 no\r\n")[0].enhanced, "5.7.1");
  assert.equal(parseReplies("550 2.0.0 odd\r\n")[0].enhanced, undefined);
  assert.equal(parseReplies("250 Ok 2.0.0\r\n")[0].enhanced, undefined);
  assert.equal(parseReplies("250 2.0.0\r\n")[0].enhanced, "2.0.0");
});

Deno.test("replies arriving together read as when they arrive line by line, whatever their bytes", () => {
  // ASCII, a two-byte character, a four-byte one, invalid bytes (one U+FFFD each, and one for
  // a cut sequence), a BOM, then ASCII again: the reader decodes the lines of one chunk
  // together and cuts them out only while each byte is one code unit of the text
  const bytes = new Uint8Array([
    ...enc("250-first\r\n250-Empfänger\r\n250-😀 x\r\n250-"),
    0xff,
    0x80,
    ...enc(" bad\r\n250-cut "),
    0xe2,
    0x82,
    ...enc("\r\n250-\uFEFFbom\r\n250 last\r\n220 next\n"),
  ]);
  const expected = {
    lines: ["first", "Empfänger", "😀 x", "\uFFFD\uFFFD bad", "cut \uFFFD", "\uFEFFbom", "last"],
    debug: [
      "<-- 250-first\r\n",
      "<-- 250-Empfänger\r\n",
      "<-- 250-😀 x\r\n",
      "<-- 250-\uFFFD\uFFFD bad\r\n",
      "<-- 250-cut \uFFFD\r\n",
      "<-- 250-\uFEFFbom\r\n",
      "<-- 250 last\r\n",
      "<-- 220 next\n",
    ],
  };
  for (const size of [bytes.length, 1, 7]) {
    const seen: string[] = [];
    const reader = new ReplyReader({ onLine: (l) => seen.push(l) });
    const replies = [];
    for (let i = 0; i < bytes.length; i += size) {
      reader.push(bytes.slice(i, i + size));
      for (let r = reader.next(); r; r = reader.next()) replies.push(r);
    }
    assert.deepEqual(replies.map((r) => r.lines), [expected.lines, ["next"]], `chunks of ${size}`);
    assert.deepEqual(seen, expected.debug, `chunks of ${size}`);
    assert.equal(reader.hasBufferedData, false);
  }
});

Deno.test("an ASCII batch after a non-ASCII one is framed from its own bytes", () => {
  const reader = new ReplyReader();
  reader.push(enc("250 Empfänger ok\r\n250 a"));
  assert.deepEqual(reader.next()?.lines, ["Empfänger ok"]);
  assert.equal(reader.next(), undefined);
  reader.push(enc("ll good\r\n250 Straße\r\n250 done\r\n"));
  assert.deepEqual(reader.next()?.lines, ["all good"]);
  assert.deepEqual(reader.next()?.lines, ["Straße"]);
  assert.deepEqual(reader.next()?.lines, ["done"]);
  assert.equal(reader.next(), undefined);
});
