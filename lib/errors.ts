/**
 * The error hierarchy. Every failure that reaches the user is a {@linkcode PostieError}
 * carrying its sysexits code; only `main.ts` turns one into printed lines and an exit.
 *
 * @module
 */

import { ExitCode } from "./exit.ts";

/** Options shared by every postie error. */
export interface PostieErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
  /**
   * Further lines printed after the message, each with the program-name prefix
   * (msmtp's `server message: …` lines).
   */
  details?: string[];
}

/**
 * Base class: a message in msmtp's words and the exit code msmtp uses for it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { PostieError } from "./errors.ts";
 * import { ExitCode } from "./exit.ts";
 * const e = new PostieError("no recipients found", ExitCode.USAGE);
 * assert.equal(e.exitCode, 64);
 * ```
 */
export class PostieError extends Error {
  /** The sysexits.h code the process ends with. */
  readonly exitCode: ExitCode;
  /** Lines printed after the message (server replies and hints). */
  readonly details: string[];

  /** An error with msmtp's `message` that ends the process with `exitCode`. */
  constructor(message: string, exitCode: ExitCode, options: PostieErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PostieError";
    this.exitCode = exitCode;
    this.details = options.details ?? [];
  }
}

/**
 * A usage error (EX_USAGE): a bad option, or a value msmtp would refuse.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./errors.ts";
 * assert.equal(new UsageError("invalid argument x for --port").exitCode, 64);
 * ```
 */
export class UsageError extends PostieError {
  /** A usage error with msmtp's message. */
  constructor(message: string, options?: PostieErrorOptions) {
    super(message, ExitCode.USAGE, options);
    this.name = "UsageError";
  }
}

/**
 * A configuration error (EX_CONFIG unless given). When `file` and `line` are known the
 * message reads as msmtp's: `FILE: line N: MESSAGE`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const e = new ConfigError("host not set", { file: "/home/joe/.msmtprc", line: 3 });
 * assert.equal(e.message, "/home/joe/.msmtprc: line 3: host not set");
 * assert.equal(e.exitCode, 78);
 * ```
 */
export class ConfigError extends PostieError {
  /** The configuration file, when the error is located in one. */
  readonly file: string | undefined;
  /** The 1-based line number, when known. */
  readonly line: number | undefined;

  /** A configuration error, located in a file and line when they are known. */
  constructor(
    message: string,
    location: { file?: string; line?: number; exitCode?: ExitCode } = {},
    options?: PostieErrorOptions,
  ) {
    const prefix = location.file === undefined
      ? ""
      : location.line === undefined
      ? `${location.file}: `
      : `${location.file}: line ${location.line}: `;
    super(prefix + message, location.exitCode ?? ExitCode.CONFIG, options);
    this.name = "ConfigError";
    this.file = location.file;
    this.line = location.line;
  }
}
