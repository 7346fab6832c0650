/**
 * Composed mails read back by an independent parser, Python's `email` package: what a
 * recipient's mail program decodes must be what the caller gave.
 */

import assert from "node:assert/strict";
import { composeMail } from "../../../lib/message/compose.ts";
import { formatDateHeader } from "../../../lib/message/rewrite.ts";
import { PostieError } from "../../../lib/errors.ts";
import { parseWithPython, pythonUnavailable } from "../../support/python_email.ts";

const missingPython = pythonUnavailable();
// A missing prerequisite is a visible skip, and under CI a failure.
const ignore = missingPython !== undefined && Deno.env.get("CI") !== "true";

/** Bytes 0–255 twice, then pseudo-random ones: every byte value, and no text. */
function binaryBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    if (i < 512) {
      bytes[i] = i % 256;
    } else {
      x = (x * 1103515245 + 12345) >>> 0;
      bytes[i] = x >>> 24;
    }
  }
  return bytes;
}

async function rawText(raw: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(raw).arrayBuffer());
}

Deno.test({
  name: "subject, display names, text, HTML and attachments come back identical from Python",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "postie_compose_" });
    try {
      const binary = binaryBytes(300_000);
      const binaryPath = `${dir}/relatório ñ 日本.bin`;
      await Deno.writeFile(binaryPath, binary);
      const pdfPath = `${dir}/report.pdf`;
      await Deno.writeFile(pdfPath, new TextEncoder().encode("%PDF-1.4\n% not really\n"));
      const subject = "Build #42 fehlgeschlagen — résumé ✓ " + "lange Zeile ".repeat(8);
      const mail = await composeMail({
        from: { name: "Jöhn Dœ, CI", address: "ci@example.org" },
        to: ["Zoë Ünal <zoe@example.org>", "plain@example.org"],
        cc: '"Ann, the reviewer" <ann@example.org>',
        bcc: ["hidden@example.org"],
        replyTo: "Équipe <team@example.org>",
        subject,
        text: "Grüße,\nthe build failed.\n.a line with a leading dot\n",
        html: "<p>Grüße, the <b>build</b> failed.</p>",
        attachments: [
          { path: binaryPath },
          { path: pdfPath },
          { filename: "log – 🚀.txt", content: "line 1\nline 2\n" },
          { filename: "data.csv", content: new Uint8Array([0x61, 0x2c, 0x62, 0x0a]) },
        ],
        headers: { "X-Build": "42" },
      }, { hostname: "ci.example.org" });

      assert.deepEqual(mail.envelope, {
        from: "ci@example.org",
        to: ["zoe@example.org", "plain@example.org", "ann@example.org", "hidden@example.org"],
      });
      const raw = await rawText(mail.raw);
      const parsed = await parseWithPython(raw);
      assert.deepEqual(parsed.defects, []);
      assert.equal(parsed.headers.subject, subject);
      assert.deepEqual(parsed.addresses.from, [{
        name: "Jöhn Dœ, CI",
        address: "ci@example.org",
      }]);
      assert.deepEqual(parsed.addresses.to, [
        { name: "Zoë Ünal", address: "zoe@example.org" },
        { name: "", address: "plain@example.org" },
      ]);
      assert.deepEqual(parsed.addresses.cc, [{
        name: "Ann, the reviewer",
        address: "ann@example.org",
      }]);
      assert.deepEqual(parsed.addresses["reply-to"], [{
        name: "Équipe",
        address: "team@example.org",
      }]);
      // Bcc is in the envelope only
      assert.equal(parsed.addresses.bcc, undefined);
      assert.ok(!parsed.headerNames.some((name) => name.toLowerCase() === "bcc"));
      assert.ok(!new TextDecoder().decode(raw).includes("hidden@"));
      assert.equal(parsed.headers["x-build"], "42");
      assert.equal(parsed.headers["message-id"], mail.messageId);

      assert.equal(
        parsed.structure,
        "multipart/mixed(multipart/alternative(text/plain,text/html)," +
          "application/octet-stream,application/pdf,text/plain,text/csv)",
      );
      const [text, html, bin, pdf, log, csv] = parsed.parts;
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      assert.equal(
        decode(text.bytes).replaceAll("\r\n", "\n"),
        "Grüße,\nthe build failed.\n.a line with a leading dot\n",
      );
      assert.equal(decode(html.bytes), "<p>Grüße, the <b>build</b> failed.</p>");
      assert.equal(bin.filename, "relatório ñ 日本.bin");
      assert.equal(bin.disposition, "attachment");
      assert.deepEqual(bin.bytes, binary);
      assert.equal(pdf.filename, "report.pdf");
      assert.deepEqual(pdf.bytes, await Deno.readFile(pdfPath));
      assert.equal(log.filename, "log – 🚀.txt");
      assert.equal(decode(log.bytes).replaceAll("\r\n", "\n"), "line 1\nline 2\n");
      assert.equal(csv.filename, "data.csv");
      assert.deepEqual(csv.bytes, new Uint8Array([0x61, 0x2c, 0x62, 0x0a]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a text-only mail is a single text/plain part, a text with one file a multipart/mixed",
  ignore,
  async fn() {
    const single = await composeMail({ from: "a@example.org", to: "b@example.org", text: "hi\n" }, {
      hostname: "h",
    });
    const one = await parseWithPython(await rawText(single.raw));
    assert.equal(one.structure, "text/plain");
    assert.equal(one.headers["mime-version"], "1.0");

    const withFile = await composeMail({
      from: "a@example.org",
      to: "b@example.org",
      text: "see attached\n",
      attachments: [{ filename: "x.json", content: "{}" }],
    }, { hostname: "h" });
    const two = await parseWithPython(await rawText(withFile.raw));
    assert.equal(two.structure, "multipart/mixed(text/plain,application/json)");
    assert.equal(two.parts[1].filename, "x.json");
  },
});

Deno.test("Date and Message-ID are made as the command line makes them", async () => {
  const date = new Date(2026, 11, 2, 9, 30, 5);
  const mail = await composeMail({ from: "Ann <ann@example.org>", to: "b@example.org" }, {
    hostname: "host.example",
    date,
  });
  const text = new TextDecoder().decode(await rawText(mail.raw));
  assert.match(mail.messageId, /^<[0-9a-f]{32}\.ann@example\.org>$/);
  assert.ok(text.includes(`\r\nMessage-ID: ${mail.messageId}\r\n`), text);
  assert.ok(text.includes(`\r\nDate: ${formatDateHeader(date)}\r\n`), text);

  // a sender without a domain gets the host name, as msmtp's Message-ID does
  const local = await composeMail({ from: "root", to: "b@example.org" }, { hostname: "box" });
  assert.match(local.messageId, /^<[0-9a-f]{32}\.root@box>$/);
  await local.raw.cancel();

  // two mails never share an id
  const again = await composeMail({ from: "ann@example.org" }, { hostname: "h" });
  assert.notEqual(again.messageId, mail.messageId);
  await again.raw.cancel();
});

Deno.test("a Date or Message-ID given in headers is kept", async () => {
  const mail = await composeMail({
    from: "ann@example.org",
    to: "b@example.org",
    headers: { "Message-ID": "<mine@example.org>", date: "Mon, 01 Jun 2026 10:00:00 +0200" },
  }, { hostname: "h" });
  const text = new TextDecoder().decode(await rawText(mail.raw));
  assert.equal(mail.messageId, "<mine@example.org>");
  assert.equal(text.match(/^Message-ID: .*$/gim)?.length, 1, text);
  assert.ok(text.includes("Message-ID: <mine@example.org>\r\n"), text);
  assert.ok(/^Date: Mon, 01 Jun 2026 10:00:00 \+0200\r$/m.test(text), text);
});

Deno.test("every line of a composed mail ends in CRLF, whatever the text's line ends", async () => {
  const mail = await composeMail({
    from: "a@example.org",
    to: "b@example.org",
    text: "unix\nline ends\n",
    attachments: [{ filename: "a.txt", content: "x\ny\n" }],
  }, { hostname: "h" });
  const bytes = await rawText(mail.raw);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) assert.equal(bytes[i - 1], 0x0d, `bare LF at byte ${i}`);
  }
});

