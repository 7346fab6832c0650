/**
 * Sends delivery records to syslog through logger(1): Deno has no syslog(3) binding, and
 * logger ships with every Linux system (util-linux). Priority is info on success and err
 * on failure, as msmtp's.
 *
 * @module
 */

const FACILITIES: Record<string, string> = {
  LOG_USER: "user",
  LOG_MAIL: "mail",
  LOG_LOCAL0: "local0",
  LOG_LOCAL1: "local1",
  LOG_LOCAL2: "local2",
  LOG_LOCAL3: "local3",
  LOG_LOCAL4: "local4",
  LOG_LOCAL5: "local5",
  LOG_LOCAL6: "local6",
  LOG_LOCAL7: "local7",
};

/**
 * The logger(1) arguments for one record.
 *
 * @example Usage
 * ```ts
 * import { syslogArgs } from "./syslog.ts";
 * console.log(syslogArgs("LOG_MAIL", "host=x exitcode=EX_OK", false));
 * // ["-t", "postie", "-p", "mail.info", "--", "host=x exitcode=EX_OK"]
 * ```
 */
export function syslogArgs(facility: string, record: string, error: boolean): string[] {
  const name = FACILITIES[facility] ?? "user";
  return ["-t", "postie", "-p", `${name}.${error ? "err" : "info"}`, "--", record];
}

/**
 * Logs one record to syslog. Failures are returned as a reason, never thrown: logging
 * must not change a delivery's outcome.
 */
export async function logToSyslog(
  facility: string,
  record: string,
  error: boolean,
): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("logger", {
      args: syslogArgs(facility, record, error),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      clearEnv: true,
    }).output();
    if (!out.success) return new TextDecoder().decode(out.stderr).trim() || "logger failed";
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
