/**
 * Settings given as command-line options, checked with the config file's value rules and
 * reported with the option's name: `invalid argument maybe for --tls`.
 *
 * @module
 */

import type { PartialSettings } from "./account.ts";
import {
  applyCommand,
  SettingValueError,
  UnsupportedSettingError,
  type ValueContext,
} from "./values.ts";
import { UsageError } from "../errors.ts";

/**
 * A setting laid over the chosen account, kept raw: it is checked with the config file's
 * value rules and reported with `option` (`invalid argument maybe for --tls`).
 */
export interface SettingOverride {
  /** How messages name it: the command-line option (`--tls`), or the setting's own name. */
  option: string;
  /** The config command it sets (`tls`, `port`, `dsn_notify`). */
  name: string;
  /**
   * The value as the config file would spell it (`on`, `587`); a command line's implied
   * value filled in (`--tls` gives "on", `--user=` gives "").
   */
  arg: string;
}

/**
 * Applies one override to `set`, turning a bad value into msmtp's usage error.
 *
 * @example Usage
 * ```ts
 * import { checkOverride } from "./overrides.ts";
 * const set = checkOverride({ option: "--port", name: "port", arg: "587" });
 * console.log(set.port); // 587
 * ```
 *
 * @param shown the argument as typed, for the message (defaults to `override.arg`).
 * @throws {UsageError} `invalid argument ARG for --OPTION`.
 */
export function checkOverride(
  override: SettingOverride,
  shown: string = override.arg,
  set: PartialSettings = {},
  context: ValueContext = {},
): PartialSettings {
  try {
    applyCommand(set, override.name, override.arg, context);
  } catch (error) {
    if (error instanceof UnsupportedSettingError) {
      throw new UsageError(`${override.option} is not supported: ${error.why}`, { cause: error });
    }
    if (error instanceof SettingValueError) {
      throw new UsageError(`invalid argument ${shown} for ${override.option}`, { cause: error });
    }
    throw error;
  }
  return set;
}

/**
 * The settings the command line gives, in command-line order (a later option wins), with
 * `~` in file names expanded against `context.home`.
 *
 * @example Usage
 * ```ts
 * import { overrideSettings } from "./overrides.ts";
 * const set = overrideSettings([
 *   { option: "--tls", name: "tls", arg: "on" },
 *   { option: "--port", name: "port", arg: "465" },
 * ]);
 * console.log(set); // { tls: true, port: 465 }
 * ```
 */
export function overrideSettings(
  overrides: readonly SettingOverride[],
  context: ValueContext = {},
): PartialSettings {
  const set: PartialSettings = {};
  for (const override of overrides) {
    checkOverride(override, override.arg, set, context);
    // msmtp's --maildomain= unsets, where the file's `maildomain` with no argument is ""
    if (override.name === "maildomain" && override.arg === "") set.maildomain = null;
  }
  return set;
}
