import assert from "node:assert/strict";
import { LocalCopy } from "../../../lib/local/local_copy.ts";
import { LocalDeliveryError } from "../../../lib/local/errors.ts";
import { appendToMbox, asctime } from "../../../lib/local/mbox.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function stream(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => enc.encode(p)));
}

/** Splits an mbox into its messages at `From ` lines that follow an empty line. */
function splitMbox(text: string): string[] {
  return text.split(/\n\n(?=From )/).map((m, i, all) => i < all.length - 1 ? m + "\n" : m);
}

Deno.test("the local copy removes stuffing dots, ends lines with LF and quotes From lines mboxrd-style", () => {
  const input =
    "Subject: x\r\n\r\n..leading dot\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\n" +
    "Fromage\r\n>Fro\r\nnot From here\r\n";
  const expected = "Subject: x\n\n.leading dot\n>From the start\n>>From quoted\n>>>From twice\n" +
    "Fromage\n>Fro\nnot From here\n";
  const whole = new LocalCopy(true);
  assert.equal(dec.decode(whole.push(enc.encode(input))) + dec.decode(whole.end()), expected);
  // the same bytes one at a time: no state is lost at a chunk boundary
  const bytewise = new LocalCopy(true);
  let out = "";
  for (const b of enc.encode(input)) out += dec.decode(bytewise.push(Uint8Array.of(b)));
  assert.equal(out + dec.decode(bytewise.end()), expected);
  // without mboxrd (Maildir) From lines stay as they are
  const plain = new LocalCopy(false);
  assert.equal(
    dec.decode(plain.push(enc.encode("From x\r\n..y\r\n"))) + dec.decode(plain.end()),
    "From x\n.y\n",
  );
});

Deno.test("a line that is only a held-back prefix at the end of the data is written out", () => {
  const copy = new LocalCopy(true);
  const out = dec.decode(copy.push(enc.encode("a\r\n>>Fro"))) + dec.decode(copy.end());
  assert.equal(out, "a\n>>Fro");
  assert.equal(copy.endsWithNewline, false);
});

Deno.test("asctime formats the From line date as C does", () => {
  assert.equal(asctime(new Date(2026, 0, 9, 1, 2, 3)), "Fri Jan  9 01:02:03 2026");
  assert.equal(asctime(new Date(2026, 11, 24, 23, 59, 59)), "Thu Dec 24 23:59:59 2026");
});

Deno.test("two mails appended to an mbox each start with a From line and end with an empty line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/root`;
    const date = new Date(2026, 11, 2, 7, 53, 3);
    await appendToMbox({
      path,
      sender: "cron@host.lan",
      data: stream("Subject: 1\r\n\r\nFrom me\r\n"),
      date,
    });
    await appendToMbox({ path, sender: "", data: stream("Subject: 2\r\n\r\nno newline"), date });
    assert.equal(
      await Deno.readTextFile(path),
      "From cron@host.lan Wed Dec  2 07:53:03 2026\nReturn-Path: <cron@host.lan>\nSubject: 1\n\n>From me\n\n" +
        "From MAILER-DAEMON Wed Dec  2 07:53:03 2026\nReturn-Path: <>\nSubject: 2\n\nno newline\n\n",
    );
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failure in the middle of a mail leaves the mbox exactly as it was", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/root`;
    await appendToMbox({ path, sender: "a@b", data: stream("Subject: first\r\n\r\nbody\r\n") });
    const before = await Deno.readFile(path);
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 50) controller.enqueue(enc.encode("line of a long mail\r\n".repeat(200)));
        else controller.error(new Error("the input broke"));
      },
    });
    await assert.rejects(appendToMbox({ path, sender: "a@b", data: failing }), (e: unknown) => {
      assert.ok(e instanceof LocalDeliveryError);
      assert.equal(e.message, `${path}: the input broke`);
      assert.equal(e.exitCode, 75);
      return true;
    });
    assert.ok(sent > 50, "the failure came after data was written");
    assert.deepEqual(await Deno.readFile(path), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a mailbox that is a symbolic link is refused and its target untouched", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/target`, "precious\n");
    await Deno.symlink(`${dir}/target`, `${dir}/root`);
    await assert.rejects(
      appendToMbox({ path: `${dir}/root`, sender: "a@b", data: stream("x\r\n") }),
      new RegExp(`^LocalDeliveryError: ${dir}/root: the mailbox is a symbolic link$`),
    );
    assert.equal(await Deno.readTextFile(`${dir}/target`), "precious\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes appending at once never interleave their mails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/shared`;
    const module = new URL("../../../lib/local/mbox.ts", import.meta.url).href;
    const script = `${dir}/writer.ts`;
    await Deno.writeTextFile(
      script,
      `import { appendToMbox } from ${JSON.stringify(module)};
const [path, tag] = Deno.args;
for (let i = 0; i < 40; i++) {
  // many small chunks: each mail takes several writes, giving the other writer a chance
  const parts = Array.from({ length: 30 }, (_, k) => new TextEncoder().encode(tag + " " + i + " line " + k + "\\r\\n"));
  await appendToMbox({ path, sender: tag + "@x", data: ReadableStream.from(parts) });
}
`,
    );
    const run = (tag: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--quiet", script, path, tag],
        stdout: "null",
        stderr: "piped",
      }).output();
    const [a, b] = await Promise.all([run("alpha"), run("beta")]);
    assert.ok(a.success && b.success, dec.decode(a.stderr) + dec.decode(b.stderr));
    const mails = splitMbox(await Deno.readTextFile(path));
    assert.equal(mails.length, 80);
    for (const mail of mails) {
      const tag = /^From (\w+)@x /.exec(mail)?.[1];
      assert.ok(tag === "alpha" || tag === "beta", mail.slice(0, 80));
      const lines = mail.split("\n").slice(2).filter((l) => l !== "");
      assert.equal(lines.length, 30);
      const n = lines[0].split(" ")[1];
      lines.forEach((line, k) => assert.equal(line, `${tag} ${n} line ${k}`));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
