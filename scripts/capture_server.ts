/**
 * A small SMTP/LMTP capture server on 127.0.0.1 for the demo and the tests: it speaks
 * just enough ESMTP, records the conversation and stores every mail it accepts exactly
 * as received (dot-unstuffed). Scripted rules make it refuse what tests ask it to:
 *
 * - `MAIL FROM:<badfrom@…>` → 553, `RCPT TO:<reject@…>` → 550, `<tempfail@…>` → 450
 * - a body containing `REJECTDATA` → 554 at end of data, `TEMPDATA` → 451
 * - LMTP: a recipient `lmtpbad@…` gets 552 after the data
 * - options: `refuseEhlo` answers EHLO with 500 (HELO still works), `greetingReply`
 *   replaces the 220 greeting line (e.g. with a 421)
 *
 * Run directly: `deno run --allow-net --allow-write scripts/capture_server.ts --port=2525
 * [--store=DIR] [--sessions=N] [--lmtp] [--minimal]`; it prints `listening on 127.0.0.1:PORT`.
 */

/** One accepted mail. */
export interface CapturedMail {
  from: string;
  recipients: string[];
  /** The DATA bytes after dot-unstuffing, CRLF line ends as sent. */
  data: Uint8Array;
}

/** One SMTP session as the server saw it. */
export interface CapturedSession {
  /** `C: line` for what the client sent, `S: line` for replies; DATA lines as `D: line`. */
  transcript: string[];
  mails: CapturedMail[];
}

/** How the server behaves. */
export interface CaptureServerOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Speak LMTP (LHLO, one reply per recipient after the data). */
  lmtp?: boolean;
  /** Advertise no extensions at all. */
  minimal?: boolean;
  /** The EHLO extension lines. */
  capabilities?: string[];
  /** Greeting text after `220 `. */
  greeting?: string;
  /** The whole greeting line, code included (e.g. `421 4.3.2 busy`); overrides `greeting`. */
  greetingReply?: string;
  /** Answer EHLO with 500, so the client must fall back to HELO. */
  refuseEhlo?: boolean;
}

