/**
 * What a command line asks for, after option parsing and before any file is read.
 *
 * @module
 */

import type { SettingOverride } from "../config/overrides.ts";

/** The operation mode. */
export type Mode =
  | "sendmail"
  | "serverinfo"
  | "rmqs"
  | "configure"
  | "version"
  | "help"
  | "convert-toml"
  /** `-bd`: the relay listener (postie). */
  | "daemon"
  /** `-bs`: one SMTP session on standard input and output (postie). */
  | "smtp-stdio"
  /** `--health`: is the relay answering and its queue writable (postie). */
  | "health"
  /** `--hash-password`: a users-file hash of the password on standard input (postie). */
  | "hash-password"
  // postie: the queue (`-q…`, `-bp`/mailq, `--queue-delete`)
  | "queue-run"
  | "queue-list"
  | "queue-delete";

/**
 * A configuration setting given on the command line, kept raw: it is checked with the
 * same value rules as the config file, and reported with the option's name
 * (`invalid argument maybe for --tls`).
 */
export type CliOverride = SettingOverride;

/** A parsed command line. */
export interface Invocation {
  mode: Mode;
  /** `-P`, `--pretend`. */
  pretend: boolean;
  /** `-d`, `-v`, `--debug`. */
  debug: boolean;
  /** `-d0.1` / `--debug=0.1`: print the version too (sendmail's convention). */
  printVersion: boolean;
  /** `-C`, `--file`. */
  configFile: string | undefined;
  /** `-a`, `--account`. */
  account: string | undefined;
  /** `--host`: an account from the command line only; no file is read. */
  host: string | undefined;
  /** `-f`, `--from`: the envelope-from given on the command line. */
  from: string | undefined;
  /** `--read-envelope-from`. */
  readEnvelopeFrom: boolean;
  /** `-t`, `--read-recipients`. */
  readRecipients: boolean;
  /** `-F NAME`: the full name for a generated From header. */
  fullName: string | undefined;
  /** Settings given as options, in command-line order. */
  overrides: CliOverride[];
  /** The non-option words (recipients in sendmail mode). */
  recipients: string[];
  /** `--rmqs=ARG`. */
  rmqsArgument: string | undefined;
  /** `--configure=ADDRESS`. */
  configureAddress: string | undefined;
  /** `--env-file=PATH` (postie): a `.env` file whose variables the config may reference. */
  envFile: string | undefined;
  /** `--config-format=msmtprc|toml` (postie): overrides detection by file extension. */
  configFormat: "msmtprc" | "toml" | undefined;
}
