/**
 * The command-line program as a function: argv and an I/O bundle in, an exit code out.
 * It prints, but never exits; `main.ts` does that, so tests can drive every path.
 *
 * @module
 */

import type { QueueIo } from "./queue_io.ts";
import { PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { GetoptError, parseArgs } from "./args.ts";
import { systemConfigPath, userConfigPath } from "../config/paths.ts";
import type { Settings } from "../config/account.ts";
import { programName, type RunIo } from "./run_io.ts";

export { denoIo, programName, type RunIo } from "./run_io.ts";

/** getopt's own messages use argv[0] exactly as invoked, path and all. */
function invocationName(argv0: string): string {
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return base === "" || base === "deno" ? "postie" : argv0;
}

async function report(error: unknown, io: RunIo, settings?: Settings): Promise<number> {
  if (error instanceof PostieError) {
    const name = error instanceof GetoptError ? invocationName(io.argv0) : programName(io.argv0);
    const { hintLines } = await import("./hints.ts");
    const hints = hintLines(error, { env: io.env, ...(settings ? { settings } : {}) });
    const lines = [error.message, ...error.details, ...hints].map((line) => `${name}: ${line}\n`);
    await io.stderr(lines.join(""));
    return error.exitCode;
  }
  const name = programName(io.argv0);
  const message = error instanceof Error ? error.message : String(error);
  let text = `${name}: internal error: ${message}\n`;
  if (io.env.POSTIE_DEBUG_STACK !== undefined && error instanceof Error && error.stack) {
    text += `${error.stack}\n`;
  }
  await io.stderr(text);
  return ExitCode.SOFTWARE;
}

interface RunState {
  settings?: Settings;
}

/** The base name a personality is chosen by (`mailq`, `msmtpq`, `msmtp-queue`). */
function personality(io: RunIo): string {
  const invoked = io.invokedAs ? io.invokedAs() : io.argv0;
  return invoked.slice(invoked.lastIndexOf("/") + 1);
}

/**
 * The I/O of the queue commands: `io` seen through a prototype (so `argv0` stays lazy),
 * with the program name and postie's sendmail mode as a function for msmtpq's mails.
 */
async function queueIo(io: RunIo): Promise<QueueIo> {
  const sendmail = async (argv: string[], stdin: ReadableStream<Uint8Array>) => {
    let stderr = "";
    const sub: RunIo = Object.create(io);
    // defined, not assigned: the process's I/O has both as getters
    Object.defineProperty(sub, "argv0", { value: "postie" });
    Object.defineProperty(sub, "stdin", { value: stdin });
    // the mail is `stdin`, not the process's standard input that the parent's pending bytes read
    Object.defineProperty(sub, "stdinBytes", { value: undefined });
    sub.invokedAs = () => "postie";
    sub.stdout = () => Promise.resolve();
    sub.stderr = (text) => Promise.resolve(void (stderr += text));
    const code = await run(argv, sub);
    return { code, stderr };
  };
  const q = Object.create(io);
  Object.defineProperty(q, "name", { get: () => programName(io.argv0) });
  q.sendmail = sendmail;
  return await Promise.resolve(q);
}

async function dispatch(argv: readonly string[], io: RunIo, state: RunState): Promise<number> {
  // the name is cheap to know (the launcher's path, or /proc), unlike `process.argv0`
  const as = personality(io);
  if (as === "msmtpq" || as === "msmtp-queue") {
    const { runMsmtpq } = await import("./msmtpq.ts");
    const manage = as === "msmtp-queue" || argv[0] === "--q-mgmt";
    const words = as === "msmtpq" && manage ? argv.slice(1) : [...argv];
    return await runMsmtpq(words, await queueIo(io), manage);
  }
  // newaliases takes nothing, or a file path; msmtpd only long options; a mail always has a
  // recipient (or -t)
  const noRecipient = argv.every((a) => a.startsWith("-") || a.startsWith("/"));
  const msmtpdOption = argv.some((a) => /^--(inetd|interface|command|log)(=|$)/.test(a));
  const name = noRecipient || msmtpdOption ? as : undefined;
  if (name === "newaliases") {
    const { newaliases } = await import("./newaliases.ts");
    await io.stdout(`${await newaliases(argv)}\n`);
    return ExitCode.OK;
  }
  if (name === "msmtpd") {
    const { runMsmtpd } = await import("./msmtpd.ts");
    return await runMsmtpd(argv, io);
  }
  const inv = as === "mail" || as === "mailx"
    ? (await import("./mailx.ts")).parseMailxArgs(argv, io.env)
    : parseArgs(as === "mailq" ? ["-bp", ...argv] : argv, io.env);
  // The texts of --version and --help, and what they name, load only when asked for.
  if (inv.printVersion) {
    const { processPathEnv, versionText } = await import("./help.ts");
    const paths = processPathEnv(io.env);
    await io.stdout(versionText(systemConfigPath(paths), userConfigPath(paths)));
  }
  if (inv.printHelp) {
    const { helpText } = await import("./help.ts");
    await io.stdout(helpText(programName(io.argv0)));
  }
  if (inv.mode === "configure") {
    const [{ configureAccount }, { processPathEnv }] = await Promise.all([
      import("./configure.ts"),
      import("./help.ts"),
    ]);
    const file = inv.configFile ?? userConfigPath(processPathEnv(io.env));
    await io.stdout(await configureAccount(inv.configureAddress ?? "", file));
    return ExitCode.OK;
  }
  if (inv.printVersion || inv.printHelp) return ExitCode.OK;
  if (inv.storePassword) {
    const { storeAccountPassword } = await import("./sendmail.ts");
    return await storeAccountPassword(inv, io);
  }
  if (inv.mode === "queue-run" || inv.mode === "queue-list" || inv.mode === "queue-delete") {
    const { queueCommand } = await import("./queue.ts");
    return await queueCommand(inv, await queueIo(io));
  }
  if (inv.mode === "hash-password") {
    const { runHashPassword } = await import("./daemon.ts");
    return await runHashPassword(io);
  }
  const relayMode = inv.mode === "daemon" || inv.mode === "smtp-stdio" || inv.mode === "health";
  if (relayMode && inv.pretend) {
    // -P -bd: the settings the relay would start with, its own included; nothing listens
    const { chooseAccount } = await import("./sendmail.ts");
    await chooseAccount(inv, io, undefined);
    return ExitCode.OK;
  }
  if (relayMode) {
    const { runDaemon, runHealth, runSmtpStdio } = await import("./daemon.ts");
    if (inv.mode === "daemon") return await runDaemon(inv, io);
    if (inv.mode === "health") return await runHealth(inv, io);
    return await runSmtpStdio(inv, io);
  }
  if (inv.mode === "convert-toml") {
    const { convertToToml } = await import("./convert.ts");
    await io.stdout(await convertToToml(inv, io.configEnv));
    return ExitCode.OK;
  }
  const { runWithAccount } = await import("./sendmail.ts");
  return await runWithAccount(inv, io, state, queueIo);
}

/** Sends the mail, or queues it when the account says `queue on`. */
/**
 * Runs postie with the given arguments and returns the exit code. Every error becomes
 * `NAME: message` lines on standard error; nothing here exits the process.
 *
 * @example Usage
 * ```ts
 * import { denoIo, run } from "./run.ts";
 * const code = await run(["--bogus"], denoIo());
 * console.log(code); // 64, after "postie: unrecognized option '--bogus'"
 * ```
 */
export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  const state: RunState = {};
  try {
    return await dispatch(argv, io, state);
  } catch (error) {
    return await report(error, io, state.settings);
  } finally {
    // Writes started without awaiting (debug lines) are out before the process exits.
    await io.flush?.();
  }
}
