/**
 * msmtpd's way: each mail is piped to a command while the client waits (`--command`),
 * `%F` replaced by the envelope sender and the recipients appended, all shell-quoted.
 * Exit 0 is 250, exit 75 (EX_TEMPFAIL) is 451, anything else 554, as msmtpd answers.
 *
 * @module
 */

import { type MailSink, type RelayEnvelope, SinkError } from "./sink.ts";

/** A word for `sh -c`, single-quoted. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shell command line for one mail.
 *
 * @example Usage
 * ```ts
 * import { commandLine } from "./command_sink.ts";
 * console.log(commandLine("msmtp -f %F --", "a@x", ["b@y", "-oQ"]));
 * // msmtp -f 'a@x' -- 'b@y' '-oQ'
 * ```
 */
export function commandLine(template: string, from: string, recipients: string[]): string {
  const line = template.replace("%F", shellQuote(from));
  return [line, ...recipients.map(shellQuote)].join(" ");
}

/** A sink that runs a command for every mail; nothing is queued. */
export class CommandSink implements MailSink {
  /** The command template (`%F` = sender). */
  readonly template: string;

  constructor(template: string) {
    this.template = template;
  }

  /** Runs the command with the message on its standard input. */
  async accept(envelope: RelayEnvelope, message: ReadableStream<Uint8Array>): Promise<string> {
    const line = commandLine(
      this.template,
      envelope.from,
      envelope.recipients.map((r) => r.address),
    );
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("sh", {
        args: ["-c", line],
        stdin: "piped",
        stdout: "null",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      throw new SinkError("unavailable", `cannot run the command: ${error}`, { cause: error });
    }
    let pipeError: unknown;
    await message.pipeTo(child.stdin).catch((error) => pipeError = error);
    const status = await child.status;
    if (pipeError !== undefined && status.success) {
      throw new SinkError("unavailable", `the message was not read whole: ${pipeError}`);
    }
    if (status.code === 75) throw new SinkError("unavailable", "the command failed temporarily");
    if (!status.success) {
      throw new SinkError("rejected", `the command failed with exit code ${status.code}`);
    }
    return `${Date.now().toString(36).toUpperCase()}`;
  }

  /** Always true: nothing is stored. */
  writable(): Promise<boolean> {
    return Promise.resolve(true);
  }
}
