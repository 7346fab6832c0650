/**
 * strerror(3)-style text for the errors Deno throws, so messages read as msmtp's
 * (`No such file or directory`, not `NotFound: No such file or directory (os error 2)`).
 *
 * @module
 */

/**
 * The C library's description of an operating-system error.
 *
 * @example Usage
 * ```ts
 * import { describeOsError } from "./os_error.ts";
 * try {
 *   Deno.readTextFileSync("/nonexistent/file");
 * } catch (e) {
 *   console.log(describeOsError(e)); // "No such file or directory"
 * }
 * ```
 */
export function describeOsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Deno's messages are "<strerror text> (os error N)[: context]".
  const match = /^(.*?) \(os error \d+\)/.exec(error.message);
  if (match) return match[1];
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  return error.message;
}
