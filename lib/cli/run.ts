/**
 * The command-line program as a function: argv and an I/O bundle in, an exit code out.
 * It prints, but never exits; `main.ts` does that, so tests can drive every path.
 *
 * @module
 */

import type { QueueIo } from "./queue_io.ts";
import { ConfigError, PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { GetoptError, parseArgs, type ParsedArgs } from "./args.ts";
import { systemConfigPath, userConfigPath } from "../config/paths.ts";
import {
  type AccountSelection,
  type Env,
  errorPreamble,
  type LoadedAccount,
  realEnv,
  resolveAccount,
} from "../config/resolve.ts";
import { type IncomingMail, type SendIo, sendMail } from "./send.ts";
import { buildEnvelope } from "../message/envelope.ts";
import { readHeaderBlock } from "../message/read.ts";
import { orderedWriter } from "./output.ts";
import type { Account, Settings } from "../config/account.ts";

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
  // the standard streams are made when first used: a run that prints nothing (a queue run,
  // a quiet send) does not load Deno's streams code for them
  const stdout = orderedWriter(() => Deno.stdout.writable);
  const stderr = orderedWriter(() => Deno.stderr.writable);
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
    get stdin(): ReadableStream<Uint8Array> {
      return Deno.stdin.readable;
    },
    stdout: stdout.write,
    stderr: stderr.write,
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    flush: async () => {
      await stdout.flush();
      await stderr.flush();
    },
    invokedAs: () => {
      // the launcher's path as invoked; else argv[0] from the kernel, a plain file read
      // where `process.argv0` costs 13 ms
      if (invokedAs !== undefined) return invokedAs;
      try {
        const cmdline = Deno.readFileSync("/proc/self/cmdline");
        const end = cmdline.indexOf(0);
        return new TextDecoder().decode(cmdline.subarray(0, end < 0 ? cmdline.length : end));
      } catch {
        return process.argv0;
      }
    },
  };
}

/**
 * The name error lines start with, as msmtp's: the base name of argv[0], so a symlink
 * named `sendmail` says `sendmail: …`. Run straight from `deno run`, argv[0] is the Deno
 * binary, which would only confuse; postie's own name is used then.
 *
 * @example Usage
 * ```ts
 * import { programName } from "./run.ts";
 * console.log(programName("/usr/sbin/sendmail"), programName("deno")); // sendmail postie
 * ```
 */
export function programName(argv0: string): string {
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return base === "" || base === "deno" ? "postie" : base;
}

/** getopt's own messages use argv[0] exactly as invoked, path and all. */
function invocationName(argv0: string): string {
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return base === "" || base === "deno" ? "postie" : argv0;
}

async function drain(stdin: ReadableStream<Uint8Array>): Promise<void> {
  // msmtp reads the whole mail even when it only pretends; a writer never sees EPIPE
  for await (const _chunk of stdin) {
    // discarded
  }
}

/**
 * Reads the mail's header block (the body stays on standard input, streamed later) and
 * works out the recipients and, with `--read-envelope-from`, the From address: msmtp
 * needs both before it picks an account.
 */
