/**
 * Composed mails through a real Postfix: sent by the command line (`--subject/--attach/--html`
 * and the `mail` personality), delivered into Postfix's mailbox, read back from it and parsed
 * by Python's `email` package.
 */

import assert from "node:assert/strict";
import { POSTIE, run, runPostie } from "../support/differential.ts";
import { postfixUnavailable, startPostfix, stripTraceHeaders } from "../support/postfix.ts";
import { parseWithPython, pythonUnavailable } from "../support/python_email.ts";

const missing = postfixUnavailable() ?? pythonUnavailable();
const ignore = missing !== undefined && Deno.env.get("CI") !== "true";

/** Every byte value, then more: a file no text transformation leaves intact by chance. */
function binary(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i < 256 ? i : i * 31 + (i >> 9)) % 256;
  return bytes;
}

Deno.test({
  name: "a mail composed with --subject, --attach and --html arrives intact in Postfix",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const dir = await Deno.makeTempDir({ prefix: "postie_compose_postfix_" });
    try {
      const data = binary(200_000);
      const binPath = `${dir}/Übersicht 2026 – größe.bin`;
      await Deno.writeFile(binPath, data);
      await Deno.writeTextFile(`${dir}/notes.txt`, "line one\n.line two starts with a dot\n");
      await Deno.writeTextFile(`${dir}/body.html`, "<p>Ünïcödé <b>HTML</b></p>\n");
      const subject = "Rapport hebdomadaire — état: ✓ " + "x".repeat(80);
      const result = await runPostie([
        "--host=127.0.0.1",
        `--port=${postfix.port}`,
        "-f",
        "sender@example.org",
        "-F",
        "Zoë Sender",
        `--subject=${subject}`,
        `--attach=${binPath}`,
        `--attach=${dir}/notes.txt`,
        `--html=${dir}/body.html`,
        "user@postie.test",
      ], { stdin: "Grüße aus dem Test.\n..two dots\n" });
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);

      const [delivered] = await postfix.mailbox("user@postie.test");
      const mail = await parseWithPython(stripTraceHeaders(delivered));
      assert.deepEqual(mail.defects, []);
      assert.equal(mail.headers.subject, subject);
      assert.deepEqual(mail.addresses.from, [{
        name: "Zoë Sender",
        address: "sender@example.org",
      }]);
      assert.deepEqual(mail.addresses.to, [{ name: "", address: "user@postie.test" }]);
      assert.equal(
        mail.structure,
        "multipart/mixed(multipart/alternative(text/plain,text/html),application/octet-stream," +
          "text/plain)",
      );
      const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replaceAll("\r\n", "\n");
      assert.equal(text(mail.parts[0].bytes), "Grüße aus dem Test.\n..two dots\n");
      assert.equal(text(mail.parts[1].bytes), "<p>Ünïcödé <b>HTML</b></p>\n");
      assert.equal(mail.parts[2].filename, "Übersicht 2026 – größe.bin");
      assert.deepEqual(mail.parts[2].bytes, data);
      assert.equal(mail.parts[3].filename, "notes.txt");
      assert.equal(text(mail.parts[3].bytes), "line one\n.line two starts with a dot\n");
    } finally {
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "echo body | mail -s -a -c -b delivers to every recipient in Postfix, Bcc unseen",
  ignore,
  async fn() {
    const postfix = await startPostfix({ tls: false });
    const dir = await Deno.makeTempDir({ prefix: "postie_compose_postfix_" });
    try {
      await Deno.symlink(POSTIE, `${dir}/mail`);
      const data = binary(5_000);
      await Deno.writeFile(`${dir}/report.pdf`, data);
      const result = await run(`${dir}/mail`, [
        "-s",
        "Sauvegarde terminée",
        "-a",
        `${dir}/report.pdf`,
        "-c",
        "cc@postie.test",
        "-b",
        "hidden@postie.test",
        "-r",
        "Backup <backup@example.org>",
        "to@postie.test",
      ], {
        env: { POSTIE_HOST: "127.0.0.1", POSTIE_PORT: String(postfix.port) },
        stdin: "done\n",
      });
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      for (const rcpt of ["to@postie.test", "cc@postie.test", "hidden@postie.test"]) {
        const [delivered] = await postfix.mailbox(rcpt);
        assert.match(delivered, /^Return-Path: <backup@example\.org>/);
        const raw = stripTraceHeaders(delivered);
        assert.ok(!raw.includes("hidden@"), `the Bcc address shows in ${rcpt}'s copy`);
        const mail = await parseWithPython(raw);
        assert.equal(mail.headers.subject, "Sauvegarde terminée");
        assert.deepEqual(mail.addresses.cc, [{ name: "", address: "cc@postie.test" }]);
        assert.equal(mail.parts[1].filename, "report.pdf");
        assert.equal(mail.parts[1].contentType, "application/pdf");
        assert.deepEqual(mail.parts[1].bytes, data);
      }
    } finally {
      await postfix.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
