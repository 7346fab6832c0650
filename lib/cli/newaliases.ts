/**
 * The `newaliases` personality: sendmail's command rebuilds the aliases database; postie
 * reads the aliases file directly at each delivery, so `newaliases` checks it instead —
 * syntax, loops and nesting — and says how many aliases it holds. Scripts that run
 * `newaliases` after editing /etc/aliases thus learn at once of a mistake.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { loadLocalAliases, validateLocalAliases } from "../local/aliases.ts";
import { DEFAULT_LOCAL_ALIASES } from "../local/deliver.ts";

/**
 * Checks the aliases file (the one argument, else /etc/aliases) and returns the line to
 * print. Options sendmail's newaliases takes (`-v`, `-oA…`) are accepted and ignored.
 *
 * @throws {ConfigError} the file is missing or wrong (`FILE: line N: …`, EX_CONFIG).
 *
 * @example Usage
 * ```ts
 * import { newaliases } from "./newaliases.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/aliases`, "postmaster: root\nroot: admin@example.org\n");
 * console.log(await newaliases([`${dir}/aliases`])); // "<dir>/aliases: 2 aliases"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function newaliases(args: readonly string[]): Promise<string> {
  const files = args.filter((a) => !a.startsWith("-"));
  if (files.length > 1) throw new UsageError("newaliases takes at most one aliases file");
  const file = files[0] ?? DEFAULT_LOCAL_ALIASES;
  const table = await loadLocalAliases(file, false);
  const count = table === undefined ? 0 : validateLocalAliases(table);
  return `${file}: ${count} alias${count === 1 ? "" : "es"}`;
}
