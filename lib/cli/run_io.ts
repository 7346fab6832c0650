/**
 * What the command-line program reads and writes (`RunIo`), the process's own (`denoIo`), and
 * the program's name as error lines give it.
 *
 * @module
 */

import { orderedWriter } from "./output.ts";
import { type Env, realEnv } from "../config/machine.ts";
import { PendingBytes, sourceStream } from "../byte_source.ts";

/** What the program reads and writes. */
export interface RunIo {
  /** `argv[0]` as invoked (`postie`, `/usr/sbin/sendmail`, …). */
  argv0: string;
  /** The environment. */
  env: Readonly<Record<string, string>>;
  /** What account resolution reads from the machine (files, uid, host name, eval). */
  configEnv: Env;
  /** Standard input (the mail). */
  stdin: ReadableStream<Uint8Array>;
  /**
   * Standard input as pending bytes, which sendmail mode reads without any web stream
   * (Deno loads its web streams on their first use); `stdin` is read where absent. Only one
   * of the two may be read, and an I/O made from another with a `stdin` of its own must
   * leave this out (run.ts's queue I/O does), or the mail would be read from the process.
   */
  stdinBytes?: () => PendingBytes;
  /** Writes text to standard output. */
  stdout(text: string): Promise<void>;
  /** Writes text to standard error. */
  stderr(text: string): Promise<void>;
  /** Whether standard input is a terminal (`--store-password` prompts then); false if absent. */
  stdinIsTerminal?: () => boolean;
  /** Resolves once everything written to stdout and stderr so far is out (or dropped). */
  flush?: () => Promise<void>;
  /**
   * The base name the program was invoked as, for personalities (`mailq`, `msmtpq`); read
   * without booting the Node layer. `argv0` is used when absent.
   */
  invokedAs?: () => string;
}

/** argv[0] as the process was invoked, from /proc/self/cmdline; undefined without procfs. */
function procArgv0(): string | undefined {
  try {
    const bytes = Deno.readFileSync("/proc/self/cmdline");
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
  } catch {
    return undefined;
  }
}

/**
 * The process's own I/O: Deno's standard streams, the environment and the program's name:
 * the base name of `invokedAs` when given (the path of the launcher as invoked, a link
 * named `sendmail` included), else argv[0] (from
 * /proc/self/cmdline where there is one, else `process.argv0`).
 *
 * @example Usage
 * ```ts
 * import { denoIo, run } from "./run.ts";
 * const code = await run(["--version"], denoIo());
 * console.log(code); // 0
 * ```
 */
export function denoIo(invokedAs?: string): RunIo {
  // Deno.stdout rather than its `writable`, and standard input's stream only when read: the
  // first use of Deno's web streams loads their implementation, which `--version`, `--help`
  // and `mailq` do without
  const stdout = orderedWriter(Deno.stdout);
  const stderr = orderedWriter(Deno.stderr);
  let stdin: ReadableStream<Uint8Array> | undefined;
  return {
    // Every run needs the name (a `mail` link is another personality). Without a launcher,
    // reading `process` would boot Deno's Node compatibility layer (13 ms and more) on every
    // run, so Linux's own record of argv[0] comes first.
    get argv0(): string {
      return invokedAs === undefined
        ? procArgv0() ?? process.argv0
        : invokedAs.slice(invokedAs.lastIndexOf("/") + 1);
    },
    env: Deno.env.toObject(),
    configEnv: realEnv(),
    // read straight into the sender's buffer when it sends the body (see byte_stream.ts)
    get stdin(): ReadableStream<Uint8Array> {
      return stdin ??= sourceStream(Deno.stdin);
    },
    stdinBytes: () => new PendingBytes(Deno.stdin),
    stdout: stdout.write,
    stderr: stderr.write,
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    flush: async () => {
      await stdout.flush();
      await stderr.flush();
    },
    // the launcher's path as invoked; else argv[0] from the kernel, a plain file read
    // where `process.argv0` costs 13 ms
    invokedAs: () => invokedAs ?? procArgv0() ?? process.argv0,
  };
}

/**
 * The name error lines start with, as msmtp's: the base name of argv[0], so a symlink
 * named `sendmail` says `sendmail: …`. Run straight from `deno run`, argv[0] is the Deno
 * binary, which would only confuse; postie's own name is used then.
 *
 * @example Usage
 * ```ts
 * import { programName } from "./run_io.ts";
 * console.log(programName("/usr/sbin/sendmail"), programName("deno")); // sendmail postie
 * ```
 */
export function programName(argv0: string): string {
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return base === "" || base === "deno" ? "postie" : base;
}
