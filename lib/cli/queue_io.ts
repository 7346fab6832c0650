/**
 * What the queue's command-line modes (`-q`, `-bp`, fallback, the msmtpq personality) need
 * from the outside world. `run.ts` provides it; keeping it here keeps those modes free of
 * an import back into `run.ts`.
 *
 * @module
 */

import type { Env } from "../config/machine.ts";

/** The I/O of the queue modes. */
export interface QueueIo {
  /** The program name for messages (`postie`, `sendmail`, `msmtpq`). */
  readonly name: string;
  /** The environment. */
  env: Readonly<Record<string, string>>;
  /** What account resolution reads from the machine. */
  configEnv: Env;
  /** Standard input. */
  stdin: ReadableStream<Uint8Array>;
  /** Writes text to standard output. */
  stdout(text: string): Promise<void>;
  /** Writes text to standard error. */
  stderr(text: string): Promise<void>;
  /**
   * Runs postie's sendmail mode with these arguments and this mail (msmtpq's queued mails);
   * returns the exit code and what it printed on standard error.
   */
  sendmail(
    argv: string[],
    stdin: ReadableStream<Uint8Array>,
  ): Promise<{ code: number; stderr: string }>;
}