Deno.test("a text body given as a stream is read to its end when the mail is composed", async () => {
  // the charset label comes before the text: the whole text is seen before the header is made
  const chunks = ["first ", "second\n", "third\n"].map((s) => new TextEncoder().encode(s));
  let ended = false;
  const source = ReadableStream.from(chunks).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush() {
        ended = true;
      },
    }),
  );
  const mail = await composeMail({
    from: "a@example.org",
    to: "b@example.org",
    subject: "stream",
    text: source,
  }, { hostname: "h" });
  assert.ok(ended, "the stream was read to its end");
  const text = new TextDecoder().decode(await rawText(mail.raw));
  assert.ok(text.includes("first second\r\nthird\r\n"), text);
});

Deno.test("an attachment that cannot be read fails before anything is produced, with exit 66", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie_compose_" });
  try {
    const missing = `${dir}/nope.log`;
    await assert.rejects(
      composeMail({ from: "a@example.org", attachments: [{ path: missing }] }, { hostname: "h" }),
      (error: unknown) => {
        assert.ok(error instanceof PostieError);
        assert.equal(error.exitCode, 66);
        assert.equal(error.message, `cannot read attachment ${missing}: No such file or directory`);
        return true;
      },
    );
    await assert.rejects(
      composeMail({ from: "a@example.org", attachments: [{ path: dir }] }, { hostname: "h" }),
      (error: unknown) =>
        error instanceof PostieError &&
        error.message === `cannot read attachment ${dir}: Is a directory`,
    );
    await assert.rejects(
      composeMail({ from: "a@example.org", html: { path: missing } }, { hostname: "h" }),
      (error: unknown) =>
        error instanceof PostieError && error.exitCode === 66 &&
        error.message === `cannot read HTML file ${missing}: No such file or directory`,
    );
    await assert.rejects(
      composeMail({ from: "a@example.org", attachments: [{ filename: "x" }] }, { hostname: "h" }),
      (error: unknown) => error instanceof PostieError && error.exitCode === 64,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file attachment is never fetched from a URL", async () => {
  const mail = composeMail({
    from: "a@example.org",
    attachments: [{ filename: "x", path: "http://127.0.0.1:9/x" }],
  }, { hostname: "h" });
  // the path is checked as a local file, which does not exist
  await assert.rejects(mail, (error: unknown) => error instanceof PostieError);
});

Deno.test("a bare local name is an address, as sendmail callers write it", async () => {
  const mail = await composeMail({ from: "root", to: "postmaster, a@example.org", cc: ["ops"] }, {
    hostname: "box",
  });
  assert.deepEqual(mail.envelope, { from: "root", to: ["postmaster", "a@example.org", "ops"] });
  const text = new TextDecoder().decode(await rawText(mail.raw));
  assert.match(text, /^To: <postmaster>, a@example\.org\r$/m);
  assert.match(text, /^Cc: <ops>\r$/m);
});

Deno.test("a display name without an address is refused rather than dropped", async () => {
  await assert.rejects(
    composeMail({ from: "a@example.org", to: "a@example.org, Joe Bloggs" }, { hostname: "h" }),
    (error: unknown) =>
      error instanceof PostieError && error.exitCode === 64 &&
      error.message === 'to: no address in "Joe Bloggs"',
  );
  await assert.rejects(
    composeMail({ from: "a@example.org, b@example.org" }, { hostname: "h" }),
    (error: unknown) =>
      error instanceof PostieError && error.message === "from: more than one address",
  );
});

Deno.test("line breaks cannot inject headers or recipients", async () => {
  for (const to of ["x@example.org\r\nBcc: evil@example.net", "x@example.org\nBcc: e@x.net"]) {
    await assert.rejects(
      composeMail({ from: "a@example.org", to }, { hostname: "h" }),
      (error: unknown) =>
        error instanceof PostieError && error.exitCode === 64 &&
        error.message === "to: a line break or NUL in an address",
    );
  }
  await assert.rejects(
    composeMail({
      from: { name: "A\r\nBcc: evil@example.net", address: "a@example.org" },
    }, { hostname: "h" }),
    (error: unknown) => error instanceof PostieError && error.exitCode === 64,
  );
  const mail = await composeMail({
    from: "a@example.org",
    to: "b@example.org",
    subject: "hi\r\nBcc: evil@example.net",
    headers: { "X-Note": "v\r\nBcc: evil@example.net" },
    attachments: [{ filename: 'a\r\nBcc: evil@example.net".txt', content: "x" }],
  }, { hostname: "h" });
  assert.deepEqual(mail.envelope.to, ["b@example.org"]);
  const text = new TextDecoder().decode(await rawText(mail.raw));
  assert.ok(!/^bcc:/im.test(text), text);
});

Deno.test({
  name: "a streamed text with 8-bit bytes and a 5000-byte line stays within SMTP's line limit",
  ignore,
  async fn() {
    const text = "Grüße " + "x".repeat(5000) + "\n\tindented\nlast line\n";
    const mail = await composeMail({
      from: "a@example.org",
      to: "b@example.org",
      text: ReadableStream.from([new TextEncoder().encode(text)]),
    }, { hostname: "h" });
    const raw = await rawText(mail.raw);
    const lines = new TextDecoder().decode(raw).split("\r\n");
    assert.ok(lines.every((line) => line.length <= 998));
    assert.ok(raw.every((byte) => byte < 0x80), "7-bit on the wire");
    const parsed = await parseWithPython(raw);
    assert.equal(new TextDecoder().decode(parsed.parts[0].bytes).replaceAll("\r\n", "\n"), text);
  },
});

/** `text` in ISO-8859-1: one byte per character. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => {
    assert.ok(c.charCodeAt(0) < 0x100);
    return c.charCodeAt(0);
  });
}

/** The decoded part with CRLF line ends back to LF, as a recipient's program stores it. */
function unixLines(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (!(bytes[i] === 0x0d && bytes[i + 1] === 0x0a)) out.push(bytes[i]);
  }
  return new Uint8Array(out);
}

