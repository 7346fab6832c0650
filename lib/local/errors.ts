/**
 * The error of local delivery: a mailbox, Maildir or mbox file that cannot be written.
 *
 * @module
 */

import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { describeOsError } from "../os_error.ts";

/**
 * A mailbox could not be written. Temporary (EX_TEMPFAIL) by default: a full disk or a
 * wrong permission is fixed by the administrator and the mail tried again.
 *
 * @example Usage
 * ```ts
 * import { LocalDeliveryError } from "./errors.ts";
 * const e = LocalDeliveryError.from("/var/mail/x", new Deno.errors.PermissionDenied("no"));
 * console.log(e.message, e.exitCode); // "/var/mail/x: Permission denied" 75
 * ```
 */
export class LocalDeliveryError extends PostieError {
  /** A local delivery error with a message that names the file. */
  constructor(message: string, exitCode: ExitCode = ExitCode.TEMPFAIL, cause?: unknown) {
    super(message, exitCode, cause === undefined ? {} : { cause });
    this.name = "LocalDeliveryError";
  }

  /** Wraps any error of writing `path`; a LocalDeliveryError passes through. */
  static from(path: string, error: unknown): LocalDeliveryError {
    if (error instanceof LocalDeliveryError) return error;
    return new LocalDeliveryError(`${path}: ${describeOsError(error)}`, ExitCode.TEMPFAIL, error);
  }
}
