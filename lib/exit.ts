/**
 * Exit codes of sendmail-compatible programs, as defined by sysexits.h, and the
 * one mapping from a thrown error to the code the process ends with.
 *
 * @module
 */

/**
 * The sysexits.h codes postie uses, by name: every postie error carries one as `exitCode`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ExitCode } from "./exit.ts";
 * assert.equal(ExitCode.TEMPFAIL, 75);
 * ```
 */
export const ExitCode = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  NOUSER: 67,
  NOHOST: 68,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  OSFILE: 72,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
} as const;

/** One of the sysexits.h values in {@linkcode ExitCode}. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ExitCode).map(([name, code]) => [code, `EX_${name}`]),
);

/**
 * The sysexits.h name of a code, as msmtp writes it in log lines.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { exitCodeName, ExitCode } from "./exit.ts";
 * assert.equal(exitCodeName(ExitCode.TEMPFAIL), "EX_TEMPFAIL");
 * ```
 */
export function exitCodeName(code: number): string {
  return NAMES[code] ?? "EX_SOFTWARE";
}
