/**
 * The msmtprc grammar: lines, comments, `command argument`, outer quotes, `defaults`,
 * `account NAME [: PARENT, …]` and `eval`. Values are not checked here; the builder
 * does that, so msmtprc and TOML report value errors the same way.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import type { AccountBlock, ConfigBlock, ConfigCommand, ConfigSource } from "./source.ts";
import { EvalTimeoutError, runEvalCommand } from "../secrets/eval.ts";

/** Commands whose literal value is a secret: a file holding one must be private. */
const SECRET_COMMANDS: ReadonlySet<string> = new Set([
  "password",
  "oauth2_client_secret",
  "oauth2_refresh_token",
]);

/** How {@linkcode parseMsmtprc} runs `eval` lines. */
export interface MsmtprcOptions {
  /**
   * Runs an `eval` command and returns the first line of its output (without the line
   * end), or undefined when it printed nothing at all. Defaults to `sh -c CMD`.
   */
  evalCommand?: (command: string) => Promise<string | undefined>;
}

/**
 * A grammar error. It carries the part of the file read before the error, so the
 * builder can first report an earlier error on that part, in file order as msmtp does.
 */
export class MsmtprcSyntaxError extends ConfigError {
  /** The blocks before the offending line. */
  readonly partial: ConfigSource;

  constructor(
    message: string,
    location: { file: string; line?: number; exitCode?: ExitCode },
    partial: ConfigSource,
  ) {
    super(message, location);
    this.name = "MsmtprcSyntaxError";
    this.partial = partial;
  }
}

/** One line split into its command word and argument; undefined for blank and comment lines. */
export interface SplitLine {
  name: string;
  arg: string;
}

const BLANKS = " \t";

/**
 * Splits one line as msmtp does: the command is the first blank-delimited word, the
 * argument the rest with blanks trimmed and, when it both starts and ends with `"`, the
 * outer quotes removed. There are no trailing comments.
 *
 * @example Usage
 * ```ts
 * import { splitLine } from "./msmtprc.ts";
 * console.log(splitLine('  from  "Joe <j@x>"  ')); // { name: "from", arg: "Joe <j@x>" }
 * console.log(splitLine("# comment")); // undefined
 * ```
 */
export function splitLine(line: string): SplitLine | undefined {
  let start = 0;
  while (start < line.length && BLANKS.includes(line[start])) start++;
  if (start === line.length || line[start] === "#") return undefined;
  let end = start;
  while (end < line.length && !BLANKS.includes(line[end])) end++;
  const name = line.slice(start, end);
  let arg = line.slice(end);
  let a = 0;
  while (a < arg.length && BLANKS.includes(arg[a])) a++;
  let b = arg.length;
  while (b > a && BLANKS.includes(arg[b - 1])) b--;
  arg = arg.slice(a, b);
  if (arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"')) arg = arg.slice(1, -1);
  return { name, arg };
}

/**
 * Splits the text into lines: LF ends a line, a CR right before it is dropped, and a
 * NUL ends the line's content (msmtp reads C strings). No length limit: a deliberate
 * difference from msmtp's 500 characters, so long OAuth tokens fit.
 */
function lines(text: string): string[] {
  const out = text.split("\n");
  if (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out.map((l) => {
    const nul = l.indexOf("\0");
    const cut = nul === -1 ? l : l.slice(0, nul);
    return cut.endsWith("\r") ? cut.slice(0, -1) : cut;
  });
}

/** Name and parents of an `account` argument; the builder checks they exist. */
interface AccountHead {
  name: string;
  parents: string[];
}

/**
 * Parses `NAME [: PARENT, …]`. A comma before any colon is an error here; empty names
 * are left for the builder, which reports them in msmtp's order (parents first).
 */
function accountHead(arg: string): AccountHead | "commas" {
  const colon = arg.indexOf(":");
  const comma = arg.indexOf(",");
  if (comma !== -1 && (colon === -1 || comma < colon)) return "commas";
  if (colon === -1) return { name: trimBlanks(arg), parents: [] };
  return {
    name: trimBlanks(arg.slice(0, colon)),
    parents: arg.slice(colon + 1).split(",").map(trimBlanks),
  };
}

function trimBlanks(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * Reads msmtprc text into a {@linkcode ConfigSource}. Runs every `eval` line in file
 * order (even in accounts that are never used, as msmtp does). Throws
 * {@linkcode MsmtprcSyntaxError} for grammar errors.
 *
 * @example Usage
 * ```ts
 * import { parseMsmtprc } from "./msmtprc.ts";
 * const src = await parseMsmtprc("account a\nhost mail.example\n", "/home/joe/.msmtprc");
 * console.log(src.blocks[0]); // { kind: "account", name: "a", parents: [], line: 1, commands: [...] }
 * ```
 */
export async function parseMsmtprc(
  text: string,
  path: string,
  options: MsmtprcOptions = {},
): Promise<ConfigSource> {
  const evalCommand = options.evalCommand ?? runEvalCommand;
  const blocks: ConfigBlock[] = [];
  const source: ConfigSource = { path, blocks, holdsPassword: false };
  let current: ConfigBlock | undefined;
  const fail = (message: string, line: number): never => {
    throw new MsmtprcSyntaxError(message, { file: path, line }, {
      path,
      blocks: blocks.map((b) => ({ ...b, commands: [...b.commands] })),
      holdsPassword: source.holdsPassword,
    });
  };

  const all = lines(text);
  for (let i = 0; i < all.length; i++) {
    const lineNo = i + 1;
    let split = splitLine(all[i]);
    if (split === undefined) continue;
    if (split.name === "eval") {
      if (split.arg === "") fail("command eval needs an argument", lineNo);
      let output: string | undefined;
      try {
        output = await evalCommand(split.arg);
      } catch (error) {
        if (error instanceof EvalTimeoutError) fail(`eval ${error.detail}`, lineNo);
        throw error;
      }
      if (output === undefined) {
        // msmtp reports this without a line number, as a read error.
        throw new MsmtprcSyntaxError(
          `cannot read output of '${split.arg}'`,
          { file: path, exitCode: ExitCode.IOERR },
          { path, blocks, holdsPassword: source.holdsPassword },
        );
      }
      split = splitLine(output);
      if (split === undefined) continue;
    } else if (SECRET_COMMANDS.has(split.name)) {
      source.holdsPassword = true;
    }
    const { name, arg } = split;
    if (name === "defaults") {
      if (arg !== "") fail("command defaults does not take an argument", lineNo);
      current = { kind: "defaults", line: lineNo, commands: [] };
      blocks.push(current);
    } else if (name === "account") {
      const head = accountHead(arg);
      if (head === "commas") fail("an account name must not contain colons or commas", lineNo);
      const { name: accName, parents } = head as AccountHead;
      const block: AccountBlock = {
        kind: "account",
        name: accName,
        parents,
        line: lineNo,
        commands: [],
      };
      current = block;
      blocks.push(block);
    } else {
      if (current === undefined) {
        // Commands before any block form an implicit account `default` (msmtp 1.2 files).
        current = { kind: "account", name: "default", parents: [], line: lineNo, commands: [] };
        blocks.push(current);
      }
      const command: ConfigCommand = { name, arg, line: lineNo };
      current.commands.push(command);
    }
  }
  return source;
}
