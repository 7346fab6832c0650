/**
 * Helpers for the queue tests: a private configuration with a queue directory, postie run
 * against it, and the queue's files read back without postie's code.
 */

import { runPostie, type RunResult } from "./differential.ts";

/** A test directory with an msmtprc whose account uses `queue_dir` inside it. */
export interface QueueSetup {
  dir: string;
  rc: string;
  queueDir: string;
  /** Rewrites the msmtprc (e.g. a new port once a server runs). */
  write(options: RcOptions): Promise<void>;
  /** Runs postie with `-C rc` and HOME inside the test directory. */
  postie(
    args: string[],
    stdin?: string | Uint8Array,
    env?: Record<string, string>,
  ): Promise<RunResult>;
  /** The ids in the queue's `mail/` directory. */
  ids(): string[];
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/** What the account says. */
export interface RcOptions {
  port: number;
  queue?: "off" | "fallback" | "always";
  /** Further msmtprc lines for the account. */
  extra?: string[];
  /** Further accounts (whole blocks). */
  accounts?: string[];
}

/** Makes a test directory and its msmtprc. */
export async function queueSetup(options: RcOptions): Promise<QueueSetup> {
  const dir = await Deno.makeTempDir({ prefix: "postie-queue-" });
  const rc = `${dir}/msmtprc`;
  const queueDir = `${dir}/queue`;
  const write = async (o: RcOptions): Promise<void> => {
    const lines = [
      "account default",
      "host 127.0.0.1",
      `port ${o.port}`,
      "from sender@example.org",
      `queue ${o.queue ?? "fallback"}`,
      `queue_dir ${queueDir}`,
      ...(o.extra ?? []),
      "",
      ...(o.accounts ?? []),
    ];
    await Deno.writeTextFile(rc, lines.join("\n") + "\n", { mode: 0o600 });
  };
  await write(options);
  return {
    dir,
    rc,
    queueDir,
    write,
    postie: (args, stdin = "", env = {}) =>
      runPostie(["-C", rc, ...args], { stdin, env: { HOME: dir, ...env } }),
    ids: () => {
      try {
        return [...Deno.readDirSync(`${queueDir}/mail`)].map((e) => e.name).sort();
      } catch {
        return [];
      }
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A small mail with a recognisable subject. */
export function testMail(subject: string, lineEnd = "\n"): string {
  return [
    "From: Sender <sender@example.org>",
    "To: Recipient <rcpt@example.net>",
    `Subject: ${subject}`,
    "Date: Wed, 02 Dec 2026 08:00:00 +0000",
    `Message-ID: <${subject.replace(/[^A-Za-z0-9]/g, "")}@example.org>`,
    "",
    "Hello from the queue.",
    ".A line starting with a dot",
    "",
  ].join(lineEnd);
}

/** The mail as the server receives it (CRLF line ends). */
export function onTheWire(mail: string): string {
  return mail.replace(/\r?\n/g, "\r\n");
}