/** `bytes` in chunks of 64 KiB, as standard input gives them. */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.slice(i, i + 65_536));
  return ReadableStream.from(chunks);
}

Deno.test({
  name: "text and HTML that are not UTF-8 are labelled unknown-8bit and come back byte for byte",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "postie_compose_" });
    try {
      // 200 KB of ASCII first: the Latin-1 bytes come long after the first chunk
      const ascii = "an ASCII line of a long report, nothing but plain letters\n".repeat(3500);
      assert.ok(ascii.length > 200_000);
      const text = latin1(ascii + "Grüße aus Köln: 21 °C, trüb.\n");
      const html = latin1("<p>" + ascii + "Ça coûte 5 €?</p>\n".replace("€", "¤"));
      await Deno.writeFile(`${dir}/text.txt`, text);
      await Deno.writeFile(`${dir}/page.html`, html);
      const forms: [string, () => Promise<Parameters<typeof composeMail>[0]>][] = [
        ["bytes", () => Promise.resolve({ text, html })],
        ["streams", () => Promise.resolve({ text: chunked(text), html: chunked(html) })],
        [
          "files",
          () =>
            Promise.resolve({
              text: { path: `${dir}/text.txt` },
              html: { path: `${dir}/page.html` },
            }),
        ],
      ];
      for (const [form, parts] of forms) {
        const mail = await composeMail({
          from: "a@example.org",
          to: "b@example.org",
          subject: `Latin-1 as ${form}`,
          ...await parts(),
        }, { hostname: "h" });
        const raw = await rawText(mail.raw);
        assert.ok(raw.every((byte) => byte < 0x80), `${form}: 7-bit on the wire`);
        const parsed = await parseWithPython(raw);
        assert.deepEqual(parsed.defects, [], form);
        assert.equal(parsed.structure, "multipart/alternative(text/plain,text/html)", form);
        const [plain, rich] = parsed.parts;
        assert.equal(plain.charset, "unknown-8bit", form);
        assert.equal(rich.charset, "unknown-8bit", form);
        assert.deepEqual(unixLines(plain.bytes), text, form);
        assert.deepEqual(unixLines(rich.bytes), html, form);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ASCII and UTF-8 texts keep their utf-8 label in every form",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "postie_compose_" });
    try {
      for (const source of ["plain ASCII\n", "Grüße — ✓ 🚀\n"]) {
        const bytes = new TextEncoder().encode(source);
        await Deno.writeFile(`${dir}/text.txt`, bytes);
        for (const text of [source, bytes, chunked(bytes), { path: `${dir}/text.txt` }]) {
          const mail = await composeMail({ from: "a@example.org", text }, { hostname: "h" });
          const parsed = await parseWithPython(await rawText(mail.raw));
          assert.equal(parsed.parts[0].charset, "utf-8");
          assert.deepEqual(unixLines(parsed.parts[0].bytes), bytes);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a text attachment is labelled by its bytes; a charset given or a binary type is kept",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "postie_compose_" });
    try {
      const legacy = latin1("Prüfung bestanden: 98 %\n");
      const utf8 = new TextEncoder().encode("name,city\nZoë,Zürich\n");
      const ascii = new TextEncoder().encode("all good\n");
      await Deno.writeFile(`${dir}/legacy.txt`, legacy);
      await Deno.writeFile(`${dir}/people.csv`, utf8);
      await Deno.writeFile(`${dir}/run.log`, ascii);
      await Deno.writeFile(`${dir}/blob.bin`, legacy);
      const mail = await composeMail({
        from: "a@example.org",
        text: "see attached\n",
        attachments: [
          { path: `${dir}/legacy.txt` },
          { path: `${dir}/people.csv` },
          { path: `${dir}/run.log` },
          { path: `${dir}/blob.bin` },
          { filename: "streamed.txt", content: chunked(legacy) },
          { filename: "given.txt", content: legacy, contentType: "text/plain; charset=iso-8859-1" },
        ],
      }, { hostname: "h" });
      const parsed = await parseWithPython(await rawText(mail.raw));
      assert.deepEqual(parsed.defects, []);
      const parts = parsed.parts.slice(1).map((p) => [p.filename, p.contentType, p.charset]);
      assert.deepEqual(parts, [
        ["legacy.txt", "text/plain", "unknown-8bit"],
        ["people.csv", "text/csv", "utf-8"],
        ["run.log", "text/plain", null],
        ["blob.bin", "application/octet-stream", null],
        ["streamed.txt", "text/plain", "unknown-8bit"],
        ["given.txt", "text/plain", "iso-8859-1"],
      ]);
      const bytes = parsed.parts.slice(1).map((p) => p.bytes);
      assert.deepEqual(bytes, [legacy, utf8, ascii, legacy, legacy, legacy]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
