/**
 * postie under the name `msmtpd`: msmtpd 1.8.23's options and defaults, so msmtpd users
 * swap the binary. `--interface` (127.0.0.1), `--port` (25), `--inetd` (one session on
 * standard input and output), `--log=none|syslog|FILE`, `--command` (each mail piped
 * to it while the client waits; `%F` is the sender, the recipients are appended) and
 * `--auth=USER[,PASSWORDEVAL]` (AUTH required, the password from the command or the
 * keyring). Up to 16 sessions, a second's delay after a failed AUTH, as msmtpd.
 *
 * Without `--command`, mail goes to postie's queue and on to the account the sender
 * selects, which is what msmtpd's default command (`msmtp -f %F --`) does, without the
 * client waiting for the upstream.
 *
 * @module
 */

import { ConfigError, PostieError, UsageError } from "../errors.ts";
import { ExitCode } from "../exit.ts";
import { getoptLong, type LongOption, parseArgs } from "./args.ts";
import type { MailEvent } from "../relay/server.ts";
import type { DaemonIo } from "./daemon.ts";

const MSMTPD_OPTIONS: readonly LongOption[] = [
  ["version", "none"],
  ["help", "none"],
  ["inetd", "none"],
  ["interface", "required"],
  ["port", "required"],
  ["log", "required"],
  ["command", "required"],
  ["auth", "required"],
].map(([name, argument]) => ({ name, argument: argument as "none" | "required", key: name }));

/** msmtpd's command line. */
export interface MsmtpdArgs {
  version: boolean;
  help: boolean;
  inetd: boolean;
  interface: string;
  port: number;
  /** `none`, `syslog` or a file name. */
  log: string;
  command: string | undefined;
  authUser: string | undefined;
  authEval: string | undefined;
}

/**
 * Parses msmtpd's options (GNU getopt, long options only).
 *
 * @example Usage
 * ```ts
 * import { parseMsmtpdArgs } from "./msmtpd.ts";
 * const a = parseMsmtpdArgs(["--port=2500", "--auth=joe,pass show smtp"]);
 * console.log(a.interface, a.port, a.authUser, a.authEval); // 127.0.0.1 2500 joe pass show smtp
 * ```
 */
export function parseMsmtpdArgs(argv: readonly string[]): MsmtpdArgs {
  const args: MsmtpdArgs = {
    version: false,
    help: false,
    inetd: false,
    interface: "127.0.0.1",
    port: 25,
    log: "none",
    command: undefined,
    authUser: undefined,
    authEval: undefined,
  };
  for (const item of getoptLong(argv, "", MSMTPD_OPTIONS)) {
    if (item.kind === "operand") throw new UsageError(`too many arguments`);
    const value = item.arg ?? "";
    switch (item.key) {
      case "version":
        args.version = true;
        break;
      case "help":
        args.help = true;
        break;
      case "inetd":
        args.inetd = true;
        break;
      case "interface":
        args.interface = value;
        break;
      case "port": {
        const port = /^\d{1,5}$/.test(value) ? Number(value) : 0;
        if (port < 1 || port > 65535) throw new UsageError(`invalid port ${value}`);
        args.port = port;
        break;
      }
      case "log":
        args.log = value;
        break;
      case "command":
        args.command = value;
        break;
      case "auth": {
        const comma = value.indexOf(",");
        args.authUser = comma < 0 ? value : value.slice(0, comma);
        args.authEval = comma < 0 ? undefined : value.slice(comma + 1);
        if (args.authUser === "") throw new UsageError(`invalid argument ${value} for --auth`);
        break;
      }
    }
  }
  return args;
}

const HELP = `Usage: msmtpd [option...]
Options:
  --version       print version
  --help          print help
  --inetd         start single SMTP session on stdin/stdout
  --interface=ip  listen on ip instead of 127.0.0.1
  --port=number   listen on port number instead of 25
  --log=none|syslog|FILE  do not log anything (default)
                  or log to syslog or log to the given file
  --command=cmd   pipe mails to cmd instead of queueing them for postie's accounts
                  (%F is the envelope sender; the recipients are appended)
  --auth=user[,passwordeval] require authentication with this user name;
                  the password will be retrieved from the given
                  passwordeval command or, if none is given, from
                  the key ring.
`;

