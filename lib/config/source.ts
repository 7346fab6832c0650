/**
 * The syntax-level model of a configuration file: blocks of commands with line numbers,
 * before any value is checked. The msmtprc reader and the TOML reader both produce a
 * {@linkcode ConfigSource}; one builder turns it into accounts, so both formats mean
 * exactly the same thing and report errors the same way.
 *
 * @module
 */

/** One `command argument` line. */
export interface ConfigCommand {
  /** The command name as written (`host`, `tls_starttls`, …). */
  name: string;
  /** The argument, blanks trimmed and outer double quotes removed; "" when absent. */
  arg: string;
  /** 1-based line number in the file. */
  line: number;
}

/** A `defaults` block: its commands set defaults for accounts defined later in the file. */
export interface DefaultsBlock {
  kind: "defaults";
  line: number;
  commands: ConfigCommand[];
}

/** An `account NAME [: PARENT, …]` block. */
export interface AccountBlock {
  kind: "account";
  name: string;
  parents: string[];
  line: number;
  commands: ConfigCommand[];
}

/** A block of a configuration file. */
export type ConfigBlock = DefaultsBlock | AccountBlock;

/** A parsed configuration file. */
export interface ConfigSource {
  /** The path as given (used in messages: `PATH: line N: …`). */
  path: string;
  /** The blocks in file order. Commands before any block form an account named `default`. */
  blocks: ConfigBlock[];
  /**
   * Whether the file itself holds a `password` command (not one produced by `eval`):
   * such a file must be private to its owner.
   */
  holdsPassword: boolean;
}
