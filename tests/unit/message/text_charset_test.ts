/**
 * The character set of a text, found chunk by chunk, checked against Python's strict UTF-8
 * decoder (an independent implementation of RFC 3629), and the spool that lets a streamed
 * text be labelled before it is sent.
 */

import assert from "node:assert/strict";
import {
  CharsetDetector,
  charsetOfBytes,
  charsetOfFile,
  spoolText,
} from "../../../lib/message/text_charset.ts";
import { PostieError } from "../../../lib/errors.ts";
import { pythonUnavailable } from "../../support/python_email.ts";

const ignorePython = pythonUnavailable() !== undefined && Deno.env.get("CI") !== "true";

function detect(chunks: Uint8Array[]): string {
  const detector = new CharsetDetector();
  for (const chunk of chunks) detector.update(chunk);
  return detector.finish();
}

/** Every way to cut `bytes` in two, and in single bytes. */
function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes]];
  for (let i = 0; i <= bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push([...bytes].map((b) => new Uint8Array([b])));
  return out;
}

const enc = (text: string) => new TextEncoder().encode(text);

Deno.test("ASCII, UTF-8 and other 8-bit bytes, however the chunks cut the characters", () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(), "us-ascii"],
    [enc("plain text\r\n\0\x7f"), "us-ascii"],
    [enc("é"), "utf-8"], // 2 bytes
    [enc("caf€ ✓ ok"), "utf-8"], // 3 bytes
    [enc("rocket 🚀 done"), "utf-8"], // 4 bytes
    [new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]), "unknown-8bit"], // Latin-1 "café"
    [new Uint8Array([0x61, 0xc3]), "unknown-8bit"], // a character cut off at the end
    [new Uint8Array([0x80, 0x61]), "unknown-8bit"], // a continuation byte alone
    [new Uint8Array([0xc0, 0xaf]), "unknown-8bit"], // overlong "/"
    [new Uint8Array([0xe0, 0x80, 0xaf]), "unknown-8bit"], // overlong, 3 bytes
    [new Uint8Array([0xed, 0xa0, 0x80]), "unknown-8bit"], // a UTF-16 surrogate
    [new Uint8Array([0xf4, 0x90, 0x80, 0x80]), "unknown-8bit"], // past U+10FFFF
    [new Uint8Array([0xff, 0xfe, 0x61, 0x00]), "unknown-8bit"], // UTF-16LE with its BOM
  ];
  for (const [bytes, expected] of cases) {
    for (const chunks of splits(bytes)) {
      assert.equal(detect(chunks), expected, `${[...bytes]} cut as ${chunks.map((c) => c.length)}`);
    }
  }
});

