/**
 * RFC 5321 §4.5.3.2.6: a client waits 10 minutes for the answer to the end of the mail, as a
 * server may scan a mail before it answers. postie's default `timeout` is 60 s for every
 * other step; the library and the queue wait the 10 minutes too, not only the command line.
 */

import assert from "node:assert/strict";
import { createTransport } from "../../../lib/mod.ts";
import { DEFAULT_TIMEOUT } from "../../../lib/config/account.ts";
import { runPostie } from "../../support/differential.ts";

/** Twice the default timeout and some: long past it, far within the 10 minutes. */
const ANSWER_DELAY_MS = (2 * DEFAULT_TIMEOUT + 5) * 1000;

/** A loopback SMTP server that answers each final dot only after {@linkcode ANSWER_DELAY_MS}. */
function slowScanner(): { port: number; delivered: string[]; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const delivered: string[] = [];
  const sessions: Promise<void>[] = [];
  const enc = new TextEncoder();
  const session = async (conn: Deno.Conn): Promise<void> => {
    const say = (line: string) => conn.write(enc.encode(line + "\r\n"));
    let buffer = "";
    let inData = false;
    let data = "";
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(65536);
    await say("220 scanner.test ESMTP");
    try {
      for (let reads = 0; reads < 10_000; reads++) {
        const n = await conn.read(chunk);
        if (n === null) return;
        buffer += decoder.decode(chunk.subarray(0, n), { stream: true });
        for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (inData) {
            if (line !== ".") {
              data += line + "\n";
              continue;
            }
            inData = false;
            // the mail is scanned before the answer
            await new Promise((resolve) => setTimeout(resolve, ANSWER_DELAY_MS));
            delivered.push(data);
            await say("250 2.0.0 scanned and queued");
            continue;
          }
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === "EHLO") await say("250 scanner.test");
          else if (verb === "DATA") {
            inData = true;
            data = "";
            await say("354 go ahead");
          } else if (verb === "QUIT") {
            await say("221 bye");
            return;
          } else await say("250 ok");
        }
      }
    } finally {
      conn.close();
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) sessions.push(session(conn).catch(() => {}));
  })();
  return {
    port: listener.addr.port,
    delivered,
    async close(): Promise<void> {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(sessions);
    },
  };
}

Deno.test("with the default timeout, an answer to the end of the mail after twice the timeout still counts: library and queue", async () => {
  const server = slowScanner();
  const dir = await Deno.makeTempDir();
  try {
    const rc = `${dir}/rc`;
    await Deno.writeTextFile(
      rc,
      `account default\nhost 127.0.0.1\nport ${server.port}\nfrom q@example.org\n` +
        `queue always\nqueue_dir ${dir}/queue\n`,
      { mode: 0o600 },
    );
    const env = { HOME: dir };
    const queued = await runPostie(["-C", rc, "q-rcpt@example.org"], {
      stdin: "Subject: from the queue\n\nscanned\n",
      env,
    });
    assert.equal(queued.code, 0, queued.stderr);

    const library = (async () => {
      const transport = await createTransport({
        host: "127.0.0.1",
        port: server.port,
        from: "lib@example.org",
      });
      try {
        return await transport.sendMail({
          envelope: { to: "lib-rcpt@example.org" },
          raw: "Subject: from the library\n\nscanned\n",
        });
      } finally {
        await transport.close();
      }
    })();
    const [info, flushed] = await Promise.all([library, runPostie(["-C", rc, "-q"], { env })]);
    assert.deepEqual(info.accepted, ["lib-rcpt@example.org"]);
    assert.equal(info.response, "250 2.0.0 scanned and queued");
    assert.equal(flushed.code, 0, flushed.stderr);
    const listing = await runPostie(["-C", rc, "-bp"], { env });
    assert.match(listing.stdout, /^Mail queue is empty /);
    assert.equal(server.delivered.length, 2);
    assert.ok(server.delivered.some((m) => m.includes("Subject: from the library\n")));
    assert.ok(server.delivered.some((m) => m.includes("Subject: from the queue\n")));
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
