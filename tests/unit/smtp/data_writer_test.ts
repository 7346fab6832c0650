import assert from "node:assert/strict";
import { PendingBytes, sourceStream } from "../../../lib/message/byte_stream.ts";
import { DotStuffer } from "../../../lib/message/dot_stuff.ts";
import { writeMailData } from "../../../lib/smtp/data_writer.ts";
import type { SmtpStage } from "../../../lib/smtp/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** msmtp's stuffing, written plainly: lines at CRLF, CR or LF; a leading dot doubled. */
function reference(mail: string): string {
  const lines = mail.split(/\r\n|\r|\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines.map((l) => (l.startsWith(".") ? "." + l : l) + "\r\n").join("");
}

/** A server side that takes its time: each write is checked when it completes. */
function recorder(delayMs = 0) {
  const writes: { bytes: Uint8Array; stage: SmtpStage }[] = [];
  const write = async (bytes: Uint8Array, stage: SmtpStage): Promise<void> => {
    const copy = bytes.slice();
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    else await Promise.resolve();
    // nothing may touch the bytes until their write is done
    assert.deepEqual(bytes, copy, "bytes changed while their write was in flight");
    writes.push({ bytes: copy, stage });
  };
  return {
    write,
    writes,
    wire: () => writes.map((w) => dec.decode(w.bytes)).join(""),
  };
}

function source(mail: string, step = Infinity) {
  const bytes = enc.encode(mail);
  let at = 0;
  return {
    read(into: Uint8Array): Promise<number | null> {
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - at, step);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

Deno.test("a small mail and its final dot go out in one write", async () => {
  const r = recorder();
  const stuffer = new DotStuffer();
  const mail = "Subject: x\n\n.hi\nlast";
  const bytes = await writeMailData(sourceStream(source(mail)), r.write, { stuffer });
  assert.equal(r.writes.length, 1);
  assert.equal(r.writes[0].stage, "end-of-data");
  assert.equal(r.wire(), reference(mail) + ".\r\n");
  assert.equal(bytes, reference(mail).length);
  // every byte, the missing final line end counting one, no stuffing dot
  assert.equal(stuffer.mailsize, mail.length + 1);
});

Deno.test("an empty mail is the final dot alone", async () => {
  const r = recorder();
  assert.equal(
    await writeMailData(ReadableStream.from([]), r.write, { stuffer: new DotStuffer() }),
    0,
  );
  assert.equal(r.wire(), ".\r\n");
  const s = recorder();
  assert.equal(await writeMailData(ReadableStream.from([]), s.write), 0);
  assert.equal(s.wire(), ".\r\n");
});

Deno.test("a big mail from a source: the reference's bytes, in few writes no bigger than the buffer", async () => {
  const line = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+*/abcdefg\n";
  const block = Array.from({ length: 16 }, (_, i) => (i === 0 ? "." + line.slice(1) : line)).join(
    "",
  );
  const mail = "Subject: big\n\n" + block.repeat(Math.ceil(3_000_000 / block.length)) + ".\n.";
  for (const step of [Infinity, 65536, 1000]) {
    const r = recorder();
    const stuffer = new DotStuffer();
    const bufferSize = 256 * 1024;
    await writeMailData(sourceStream(source(mail, step)), r.write, { stuffer, bufferSize });
    assert.equal(r.wire(), reference(mail) + ".\r\n", `reads of ${step}`);
    for (const w of r.writes) assert.ok(w.bytes.length <= bufferSize);
    // a mail starts in a small buffer (16 KiB); once it outgrows that, every write but the
    // last is at least a quarter of the buffer: no small writes
    assert.ok(r.writes[0].bytes.length <= 16 * 1024);
    for (const w of r.writes.slice(1, -1)) assert.ok(w.bytes.length >= bufferSize / 4);
    assert.ok(r.writes.length <= 2 + (2 * reference(mail).length) / bufferSize);
    assert.ok(r.writes.slice(0, -1).every((w) => w.stage === "data"));
    assert.equal(r.writes.at(-1)!.stage, "end-of-data");
  }
});

Deno.test("pending bytes (a prefix, then a source): the reference's bytes, the same as a stream's", async () => {
  const line = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+*/abcdefg\n";
  const body = (".x\n" + line.repeat(15)).repeat(Math.ceil(3_000_000 / (16 * line.length)));
  const mail = "Subject: big\r\n\r\n" + body + ".\n.";
  // the split between prefix and source anywhere: in the header, at a line start, in the body
  for (const cut of [0, 5, 18, 20, 100_000]) {
    for (const step of [Infinity, 1000]) {
      const r = recorder();
      const stuffer = new DotStuffer();
      const pending = new PendingBytes(
        source(mail.slice(cut), step),
        enc.encode(mail.slice(0, cut)),
      );
      const bytes = await writeMailData(pending, r.write, { stuffer, bufferSize: 256 * 1024 });
      assert.equal(r.wire(), reference(mail) + ".\r\n", `cut at ${cut}, reads of ${step}`);
      assert.equal(bytes, reference(mail).length);
      assert.equal(stuffer.mailsize, mail.length - 2 + 1);
      for (const w of r.writes) assert.ok(w.bytes.length <= 256 * 1024);
    }
  }
});

Deno.test("any chunking of another stream gives the same bytes", async () => {
  const mail = "a\r\n.b\r\n.\r\n..\r\nc\r.\r\nd\n.\re\r";
  const want = reference(mail) + ".\r\n";
  for (let i = 0; i <= mail.length; i++) {
    for (let j = i; j <= mail.length; j++) {
      const chunks = [mail.slice(0, i), mail.slice(i, j), mail.slice(j)].map((c) => enc.encode(c));
      const r = recorder();
      await writeMailData(ReadableStream.from(chunks), r.write, { stuffer: new DotStuffer() });
      assert.equal(r.wire(), want, `${i},${j}`);
    }
  }
});

Deno.test("a slow server: no buffer is filled again while its write is in flight", async () => {
  const mail = "x".repeat(70) + "\n";
  const r = recorder(2);
  await writeMailData(sourceStream(source(mail.repeat(20_000), 50_000)), r.write, {
    stuffer: new DotStuffer(),
    bufferSize: 64 * 1024,
  });
  assert.equal(r.wire(), reference(mail.repeat(20_000)) + ".\r\n");
  assert.ok(r.writes.length > 10);
});

Deno.test("stuffed data: big chunks written whole, small ones batched, a last line ended", async () => {
  const big = enc.encode("y".repeat(100_000) + "\r\n");
  const r = recorder();
  const chunks = [enc.encode("a\r\n"), big, enc.encode("b\r\n"), enc.encode("no end")];
  const bytes = await writeMailData(ReadableStream.from(chunks), r.write);
  assert.deepEqual(r.writes.map((w) => w.bytes.length), [3, big.length, 3 + 6 + 2 + 3]);
  assert.equal(r.wire(), "a\r\n" + dec.decode(big) + "b\r\nno end\r\n.\r\n");
  assert.equal(bytes, 3 + big.length + 3 + 6 + 2);
  // already ended: nothing added
  const s = recorder();
  await writeMailData(ReadableStream.from([enc.encode("x\r"), enc.encode("\n")]), s.write);
  assert.equal(s.wire(), "x\r\n.\r\n");
});

Deno.test("the transcript shows each line of data, in msmtp's pieces, then the dot", async () => {
  const long = "z".repeat(2500);
  const mail = "one\n." + long + "\nthree";
  const lines: string[] = [];
  await writeMailData(sourceStream(source(mail, 7)), recorder().write, {
    stuffer: new DotStuffer(),
    debug: (l) => lines.push(l),
    bufferSize: 4096,
  });
  const stuffedLong = ".." + long + "\r\n";
  assert.deepEqual(lines, [
    "--> one\r\n",
    "--> " + stuffedLong.slice(0, 1023),
    "--> " + stuffedLong.slice(1023, 2046),
    "--> " + stuffedLong.slice(2046),
    "--> three\r\n",
    "--> .\r\n",
  ]);
});

Deno.test("a failed write is thrown and the mail's stream cancelled", async () => {
  let cancelled: unknown = null;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(enc.encode("line\n".repeat(20_000)));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const broken = new Error("connection reset");
  await assert.rejects(
    writeMailData(stream, () => Promise.reject(broken), {
      stuffer: new DotStuffer(),
      bufferSize: 64 * 1024,
    }),
    (e) => e === broken,
  );
  assert.equal(cancelled, broken);
  assert.ok(pulls < 5);
});

Deno.test("a failed read is thrown, and nothing after it is written", async () => {
  const r = recorder();
  let n = 0;
  const failing = {
    read(into: Uint8Array): Promise<number | null> {
      if (n++ > 0) return Promise.reject(new Error("stdin: I/O error"));
      into.set(enc.encode("a\n"));
      return Promise.resolve(2);
    },
  };
  await assert.rejects(
    writeMailData(sourceStream(failing), r.write, { stuffer: new DotStuffer() }),
    /stdin: I\/O error/,
  );
  assert.equal(r.wire().includes(".\r\n"), false, "no final dot after a failed read");
});

Deno.test("a chunk bigger than the buffer is stuffed in pieces, the buffer never grown", async () => {
  const mail = ".dot\n" + "w".repeat(300_000) + "\n.end\n";
  const r = recorder();
  const bufferSize = 64 * 1024;
  await writeMailData(ReadableStream.from([enc.encode(mail)]), r.write, {
    stuffer: new DotStuffer(),
    bufferSize,
  });
  assert.equal(r.wire(), reference(mail) + ".\r\n");
  for (const w of r.writes) assert.ok(w.bytes.length <= bufferSize);
});

Deno.test("a mail held whole: one write of its bytes, the line end it lacks and the dot", async () => {
  const r = recorder();
  assert.equal(await writeMailData(enc.encode("a\r\nb"), r.write), 6);
  assert.deepEqual(r.writes.map((w) => [dec.decode(w.bytes), w.stage]), [
    ["a\r\nb\r\n.\r\n", "end-of-data"],
  ]);
  // big: the data as it is, then the rest
  const big = enc.encode("z".repeat(70_000) + "\r\n");
  const s = recorder();
  await writeMailData(big, s.write);
  assert.deepEqual(s.writes.map((w) => [w.bytes.length, w.stage]), [
    [big.length, "data"],
    [3, "end-of-data"],
  ]);
  // with a stuffer, the whole mail is stuffed first
  const t = recorder();
  const stuffer = new DotStuffer();
  await writeMailData(enc.encode(".x\ny"), t.write, { stuffer });
  assert.equal(t.wire(), "..x\r\ny\r\n.\r\n");
  assert.equal(stuffer.mailsize, 5);
});

Deno.test("bytes to send after the dot go out in the dot's write and are not shown as data", async () => {
  const after = enc.encode("RSET\r\nMAIL FROM:<a@b>\r\n");
  for (const data of [enc.encode("x\r\n"), ReadableStream.from([enc.encode("x\n")])]) {
    const r = recorder();
    const lines: string[] = [];
    await writeMailData(data, r.write, {
      after,
      debug: (l) => lines.push(l),
      ...(data instanceof Uint8Array ? {} : { stuffer: new DotStuffer() }),
    });
    assert.equal(r.writes.length, 1);
    assert.equal(r.wire(), "x\r\n.\r\nRSET\r\nMAIL FROM:<a@b>\r\n");
    assert.deepEqual(lines, ["--> x\r\n", "--> .\r\n"]);
  }
});
