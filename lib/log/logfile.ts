/**
 * Appends delivery records to msmtp's log file: `<strftime(logfile_time_format)> <record>`,
 * under an exclusive lock so concurrent senders never interleave lines.
 *
 * @module
 */

import { describeOsError } from "../os_error.ts";
import { strftime } from "./strftime.ts";

/** msmtp's default `logfile_time_format`. */
export const DEFAULT_TIME_FORMAT = "%b %d %H:%M:%S";

/** Why a log line could not be written: msmtp's `cannot log to FILE: REASON`. */
export class LogError extends Error {
  constructor(file: string, reason: string) {
    super(`cannot log to ${file}: ${reason}`);
    this.name = "LogError";
  }
}

/** Where `logfile -` writes. */
export interface LineSink {
  write(text: string): void | Promise<void>;
}

/**
 * Appends one record line to `file` (`-` means standard output).
 *
 * @throws {LogError} when the file cannot be opened or written.
 * @example Usage
 * ```ts ignore
 * import { appendLogLine } from "./logfile.ts";
 * await appendLogLine("/tmp/postie.log", null, "host=… exitcode=EX_OK", new Date());
 * ```
 */
export async function appendLogLine(
  file: string,
  timeFormat: string | null,
  record: string,
  now: Date,
  stdout?: LineSink,
): Promise<void> {
  const line = `${strftime(timeFormat || DEFAULT_TIME_FORMAT, now)} ${record}\n`;
  if (file === "-") {
    if (stdout) await stdout.write(line);
    return;
  }
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file, { append: true, create: true, mode: 0o644 });
  } catch (e) {
    throw new LogError(file, `cannot open: ${describeOsError(e)}`);
  }
  try {
    await handle.lock(true);
    const bytes = new TextEncoder().encode(line);
    let written = 0;
    while (written < bytes.length) written += await handle.write(bytes.subarray(written));
  } catch (e) {
    throw new LogError(file, describeOsError(e));
  } finally {
    handle.close();
  }
}
