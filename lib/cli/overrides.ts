/**
 * Settings given as command-line options, checked with the config file's value rules and
 * reported with the option's name: `invalid argument maybe for --tls`.
 *
 * @module
 */

import type { PartialSettings } from "../config/account.ts";
import { applyCommand, SettingValueError } from "../config/values.ts";
import { UsageError } from "../errors.ts";
import type { CliOverride, Invocation } from "./invocation.ts";

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
  override: CliOverride,
  shown: string = override.arg,
  set: PartialSettings = {},
): PartialSettings {
  try {
    applyCommand(set, override.name, override.arg);
  } catch (error) {
    if (error instanceof SettingValueError) {
      throw new UsageError(`invalid argument ${shown} for ${override.option}`, { cause: error });
    }
    throw error;
  }
  return set;
}

/**
 * The settings the command line gives, in command-line order (a later option wins).
 *
 * @example Usage
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { validateOverrides } from "./overrides.ts";
 * const set = validateOverrides(parseArgs(["--tls", "--port=465", "-P"]));
 * console.log(set); // { tls: true, port: 465 }
 * ```
 *
 * @throws {UsageError} for the first value the config rules reject.
 */
export function validateOverrides(inv: Invocation): PartialSettings {
  const set: PartialSettings = {};
  for (const override of inv.overrides) {
    checkOverride(override, override.arg, set);
    // msmtp's --maildomain= unsets, where the file's `maildomain` with no argument is ""
    if (override.name === "maildomain" && override.arg === "") set.maildomain = null;
  }
  return set;
}
