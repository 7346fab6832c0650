/**
 * Turns a {@linkcode ConfigSource} into ordered accounts: `defaults` apply to accounts
 * defined later in the same file, `account NAME : PARENT, …` overlays what each parent
 * set explicitly, and every value is checked with the one set of value rules.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { type Account, DEFAULT_SETTINGS, overlay, type PartialSettings } from "./account.ts";
import type { ConfigSource } from "./source.ts";
import { applyCommand, SettingValueError, type ValueContext } from "./values.ts";

/**
 * An account as a file defines it, before the command line and post-processing.
 *
 * msmtp keeps two things apart, and so do we: the values an account copied from the
 * `defaults` in force when it was defined (`base`), and what it set itself or inherited
 * from its parents (`own`, msmtp's mask). Only `own` is passed on to children, and
 * only `own` counts as "set" (a `tls_trust_file` left empty in `defaults` still becomes
 * `system`).
 */
export interface BuiltAccount {
  /** The account name. */
  name: string;
  /** The file it was defined in. */
  file: string;
  /** The line of its `account` command (or first command of the implicit `default`). */
  line: number;
  /** The `defaults` values in force when the account was defined. */
  base: PartialSettings;
  /** The settings its parents and its own commands set explicitly. */
  own: PartialSettings;
}

/**
 * Builds the accounts of one file, in file order. Errors are {@linkcode ConfigError}s
 * worded as msmtp's (`FILE: line N: account c not (yet) defined`).
 *
 * @example Usage
 * ```ts
 * import { buildAccounts } from "./build.ts";
 * const accounts = buildAccounts({
 *   path: "rc",
 *   holdsPassword: false,
 *   blocks: [{ kind: "account", name: "a", parents: [], line: 1, commands: [
 *     { name: "port", arg: "587", line: 2 },
 *   ] }],
 * });
 * console.log(accounts[0].own); // { port: 587 }
 * ```
 */
export function buildAccounts(source: ConfigSource, context: ValueContext = {}): BuiltAccount[] {
  const file = source.path;
  const accounts: BuiltAccount[] = [];
  const defaults: PartialSettings = {};

  for (const block of source.blocks) {
    let target: PartialSettings;
    if (block.kind === "defaults") {
      // Repeated `defaults` blocks keep adding to the same defaults.
      target = defaults;
    } else {
      let own: PartialSettings = {};
      for (const parentName of block.parents) {
        if (parentName === "") {
          throw new ConfigError("missing account name", { file, line: block.line });
        }
        const parent = accounts.find((a) => a.name === parentName);
        if (parent === undefined) {
          throw new ConfigError(`account ${parentName} not (yet) defined`, {
            file,
            line: block.line,
          });
        }
        own = overlay(own, parent.own);
      }
      if (block.name === "") {
        throw new ConfigError("missing account name", { file, line: block.line });
      }
      if (accounts.some((a) => a.name === block.name)) {
        throw new ConfigError(`account ${block.name} was already defined`, {
          file,
          line: block.line,
        });
      }
      const account: BuiltAccount = {
        name: block.name,
        file,
        line: block.line,
        base: { ...defaults },
        own,
      };
      accounts.push(account);
      target = own;
    }
    for (const command of block.commands) {
      try {
        applyCommand(target, command.name, command.arg, context);
      } catch (e) {
        if (e instanceof SettingValueError) {
          throw new ConfigError(e.message, { file, line: command.line }, { cause: e });
        }
        throw e;
      }
    }
  }
  return accounts;
}

/**
 * The {@linkcode Account} record of a built account: `set` is what it set itself (with
 * its parents), `settings` the effective values with defaults filled in.
 *
 * @example Usage
 * ```ts
 * import { toAccount } from "./build.ts";
 * const acc = toAccount({ name: "a", file: "rc", line: 1, base: { port: 26 }, own: {} });
 * console.log(acc.settings.port); // 26
 * ```
 */
export function toAccount(built: BuiltAccount): Account {
  return {
    name: built.name,
    file: built.file,
    set: { ...built.own },
    settings: { ...DEFAULT_SETTINGS, ...built.base, ...built.own },
  };
}