/** A running server. */
export interface CaptureServer {
  port: number;
  sessions: CapturedSession[];
  /** Resolves when `count` sessions have ended. */
  waitForSessions(count: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_CAPS = [
  "PIPELINING",
  "SIZE 10240000",
  "DSN",
  "ETRN",
  "8BITMIME",
  "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER",
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts the capture server on 127.0.0.1. */
export function startCaptureServer(options: CaptureServerOptions = {}): CaptureServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const sessions: CapturedSession[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const handlers = new Set<Promise<void>>();
  const ended = () => {
    for (const w of [...waiters]) {
      if (sessions.filter((s) => s.transcript.includes("-- closed")).length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const session: CapturedSession = { transcript: [], mails: [] };
      sessions.push(session);
      const p = serve(conn, session, options).catch(() => {}).finally(() => {
        session.transcript.push("-- closed");
        try {
          conn.close();
        } catch { /* already closed */ }
        handlers.delete(p);
        ended();
      });
      handlers.add(p);
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    sessions,
    waitForSessions(count) {
      return new Promise((resolve) => {
        waiters.push({ count, resolve });
        ended();
      });
    },
    async close() {
      listener.close();
      await accepting;
      await Promise.all([...handlers]);
    },
  };
}

async function serve(conn: Deno.Conn, session: CapturedSession, options: CaptureServerOptions) {
  const lines = lineReader(conn);
  // Once a write fails the client has gone, but what it sent before going is still in the
  // socket's receive queue: the session goes on answering (into the void) until that is
  // read, so the transcript holds every command the client sent, not as many as the server
  // got round to before it noticed. A client that closes with replies unread (msmtp and
  // postie after a refused pipelined RCPT) resets the connection, and how far the server
  // had come by then depends only on how busy the machine is.
  let gone = false;
  const reply = async (...replies: string[]) => {
    for (const r of replies) session.transcript.push(`S: ${r}`);
    if (gone) return;
    try {
      await writeAll(conn, encoder.encode(replies.map((r) => r + "\r\n").join("")));
    } catch {
      gone = true;
    }
  };
  await reply(
    options.greetingReply ??
      `220 ${options.greeting ?? "capture.test ESMTP postie capture server"}`,
  );
  let from: string | undefined;
  let recipients: string[] = [];
  while (true) {
    const raw = await lines.next();
    if (raw === null) return;
    const line = decoder.decode(raw);
    session.transcript.push(`C: ${line}`);
    const verb = line.split(" ", 1)[0].toUpperCase();
    if (verb === "EHLO" || verb === "LHLO") {
      if ((options.lmtp ?? false) !== (verb === "LHLO")) {
        await reply("500 5.5.1 Unknown command");
        continue;
      }
      const caps = options.minimal ? [] : options.capabilities ?? DEFAULT_CAPS;
      const all = ["capture.test Hello " + line.slice(5), ...caps];
      await reply(...all.map((c, i) => `250${i === all.length - 1 ? " " : "-"}${c}`));
    } else if (verb === "HELO") {
      await reply("250 capture.test");
    } else if (verb === "MAIL") {
      from = /<(.*)>/.exec(line)?.[1] ?? "";
      recipients = [];
      if (from.startsWith("badfrom@")) {
        await reply(`553 5.7.1 <${from}>: Sender address rejected: not owned by user`);
        from = undefined;
      } else await reply("250 2.1.0 Ok");
    } else if (verb === "RCPT") {
      const to = /<(.*)>/.exec(line)?.[1] ?? "";
      if (to.startsWith("reject@")) {
        await reply(`550 5.1.1 <${to}>: Recipient address rejected: User unknown`);
      } else if (to.startsWith("tempfail@")) {
        await reply(`450 4.2.0 <${to}>: Recipient address rejected: Greylisted, try again later`);
      } else {
        recipients.push(to);
        await reply("250 2.1.5 Ok");
      }
    } else if (verb === "DATA") {
      if (from === undefined || recipients.length === 0) {
        await reply("503 5.5.1 Error: need RCPT command");
        continue;
      }
      await reply("354 End data with <CR><LF>.<CR><LF>");
      const data = await readData(lines, session);
      if (data === null) return;
      const text = decoder.decode(data);
      session.mails.push({ from, recipients, data });
      const verdict = text.includes("REJECTDATA")
        ? "554 5.7.1 Message rejected as spam"
        : text.includes("TEMPDATA")
        ? "451 4.3.0 Temporary local problem"
        : "250 2.0.0 Ok: queued as ABC123";
      if (options.lmtp) {
        await reply(
          ...recipients.map((r) =>
            r.startsWith("lmtpbad@") ? `552 5.2.2 <${r}> mailbox full` : `250 2.0.0 <${r}> Ok`
          ),
        );
      } else await reply(verdict);
      from = undefined;
    } else if (verb === "RSET") {
      from = undefined;
      recipients = [];
      await reply("250 2.0.0 Ok");
    } else if (verb === "NOOP") {
      await reply("250 2.0.0 Ok");
    } else if (verb === "ETRN") {
      const arg = line.slice(5);
      await reply(
        arg.startsWith("@bad") ? `459 4.7.1 Node ${arg} not allowed` : "250 Queuing started",
      );
    } else if (verb === "QUIT") {
      await reply("221 2.0.0 Bye");
      return;
    } else {
      await reply("502 5.5.2 Error: command not recognized");
    }
  }
}

async function readData(
  lines: ReturnType<typeof lineReader>,
  session: CapturedSession,
): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  while (true) {
    const raw = await lines.next();
    if (raw === null) return null;
    if (raw.length === 1 && raw[0] === 0x2e) break;
    session.transcript.push(`D: ${decoder.decode(raw)}`);
    const unstuffed = raw[0] === 0x2e ? raw.subarray(1) : raw;
    parts.push(unstuffed, encoder.encode("\r\n"));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads CRLF-terminated lines (the terminator removed); null at end of stream. */
function lineReader(conn: Deno.Conn) {
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  return {
    async next(): Promise<Uint8Array | null> {
      while (true) {
        const at = buffer.indexOf(0x0a);
        if (at >= 0) {
          const end = at > 0 && buffer[at - 1] === 0x0d ? at - 1 : at;
          const line = buffer.slice(0, end);
          buffer = buffer.slice(at + 1);
          return line;
        }
        const n = await conn.read(chunk);
        if (n === null) return null;
        const grown = new Uint8Array(buffer.length + n);
        grown.set(buffer);
        grown.set(chunk.subarray(0, n), buffer.length);
        buffer = grown;
      }
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

if (import.meta.main) {
  const flags = Object.fromEntries(
    Deno.args.map((a) => a.replace(/^--/, "").split("=", 2)).map(([k, v]) => [k, v ?? "true"]),
  );
  const server = startCaptureServer({
    port: Number(flags.port ?? 0),
    lmtp: flags.lmtp === "true",
    minimal: flags.minimal === "true",
  });
  console.log(`listening on 127.0.0.1:${server.port}`);
  const limit = Number(flags.sessions ?? 0);
  let shown = 0;
  const show = () => {
    for (; shown < server.sessions.length; shown++) {
      const s = server.sessions[shown];
      console.log(s.transcript.filter((l) => l !== "-- closed").join("\n"));
      if (flags.store) {
        s.mails.forEach((m, i) =>
          Deno.writeFileSync(`${flags.store}/mail-${shown}-${i}.eml`, m.data)
        );
      }
    }
  };
  for (let n = 1; limit === 0 || n <= limit; n++) {
    await server.waitForSessions(n);
    show();
  }
  await server.close();
}
