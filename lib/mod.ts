/**
 * postie as a library for `deno run` scripts: send a mail exactly as the `postie` (sendmail)
 * command would, with msmtp's configuration files, options and error messages.
 *
 * @example Send a mail through the account "default" of ~/.msmtprc
 * ```ts ignore
 * import { send } from "./mod.ts";
 * await send({
 *   to: ["alice@example.org"],
 *   message: "Subject: Build finished\n\nAll green.\n",
 * });
 * ```
 *
 * @module
 */

import { PostieError } from "./errors.ts";
import { realEnv } from "./config/resolve.ts";
import { run } from "./cli/run.ts";

export { ConfigError, PostieError, UsageError } from "./errors.ts";
export { ExitCode, exitCodeName } from "./exit.ts";

/** What to send and how. */
export interface SendOptions {
  /**
   * The mail: headers, an empty line, the body. LF or CRLF line ends. A stream is sent as it
   * is read, never held whole.
   */
  message: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Recipients; each entry may be an address list (`"Joe <joe@x.org>, ann@y.org"`). */
  to?: string[];
  /** The envelope sender (`-f`); by default the account's `from`. */
  from?: string;
  /** Also send to the mail's To, Cc and Bcc (`-t`). */
  readRecipients?: boolean;
  /**
   * Further msmtp options choosing the account and settings, e.g. `["-a", "work"]`,
   * `["-C", "/etc/postie.toml"]` or `["--host=smtp.example.org", "--port=587", "--tls"]`.
   */
  args?: string[];
  /** The environment the configuration sees (`HOME`, `EMAIL`, …); the process's by default. */
  env?: Record<string, string>;
}

/** How a successful delivery went. */
export interface SendReport {
  /** What the command line would have printed on standard output (`logfile -`, `-d`). */
  output: string;
}

function toStream(message: SendOptions["message"]): ReadableStream<Uint8Array> {
  if (message instanceof ReadableStream) return message;
  const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
  return ReadableStream.from([bytes]);
}

/**
 * Sends one mail. Resolves when the server accepted it; otherwise rejects with a
 * {@linkcode PostieError} whose `exitCode` is the sysexits code the command would end with,
 * whose message is msmtp's first error line and whose `details` hold the rest.
 *
 * @example Usage
 * ```ts ignore
 * import { send } from "./mod.ts";
 * try {
 *   await send({ args: ["-a", "ci"], to: ["team@example.org"], message: "Subject: x\n\ny\n" });
 * } catch (e) {
 *   console.error(e.message, e.exitCode); // e.g. "cannot connect to …" 75
 * }
 * ```
 */
export async function send(options: SendOptions): Promise<SendReport> {
  const argv = [
    ...(options.args ?? []),
    ...(options.from === undefined ? [] : ["-f", options.from]),
    ...(options.readRecipients ? ["-t"] : []),
    "--",
    ...(options.to ?? []),
  ];
  let output = "";
  let errors = "";
  const env = options.env ?? Deno.env.toObject();
  const code = await run(argv, {
    argv0: "postie",
    env,
    configEnv: realEnv(),
    stdin: toStream(options.message),
    stdout: (text) => Promise.resolve(void (output += text)),
    stderr: (text) => Promise.resolve(void (errors += text)),
  });
  if (code !== 0) {
    const lines = errors.split("\n").filter((l) => l !== "").map((l) => l.replace(/^postie: /, ""));
    throw new PostieError(lines[0] ?? `delivery failed with exit code ${code}`, code as never, {
      details: lines.slice(1),
    });
  }
  return { output };
}