async function readMail(inv: ParsedArgs, io: RunIo): Promise<IncomingMail> {
  const block = await readHeaderBlock(io.stdin);
  const envelope = buildEnvelope({
    headerBlock: block.header,
    hasSeparator: block.hasSeparator,
    cliRecipients: inv.recipients,
    readRecipients: inv.readRecipients,
  });
  return { block, envelope };
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

/** The command line's account selection: its options as the plain record config takes. */
function selection(inv: ParsedArgs, fromHeader: string | null | undefined): AccountSelection {
  const sending = inv.mode === "sendmail";
  const from = inv.from ?? fromHeader;
  return {
    ...(inv.account === undefined ? {} : { account: inv.account }),
    ...(inv.configFile === undefined ? {} : { configFile: inv.configFile }),
    ...(inv.configFormat === undefined ? {} : { configFormat: inv.configFormat }),
    ...(inv.envFile === undefined ? {} : { envFile: inv.envFile }),
    ...(inv.host === undefined ? {} : { host: inv.host }),
    ...(from === undefined ? {} : { from }),
    overrides: inv.overrides,
    sending,
    requireFrom: sending && !inv.pretend,
  };
}

/**
 * Chooses the account and, with `-P`/`-d`, prints how it was found and its settings; the
 * lines due before a failure are printed before the error, as msmtp does.
 */
async function chooseAccount(
  inv: ParsedArgs,
  io: RunIo,
  fromHeader: string | null | undefined,
): Promise<LoadedAccount> {
  const chosen = selection(inv, fromHeader);
  if (!inv.pretend && !inv.debug) return await resolveAccount(chosen, io.configEnv);
  const lines: string[] = [];
  if (fromHeader !== undefined) {
    lines.push(`envelope from address extracted from mail: ${fromHeader ?? "(null)"}`);
  }
  let loaded: LoadedAccount;
  try {
    loaded = await resolveAccount(chosen, io.configEnv);
    const { formatSettings } = await import("./pretend.ts");
    lines.push(...loaded.preamble, ...formatSettings(loaded.account, inv));
  } catch (error) {
    lines.push(...errorPreamble(error));
    await io.stdout(lines.map((line) => line + "\n").join(""));
    throw error;
  }
  await io.stdout(lines.map((line) => line + "\n").join(""));
  return loaded;
}

/**
 * `--store-password`: reads a password (prompted on the terminal, else the first line of
 * standard input) and stores it in the keyring under msmtp's attributes for the chosen
 * account's host and user, where msmtp and postie both look it up.
 */
async function storeAccountPassword(inv: ParsedArgs, io: RunIo): Promise<number> {
  // Chosen as for a mode that sends nothing, so no envelope-from is required.
  const { account } = await chooseAccount({ ...inv, mode: "serverinfo" }, io, undefined);
  if (inv.pretend) return ExitCode.OK;
  const s = account.settings;
  const where = account.file === undefined ? "" : `account ${account.name} from ${account.file}: `;
  // Account resolution has already refused an account with neither host nor socket.
  const host = s.host ?? s.socket ?? "";
  if (s.user === null) {
    throw new ConfigError(`${where}--store-password needs a user name; set user`);
  }
  const { promptPassword } = await import("../secrets/prompt.ts");
  const password = io.stdinIsTerminal?.()
    ? await promptPassword(s.user, host)
    : await firstLine(io.stdin);
  if (password === null || password === "") {
    throw new PostieError("no password given; nothing was stored", ExitCode.NOINPUT);
  }
  const { storePassword } = await import("../secrets/keyring.ts");
  await storePassword({ host, user: s.user, password, getenv: (name) => io.env[name] });
  if (s.password !== null || s.passwordeval !== null) {
    await io.stderr(
      `${programName(io.argv0)}: ${where}password or passwordeval is set and is used ` +
        "before the keyring\n",
    );
  }
  return ExitCode.OK;
}

/** The first line of a stream without its line end; null when the stream is empty. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string | null> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.includes("\n")) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (text === "") return null;
  const line = text.split("\n")[0];
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** The account chosen so far, for the hint after an error. */
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
    Object.defineProperty(sub, "argv0", { value: "postie" });
    sub.invokedAs = () => "postie";
    Object.defineProperty(sub, "stdin", { value: stdin });
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
  if (inv.storePassword) return await storeAccountPassword(inv, io);
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
  if (inv.compose !== undefined && inv.mode === "sendmail") {
    return await composeAndSend(inv, io, state);
  }
  let mail: IncomingMail | undefined;
  if (inv.mode === "sendmail") {
    mail = await readMail(inv, io);
    // checked before any configuration file is read, as msmtp does
    if (!inv.pretend && mail.envelope.recipients.length === 0) {
      throw new PostieError("no recipients found", ExitCode.USAGE);
    }
    if (inv.pretend) await drain(mail.block.body);
  }
  const fromHeader = inv.readEnvelopeFrom ? mail?.envelope.fromHeaderAddress : undefined;
  const { account } = await chooseAccount(inv, io, fromHeader);
  state.settings = account.settings;
  if (inv.pretend) return ExitCode.OK;
  const debug = inv.debug ? (text: string) => void io.stdout(text) : undefined;
  if ((inv.mode === "serverinfo" || inv.mode === "rmqs") && account.settings.direct) {
    // a direct account has no one server to ask
    const option = inv.mode === "serverinfo" ? "--serverinfo" : "--rmqs";
    throw new ConfigError(
      `${option} needs a relay host; account ${account.name} delivers directly (direct on)`,
    );
  }
  if (inv.mode === "serverinfo") {
    const { serverInfo } = await import("./serverinfo.ts");
    await io.stdout((await serverInfo(account, debug)).map((l) => l + "\n").join(""));
    return ExitCode.OK;
  }
  if (inv.mode === "rmqs") {
    const { remoteQueueStart } = await import("./serverinfo.ts");
    await remoteQueueStart(account, inv.rmqsArgument ?? "", io.env, debug);
    return ExitCode.OK;
  }
  return await deliver(inv, account, mail!, io);
}

/** Sends the mail, or queues it when the account says `queue on`. */
async function deliver(
  inv: ParsedArgs,
  account: Account,
  mail: IncomingMail,
  io: RunIo,
): Promise<number> {
  if (account.settings.queue !== "off") {
    const { queueMail } = await import("./queue.ts");
    return await queueMail(inv, account, mail, await queueIo(io));
  }
  return await sendMail(inv, account, mail, sendIo(io));
}

function sendIo(io: RunIo): SendIo {
  return {
    get name(): string {
      return programName(io.argv0);
    },
    stdout: io.stdout,
    stderr: io.stderr,
    hostname: () => io.configEnv.hostname(),
    env: io.env,
  };
}

/**
 * Sendmail mode with `--subject`/`--attach`/`--html`, or the `mail` personality: standard
 * input is the text of a mail composed once the account (and so the sender) is known.
 */
async function composeAndSend(inv: ParsedArgs, io: RunIo, state: RunState): Promise<number> {
  const request = inv.compose!;
  const { checkComposeFiles, composeFromCommandLine } = await import("./compose.ts");
  await checkComposeFiles(request);
  const recipients = inv.recipients.length + request.cc.length + request.bcc.length;
  if (!inv.pretend && recipients === 0) {
    throw new PostieError("no recipients found", ExitCode.USAGE);
  }
  if (inv.pretend) await drain(io.stdin);
  const { account } = await chooseAccount(inv, io, undefined);
  state.settings = account.settings;
  if (inv.pretend) return ExitCode.OK;
  const hostname = io.configEnv.hostname();
  const mail = await composeFromCommandLine(inv, request, account, io.stdin, hostname);
  return await deliver(inv, account, mail, io);
}

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