/** The AUTH password of `--auth`: from the command, else from the keyring (host localhost). */
async function authPassword(args: MsmtpdArgs, io: DaemonIo): Promise<string> {
  if (args.authEval !== undefined) {
    const { evalPassword } = await import("../secrets/eval.ts");
    return await evalPassword(args.authEval);
  }
  const { keyringPassword } = await import("../secrets/keyring.ts");
  const password = await keyringPassword("localhost", args.authUser!, {
    getenv: (name) => io.env[name],
  });
  if (password === null) {
    throw new ConfigError(
      `no password for user ${args.authUser} in the key ring; give --auth=USER,PASSWORDEVAL`,
    );
  }
  return password;
}

/** A writer of one log line per mail, as `--log` says. */
function logger(args: MsmtpdArgs, io: DaemonIo): (line: string) => void {
  if (args.log === "none") return () => {};
  if (args.log === "syslog") {
    return (line) => {
      import("../log/syslog.ts").then(({ logToSyslog }) => logToSyslog("LOG_MAIL", line, false));
    };
  }
  let chain = Promise.resolve();
  return (line) => {
    const stamped = `${new Date().toISOString()} msmtpd: ${line}\n`;
    chain = chain.then(() => Deno.writeTextFile(args.log, stamped, { append: true })).catch(
      (error) => io.stderr(`msmtpd: cannot write to ${args.log}: ${(error as Error).message}\n`),
    );
  };
}

/** Runs postie as msmtpd. */
export async function runMsmtpd(argv: readonly string[], io: DaemonIo): Promise<number> {
  const args = parseMsmtpdArgs(argv);
  if (args.version) {
    const { versionText } = await import("./help.ts");
    const { systemConfigPath, userConfigPath } = await import("../config/paths.ts");
    const { processPathEnv } = await import("./help.ts");
    const paths = processPathEnv(io.env);
    await io.stdout(versionText(systemConfigPath(paths), userConfigPath(paths)));
  }
  if (args.help) await io.stdout(HELP);
  if (args.version || args.help) return ExitCode.OK;

  const { parseNetworks } = await import("../config/networks.ts");
  const log = logger(args, io);
  const { formatMailEvent } = await import("./daemon.ts");
  const onMail = (event: MailEvent): void => log(formatMailEvent(event));
  let users;
  if (args.authUser !== undefined) {
    const { hashPassword } = await import("../relay/users.ts");
    users = new Map([[args.authUser, await hashPassword(await authPassword(args, io))]]);
  }
  // msmtpd has no TLS and no networks: without --auth anyone who reaches it relays, with
  // --auth everybody authenticates, in clear
  const everyone = parseNetworks("0.0.0.0/0, ::/0");
  const policy = {
    allow: users ? [] : everyone,
    clearAuth: everyone,
    ...(users ? { users } : {}),
    maxConnections: 16,
    authFailureDelayMs: 1000,
  };
  if (args.command !== undefined) {
    const { CommandSink } = await import("../relay/command_sink.ts");
    const { startRelay } = await import("../relay/server.ts");
    const relay = await startRelay({
      listen: args.inetd ? [] : [{ hostname: args.interface, port: args.port }],
      name: io.configEnv.hostname(),
      maxSize: 0,
      maxRecipients: 1000,
      idleTimeoutMs: 300_000,
      ratePerMinute: 0,
      sink: new CommandSink(args.command),
      // the command gets the sender and the recipients only: no DSN parameter can reach it
      dsn: false,
      onMail,
      ...policy,
    }).catch((error) => {
      throw new PostieError(`cannot listen: ${(error as Error).message}`, ExitCode.OSERR);
    });
    if (args.inetd) {
      const { stdioDuplex } = await import("../relay/stdio.ts");
      const duplex = stdioDuplex();
      relay.serve(duplex.stream, "127.0.0.1");
      await duplex.closed;
      await relay.close(0);
      return ExitCode.OK;
    }
    const { stopSignal } = await import("./daemon.ts");
    await (io.stopSignal ?? stopSignal());
    await relay.close();
    return ExitCode.OK;
  }
  // queue-backed: -bd / -bs with msmtpd's address, limits and policy
  const inv = parseArgs(args.inetd ? ["-bs"] : ["-bd", `--listen=${listenText(args)}`]);
  const { runDaemon, runSmtpStdio } = await import("./daemon.ts");
  const relayIo = { ...io, relayPolicy: { ...policy, onMail } };
  return args.inetd ? await runSmtpStdio(inv, relayIo) : await runDaemon(inv, relayIo);
}

function listenText(args: MsmtpdArgs): string {
  return args.interface.includes(":")
    ? `[${args.interface}]:${args.port}`
    : `${args.interface}:${args.port}`;
}
