/**
 * Sendmail mode and the other modes that choose an account (`--pretend`, `--serverinfo`,
 * `--rmqs`, `--store-password`): what run.ts loads once the command line asks for one of
 * them, so that `--version`, `--help` and the queue commands start without the
 * configuration parsers and the SMTP client.
 *
 * @module
 */

import type { QueueIo } from "./queue_io.ts";
import { ConfigError, PostieError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { accountSelection, type ParsedArgs } from "./args.ts";
import {
  type AccountSelection,
  errorPreamble,
  type LoadedAccount,
  resolveAccount,
} from "../config/resolve.ts";
import { type IncomingMail, type SendIo, sendMail } from "./send.ts";
import { buildEnvelope } from "../message/envelope.ts";
import { readHeaderBlock } from "../message/read.ts";
import { type ByteInput, PendingBytes, prefixedStream } from "../message/byte_stream.ts";
import type { Account, Settings } from "../config/account.ts";
import { programName, type RunIo } from "./run_io.ts";

/** Where the chosen account's settings are kept for the hint after an error. */
export interface AccountState {
  /** The settings of the account chosen, once it is. */
  settings?: Settings;
}

async function drain(stdin: ByteInput): Promise<void> {
  // msmtp reads the whole mail even when it only pretends; a writer never sees EPIPE
  if (stdin instanceof PendingBytes) {
    const scratch = new Uint8Array(64 * 1024);
    while (await stdin.read(scratch) !== null) {
      // discarded
    }
    return;
  }
  for await (const _chunk of stdin) {
    // discarded
  }
}

/**
 * Reads the mail's header block (the body stays on standard input, streamed later) and
 * works out the recipients and, with `--read-envelope-from`, the From address: msmtp
 * needs both before it picks an account.
 */
async function readMail(inv: ParsedArgs, io: RunIo): Promise<IncomingMail<ByteInput>> {
  const block = await readHeaderBlock(io.stdinBytes?.() ?? io.stdin);
  const envelope = buildEnvelope({
    headerBlock: block.header,
    hasSeparator: block.hasSeparator,
    cliRecipients: inv.recipients,
    readRecipients: inv.readRecipients,
  });
  return { block, envelope };
}

/** The command line's account selection, with what sending mode adds to it. */
function selection(inv: ParsedArgs, fromHeader: string | null | undefined): AccountSelection {
  const sending = inv.mode === "sendmail";
  const from = inv.from ?? fromHeader;
  return {
    ...accountSelection(inv),
    ...(from === undefined ? {} : { from }),
    sending,
    requireFrom: sending && !inv.pretend,
  };
}

/**
 * Chooses the account and, with `-P`/`-d`, prints how it was found and its settings; the
 * lines due before a failure are printed before the error, as msmtp does.
 */
export async function chooseAccount(
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
export async function storeAccountPassword(inv: ParsedArgs, io: RunIo): Promise<number> {
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
async function deliver(
  inv: ParsedArgs,
  account: Account,
  mail: IncomingMail<ByteInput>,
  io: RunIo,
  queueIo: (io: RunIo) => Promise<QueueIo>,
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
async function composeAndSend(
  inv: ParsedArgs,
  io: RunIo,
  state: AccountState,
  queueIo: (io: RunIo) => Promise<QueueIo>,
): Promise<number> {
  const request = inv.compose!;
  const { checkComposeFiles, composeFromCommandLine } = await import("./compose.ts");
  await checkComposeFiles(request);
  const recipients = inv.recipients.length + request.cc.length + request.bcc.length;
  if (!inv.pretend && recipients === 0) {
    throw new PostieError("no recipients found", ExitCode.USAGE);
  }
  let text = io.stdin;
  if (request.discardEmpty && !inv.pretend) {
    // `mail -E`: an empty text is no mail, whatever the configuration would have said
    const nonEmpty = await unlessEmpty(text);
    if (nonEmpty === undefined) return ExitCode.OK;
    text = nonEmpty;
  }
  if (inv.pretend) await drain(text);
  const { account } = await chooseAccount(inv, io, undefined);
  state.settings = account.settings;
  if (inv.pretend) return ExitCode.OK;
  const hostname = io.configEnv.hostname();
  const mail = await composeFromCommandLine(inv, request, account, text, hostname);
  return await deliver(inv, account, mail, io, queueIo);
}

/**
 * `stream` again, or undefined when it ends without a byte: its first non-empty chunk is read
 * to know, and given back first.
 */
async function unlessEmpty(
  stream: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array> | undefined> {
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return undefined;
    if (value.length > 0) return prefixedStream(value, reader);
  }
}

/**
 * The modes that work on an account once it is chosen: sendmail mode (composed or read from
 * standard input), `--pretend`, `--serverinfo` and `--rmqs`.
 */
export async function runWithAccount(
  inv: ParsedArgs,
  io: RunIo,
  state: AccountState,
  queueIo: (io: RunIo) => Promise<QueueIo>,
): Promise<number> {
  if (inv.compose !== undefined && inv.mode === "sendmail") {
    return await composeAndSend(inv, io, state, queueIo);
  }
  let mail: IncomingMail<ByteInput> | undefined;
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
  return await deliver(inv, account, mail!, io, queueIo);
}