Deno.test({
  name: "random byte strings: the verdict is Python's strict UTF-8 decoder's",
  ignore: ignorePython,
  async fn() {
    // mostly UTF-8 with a few damaged bytes, so that both verdicts are common
    let x = 2024;
    const random = (n: number) => {
      x = (x * 1103515245 + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const pieces = ["a", "é", "€", "🚀", "\n"].map(enc);
    const samples: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) {
      const parts: number[] = [];
      for (let j = random(12); j >= 0; j--) parts.push(...pieces[random(pieces.length)]);
      if (random(3) === 0) parts[random(parts.length)] = random(256);
      if (random(4) === 0) parts.splice(random(parts.length + 1), 0, 0x80 + random(128));
      samples.push(new Uint8Array(parts));
    }
    const script = "import json, sys\n" +
      "out = []\n" +
      "for h in json.load(sys.stdin):\n" +
      "    b = bytes.fromhex(h)\n" +
      "    try:\n" +
      "        b.decode('utf-8')\n" +
      "        out.append('us-ascii' if b.isascii() else 'utf-8')\n" +
      "    except UnicodeDecodeError:\n" +
      "        out.append('unknown-8bit')\n" +
      "json.dump(out, sys.stdout)\n";
    const child = new Deno.Command("python3", {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const hex = samples.map((s) => [...s].map((b) => b.toString(16).padStart(2, "0")).join(""));
    const writer = child.stdin.getWriter();
    await writer.write(enc(JSON.stringify(hex)));
    await writer.close();
    const verdicts = JSON.parse(new TextDecoder().decode((await child.output()).stdout));
    const kinds = new Set(verdicts);
    assert.ok(kinds.has("unknown-8bit") && kinds.has("utf-8"), [...kinds].join());
    for (const [i, sample] of samples.entries()) {
      const cut = random(sample.length + 1);
      assert.equal(
        detect([sample.subarray(0, cut), sample.subarray(cut)]),
        verdicts[i],
        `sample ${hex[i]} cut at ${cut}`,
      );
    }
  },
});

Deno.test("a Latin-1 byte after 200 KB of ASCII is found, in a later chunk", async () => {
  const ascii = enc("x".repeat(200_000));
  const chunks = [];
  for (let i = 0; i < ascii.length; i += 65_536) chunks.push(ascii.subarray(i, i + 65_536));
  chunks.push(new Uint8Array([0xe9, 0x0a]));
  assert.ok(chunks.length > 2);
  const spooled = await spoolText(ReadableStream.from(chunks));
  assert.equal(spooled.charset, "unknown-8bit");
  assert.equal(spooled.size, 200_002);
  const back = new Uint8Array(await new Response(spooled.content).arrayBuffer());
  assert.equal(back.length, 200_002);
  assert.deepEqual(back.subarray(199_990), new Uint8Array([...enc("x".repeat(10)), 0xe9, 0x0a]));
  // the same text valid: UTF-8
  const utf8 = await spoolText(ReadableStream.from([...chunks.slice(0, -1), enc("é\n")]));
  assert.equal(utf8.charset, "utf-8");
  await utf8.content.cancel();
});

/** The files this process has open under `dir`, as /proc shows them. */
function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (target.startsWith(dir + "/")) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", dir);
  try {
    return await fn();
  } finally {
    if (before === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", before);
  }
}

Deno.test("a text past the memory bound goes to a temporary file that no directory shows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie_spool_" });
  try {
    const bytes = new Uint8Array(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = 0x20 + (i % 0x5f);
    bytes[250_000] = 0xfc; // Latin-1 "ü"
    const chunk = (i: number) => bytes.subarray(i, i + 50_000);
    const spooled = await withTmpdir(
      dir,
      () =>
        spoolText(ReadableStream.from([0, 50_000, 100_000, 150_000, 200_000, 250_000].map(chunk)), {
          memoryLimit: 64 * 1024,
        }),
    );
    assert.equal(spooled.charset, "unknown-8bit");
    // the file is open, and already removed
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    const open = openFilesUnder(dir);
    assert.equal(open.length, 1, open.join());
    assert.match(open[0], /\/postie-text-[^/]* \(deleted\)$/);
    const back = new Uint8Array(await new Response(spooled.content).arrayBuffer());
    assert.deepEqual(back, bytes);
    // read to its end: closed
    assert.deepEqual(openFilesUnder(dir), []);

    // within the bound: no file at all
    const small = await withTmpdir(
      dir,
      () => spoolText(ReadableStream.from([bytes.subarray(0, 1000)]), { memoryLimit: 64 * 1024 }),
    );
    assert.deepEqual(openFilesUnder(dir), []);
    assert.equal(small.charset, "us-ascii");
    assert.deepEqual(
      new Uint8Array(await new Response(small.content).arrayBuffer()),
      bytes.subarray(0, 1000),
    );

    // cancelled unread: closed too
    const cancelled = await withTmpdir(
      dir,
      () => spoolText(ReadableStream.from([bytes]), { memoryLimit: 64 * 1024 }),
    );
    assert.equal(openFilesUnder(dir).length, 1);
    await cancelled.content.cancel();
    assert.deepEqual(openFilesUnder(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a temporary file that cannot be made is EX_IOERR, and the text is not read on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie_spool_" });
  try {
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        if (pulls > 100) controller.close();
        else controller.enqueue(new Uint8Array(40_000).fill(0x61));
      },
    });
    const error = await withTmpdir(
      `${dir}/missing`,
      () => spoolText(stream, { memoryLimit: 64 * 1024 }).then(() => null, (e) => e),
    );
    assert.ok(error instanceof PostieError, String(error));
    assert.equal(error.exitCode, 74);
    assert.equal(
      error.message,
      "cannot keep the text in a temporary file: No such file or directory",
    );
    assert.ok(pulls < 10, `${pulls} chunks read`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file's character set is read chunk by chunk", async () => {
  const path = await Deno.makeTempFile({ prefix: "postie_charset_" });
  try {
    // a 4-byte character across the 64 KiB read boundary
    const bytes = new Uint8Array([...enc("a".repeat(65_534)), ...enc("🚀"), ...enc("\n")]);
    await Deno.writeFile(path, bytes);
    assert.equal(await charsetOfFile(path), "utf-8");
    bytes[bytes.length - 1] = 0xe9;
    await Deno.writeFile(path, bytes);
    assert.equal(await charsetOfFile(path), "unknown-8bit");
    assert.equal(charsetOfBytes(bytes), "unknown-8bit");
  } finally {
    await Deno.remove(path);
  }
});
