/**
 * msmtp's command line, parsed the way GNU `getopt_long` parses it: grouped short flags
 * (`-ti`), glued values (`-oem`, `-FCronDaemon`, `-d0.1`), optional values only after `=`
 * (`--tls`, `--tls=off`), unambiguous prefixes of long options (`--pre`), `--`, and
 * permutation (options after recipients) unless `POSIXLY_CORRECT` is set. The messages are
 * glibc's and msmtp's, word for word, so scripts that match them keep working.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { AccountSelection } from "../config/resolve.ts";
import type { CliOverride, Invocation } from "./invocation.ts";
import { checkOverride } from "../config/overrides.ts";
import { parseDuration } from "../config/values.ts";

/** msmtp 1.8.23's short-option string, as given to getopt_long. */
export const SHORT_OPTIONS = "Pd::SC:a:f:N:R:X:tA:B:b:F:Gh:iL:mnO:o:v";

/** postie's short options: msmtp's, and sendmail's `-q[…]` for the queue. */
const POSTIE_SHORT_OPTIONS = SHORT_OPTIONS + "q::";

/** Whether a long option takes no argument, needs one, or accepts one after `=`. */
export type ArgumentKind = "none" | "required" | "optional";

/** One long option. */
export interface LongOption {
  /** The name without the leading `--`. */
  name: string;
  /** Whether it takes an argument. */
  argument: ArgumentKind;
  /**
   * What the option does. Two options with the same key are one option for glibc's
   * ambiguity rule (`--timeout` and its old alias `--connect-timeout`).
   */
  key: string;
  /**
   * Recognized only when spelled out: no prefix of it is taken for it, so adding it leaves
   * msmtp's abbreviations as they were (`--he` stays `--help` beside `--health`, `--a=x`
   * stays ambiguous beside `--attach`).
   */
  exact?: boolean;
}

/**
 * msmtp 1.8.23's long options in the order of its option table (glibc lists the
 * candidates of an ambiguous prefix in this order), then postie's own.
 */
export const LONG_OPTIONS: readonly LongOption[] = [
  ["version", "none"],
  ["help", "none"],
  ["configure", "required"],
  ["pretend", "none", "P"],
  ["debug", "optional", "d"],
  ["serverinfo", "none", "S"],
  ["rmqs", "required"],
  ["file", "required", "C"],
  ["account", "required", "a"],
  ["host", "required"],
  ["port", "required"],
  ["timeout", "required"],
  ["connect-timeout", "required", "timeout"],
  ["auto-from", "optional"],
  ["from", "required", "f"],
  ["maildomain", "required"],
  ["auth", "optional"],
  ["user", "required"],
  ["passwordeval", "required"],
  ["tls", "optional"],
  ["tls-starttls", "optional"],
  ["tls-trust-file", "required"],
  ["tls-crl-file", "required"],
  ["tls-fingerprint", "required"],
  ["tls-key-file", "required"],
  ["tls-cert-file", "required"],
  ["tls-certcheck", "optional"],
  ["tls-force-sslv3", "optional"],
  ["tls-min-dh-prime-bits", "required"],
  ["tls-priorities", "required"],
  ["tls-host-override", "required"],
  ["dsn-notify", "required", "N"],
  ["dsn-return", "required", "R"],
  ["protocol", "required"],
  ["domain", "required"],
  ["logfile", "required", "X"],
  ["logfile-time-format", "required"],
  ["syslog", "optional"],
  ["aliases", "required"],
  ["proxy-host", "required"],
  ["proxy-port", "required"],
  ["add-missing-from-header", "optional"],
  ["add-missing-date-header", "optional"],
  ["set-from-header", "optional"],
  ["set-date-header", "optional"],
  ["set-msgid-header", "optional"],
  ["remove-bcc-headers", "optional"],
  ["undisclosed-recipients", "optional"],
  ["source-ip", "required"],
  ["socket", "required"],
  ["keepbcc", "optional"],
  ["read-recipients", "none", "t"],
  ["read-envelope-from", "none"],
  // postie's own; long options only, so no sendmail caller can trip over them
  ["env-file", "required"],
  ["config-format", "required"],
  ["convert-to-toml", "none"],
  ["store-password", "none"],
  // the relay listener: spelled out only
  ["listen", "required", "listen", "exact"],
  ["health", "none", "health", "exact"],
  ["hash-password", "none", "hash-password", "exact"],
  // postie: the queue
  ["json", "none"],
  ["queue-delete", "required"],
  // composing from standard input's text: spelled out only
  ["subject", "required", "subject", "exact"],
  ["attach", "required", "attach", "exact"],
  ["html", "required", "html", "exact"],
].map(([name, argument, key, exact]) => ({
  name,
  argument: argument as ArgumentKind,
  key: key ?? name,
  ...(exact === "exact" ? { exact: true } : {}),
}));

/**
 * A getopt diagnostic. glibc prefixes these with `argv[0]` exactly as invoked (a full
 * path stays a full path), unlike msmtp's own messages, which use the base name.
 *
 * @example Usage
 * ```ts
 * import { GetoptError } from "./args.ts";
 * const e = new GetoptError("invalid option -- 'r'");
 * console.log(e.exitCode); // 64
 * ```
 */
export class GetoptError extends UsageError {
  /** Makes an error with glibc's message, without the program-name prefix. */
  constructor(message: string) {
    super(message);
    this.name = "GetoptError";
  }
}

/** One word (or part of a word) of the command line, as getopt sees it. */
export type GetoptItem =
  /** An option: the short letter or the long option's key, and its argument if any. */
  | { kind: "option"; key: string; arg: string | undefined }
  /** A word that is no option (a recipient). */
  | { kind: "operand"; word: string };

function shortSpec(spec: string): Map<string, ArgumentKind> {
  const result = new Map<string, ArgumentKind>();
  for (let i = 0; i < spec.length; i++) {
    const letter = spec[i];
    let kind: ArgumentKind = "none";
    if (spec[i + 1] === ":") {
      kind = spec[i + 2] === ":" ? "optional" : "required";
      i += kind === "optional" ? 2 : 1;
    }
    result.set(letter, kind);
  }
  return result;
}

function findLong(text: string, longs: readonly LongOption[]): LongOption {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  const exact = longs.find((o) => o.name === name);
  if (exact) return exact;
  const matches = longs.filter((o) => !o.exact && o.name.startsWith(name));
  if (matches.length === 0) throw new GetoptError(`unrecognized option '--${text}'`);
  // glibc only calls a prefix ambiguous when the candidates differ from the first one
  const first = matches[0];
  const listed = matches.filter((o, i) =>
    i === 0 || o.argument !== first.argument || o.key !== first.key
  );
  if (listed.length > 1) {
    const names = listed.map((o) => ` '--${o.name}'`).join("");
    throw new GetoptError(`option '--${text}' is ambiguous; possibilities:${names}`);
  }
  return first;
}

/**
 * GNU `getopt_long` over an argument vector, one item at a time, so a caller can stop at
 * its own first error before getopt sees later words (as msmtp does). Throws
 * {@linkcode GetoptError} at a malformed option, with glibc's message. Operands come in
 * their original order; without `posixlyCorrect` options may follow them (permutation).
 *
 * @example Usage
 * ```ts
 * import { getoptLong, LONG_OPTIONS, SHORT_OPTIONS } from "./args.ts";
 * const items = [...getoptLong(["root", "-oem", "--tls"], SHORT_OPTIONS, LONG_OPTIONS)];
 * console.log(items.length); // 3: operand root, option o "em", option tls
 * ```
 */
export function* getoptLong(
  argv: readonly string[],
  shortOptions: string,
  longOptions: readonly LongOption[],
  posixlyCorrect = false,
): Generator<GetoptItem, void, undefined> {
  const shorts = shortSpec(shortOptions);
  const operand = (word: string): GetoptItem => ({ kind: "operand", word });
  const option = (key: string, arg: string | undefined): GetoptItem => ({
    kind: "option",
    key,
    arg,
  });
  let i = 0;
  while (i < argv.length) {
    const word = argv[i++];
    if (word === "--") {
      yield* argv.slice(i).map(operand);
      return;
    }
    if (!word.startsWith("-") || word === "-") {
      yield operand(word);
      if (posixlyCorrect) {
        yield* argv.slice(i).map(operand);
        return;
      }
      continue;
    }
    if (word.startsWith("--")) {
      const text = word.slice(2);
      const long = findLong(text, longOptions);
      const eq = text.indexOf("=");
      let arg: string | undefined = eq < 0 ? undefined : text.slice(eq + 1);
      if (long.argument === "none" && arg !== undefined) {
        throw new GetoptError(`option '--${long.name}' doesn't allow an argument`);
      }
      if (long.argument === "required" && arg === undefined) {
        if (i >= argv.length) {
          throw new GetoptError(`option '--${long.name}' requires an argument`);
        }
        arg = argv[i++];
      }
      yield option(long.key, arg);
      continue;
    }
    for (let j = 1; j < word.length; j++) {
      const letter = word[j];
      const kind = shorts.get(letter);
      if (kind === undefined || letter === ":") {
        throw new GetoptError(`invalid option -- '${letter}'`);
      }
      const rest = word.slice(j + 1);
      if (kind === "none") {
        yield option(letter, undefined);
        continue;
      }
      if (rest !== "") {
        yield option(letter, rest);
      } else if (kind === "optional") {
        yield option(letter, undefined);
      } else if (i < argv.length) {
        yield option(letter, argv[i++]);
      } else {
        throw new GetoptError(`option requires an argument -- '${letter}'`);
      }
      break;
    }
  }
}

/**
 * Options that set a configuration command: the option's name in messages, the
 * command, and the value implied when an optional argument is left out.
 */
const SETTING_OPTIONS: Record<string, { option: string; name: string; implied?: string }> = {
  port: { option: "--port", name: "port" },
  timeout: { option: "--timeout", name: "timeout" },
  "auto-from": { option: "--auto-from", name: "auto_from", implied: "on" },
  maildomain: { option: "--maildomain", name: "maildomain" },
  auth: { option: "--auth", name: "auth", implied: "on" },
  user: { option: "--user", name: "user" },
  passwordeval: { option: "--passwordeval", name: "passwordeval" },
  tls: { option: "--tls", name: "tls", implied: "on" },
  "tls-starttls": { option: "--tls-starttls", name: "tls_starttls", implied: "on" },
  "tls-trust-file": { option: "--tls-trust-file", name: "tls_trust_file" },
  "tls-crl-file": { option: "--tls-crl-file", name: "tls_crl_file" },
  "tls-fingerprint": { option: "--tls-fingerprint", name: "tls_fingerprint" },
  "tls-key-file": { option: "--tls-key-file", name: "tls_key_file" },
  "tls-cert-file": { option: "--tls-cert-file", name: "tls_cert_file" },
  "tls-certcheck": { option: "--tls-certcheck", name: "tls_certcheck", implied: "on" },
  "tls-min-dh-prime-bits": { option: "--tls-min-dh-prime-bits", name: "tls_min_dh_prime_bits" },
  "tls-priorities": { option: "--tls-priorities", name: "tls_priorities" },
  "tls-host-override": { option: "--tls-host-override", name: "tls_host_override" },
  N: { option: "--dsn-notify", name: "dsn_notify" },
  R: { option: "--dsn-return", name: "dsn_return" },
  protocol: { option: "--protocol", name: "protocol" },
  domain: { option: "--domain", name: "domain" },
  X: { option: "--logfile", name: "logfile" },
  "logfile-time-format": { option: "--logfile-time-format", name: "logfile_time_format" },
  syslog: { option: "--syslog", name: "syslog", implied: "on" },
  aliases: { option: "--aliases", name: "aliases" },
  "proxy-host": { option: "--proxy-host", name: "proxy_host" },
  "proxy-port": { option: "--proxy-port", name: "proxy_port" },
  "set-from-header": { option: "--set-from-header", name: "set_from_header", implied: "auto" },
  "set-date-header": { option: "--set-date-header", name: "set_date_header", implied: "auto" },
  "set-msgid-header": { option: "--set-msgid-header", name: "set_msgid_header", implied: "auto" },
  "remove-bcc-headers": {
    option: "--remove-bcc-headers",
    name: "remove_bcc_headers",
    implied: "on",
  },
  "undisclosed-recipients": {
    option: "--undisclosed-recipients",
    name: "undisclosed_recipients",
    implied: "on",
  },
  "source-ip": { option: "--source-ip", name: "source_ip" },
  socket: { option: "--socket", name: "socket" },
};

/**
 * Compatibility options that msmtp maps onto a newer command; only `on` and `off` are
 * accepted, and each maps to the newer command's value.
 */
const COMPAT_OPTIONS: Record<string, { name: string; on: string; off: string }> = {
  keepbcc: { name: "remove_bcc_headers", on: "off", off: "on" },
  "add-missing-from-header": { name: "set_from_header", on: "auto", off: "off" },
  "add-missing-date-header": { name: "set_date_header", on: "auto", off: "off" },
};

/** A parsed command line, with what msmtp also records but the contract leaves out. */
export interface ParsedArgs extends Invocation {
  /** `--help` was given (with `--version` or `-d0.1`, both texts are printed). */
  printHelp: boolean;
  /**
   * `--store-password` (postie): read a password and store it in the keyring for the
   * chosen account. `mode` stays what the other options make it (`sendmail`).
   */
  storePassword: boolean;
  /** `--listen=ADDR:PORT` (repeatable): where `-bd` listens instead of `listen`. */
  listen: string[];
  /** postie: what `-q…`, `-bp` and `--queue-delete` ask of the queue. */
  queue: QueueRequest;
  /**
   * `--subject`, `--attach`, `--html` (postie): standard input is the text of a mail to
   * compose, not a mail; undefined when none of them is given.
   */
  compose: ComposeRequest | undefined;
}

/** What the compose options ask for. */
export interface ComposeRequest {
  /** `--subject=TEXT`. */
  subject: string | undefined;
  /** `--attach=FILE`, in order; the type comes from each file's name. */
  attachments: string[];
  /** `--html=FILE`: an HTML alternative to the text. */
  htmlFile: string | undefined;
  /** Cc recipients (the `mail` personality's `-c`); each entry may be a list. */
  cc: string[];
  /** Bcc recipients (the `mail` personality's `-b`); each entry may be a list. */
  bcc: string[];
  /** The `mail` personality's `-E`: an empty standard input sends nothing. */
  discardEmpty: boolean;
}

/**
 * The account the command line chooses (`-a`, `-C`, `--config-format`, `--env-file`,
 * `--host`, the setting options), as account resolution takes it; each mode adds its own
 * (sendmail mode the envelope-from).
 *
 * @example Usage
 * ```ts
 * import { accountSelection, parseArgs } from "./args.ts";
 * const chosen = accountSelection(parseArgs(["-a", "work", "--port=2525", "root"]));
 * console.log(chosen.account, chosen.overrides?.length); // "work" 1
 * ```
 */
export function accountSelection(inv: ParsedArgs): AccountSelection {
  return {
    ...(inv.account === undefined ? {} : { account: inv.account }),
    ...(inv.configFile === undefined ? {} : { configFile: inv.configFile }),
    ...(inv.configFormat === undefined ? {} : { configFormat: inv.configFormat }),
    ...(inv.envFile === undefined ? {} : { envFile: inv.envFile }),
    ...(inv.host === undefined ? {} : { host: inv.host }),
    overrides: inv.overrides,
  };
}

/** An empty compose request, filled in by the options. */
export function emptyComposeRequest(): ComposeRequest {
  return {
    subject: undefined,
    attachments: [],
    htmlFile: undefined,
    cc: [],
    bcc: [],
    discardEmpty: false,
  };
}

/** The queue options of a command line. */
export interface QueueRequest {
  /** `-q`: run the queue once. */
  run: boolean;
  /** `-q5m`: run as a daemon, every this many seconds. */
  interval?: number;
  /** `-qI…`, `-qR…`, `-qS…`: substrings of id, recipient, sender. */
  select: { id?: string; recipient?: string; sender?: string };
  /** `-bp`: list the queue. */
  list: boolean;
  /** `--json`: list as JSON. */
  json: boolean;
  /** `--queue-delete=ID`. */
  deleteId?: string;
}

/** Reads one `-q` option into the request (sendmail's forms). */
function queueOption(request: QueueRequest, arg: string | undefined): void {
  request.run = true;
  if (arg === undefined || arg === "" || arg === "f") return;
  const kind = arg[0];
  const rest = arg.slice(1);
  if ((kind === "I" || kind === "R" || kind === "S") && rest !== "") {
    const key = kind === "I" ? "id" : kind === "R" ? "recipient" : "sender";
    request.select[key] = rest;
    return;
  }
  const seconds = parseDuration(arg);
  if (seconds === undefined) throw invalid(arg, "-q");
  request.interval = seconds;
}

const RELAY_MODE_OPTIONS = {
  daemon: "-bd",
  "smtp-stdio": "-bs",
  health: "--health",
  "hash-password": "--hash-password",
} as const;

/** `ADDR:PORT` or `[ADDR]:PORT` with a port in 1..65535; undefined when malformed. */
function checkListen(value: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  if (m === null) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? value : undefined;
}

function invalid(arg: string, option: string): UsageError {
  return new UsageError(`invalid argument ${arg} for ${option}`);
}

/** An explicit argument, or the one implied by leaving it out. */
function settingOverride(key: string, arg: string | undefined): CliOverride {
  const spec = SETTING_OPTIONS[key];
  if (arg === undefined) return { option: spec.option, name: spec.name, arg: spec.implied ?? "" };
  // On the command line an empty `=` is no shorthand for `on`, unlike in a config file;
  // only --auth= means "choose a method", as in msmtp.
  if (arg === "" && spec.implied !== undefined) {
    if (key === "auth") return { option: spec.option, name: spec.name, arg: "on" };
    throw invalid(arg, spec.option);
  }
  // `hdrs` (sendmail's word) is accepted on the command line only; the file says `headers`
  if (key === "R" && arg === "hdrs") {
    return { option: spec.option, name: spec.name, arg: "headers" };
  }
  return { option: spec.option, name: spec.name, arg };
}

/**
 * Parses a command line as msmtp 1.8.23 does, checking every setting's value in order,
 * so the first problem on the line is the one reported.
 *
 * @example Usage
 * ```ts
 * import { parseArgs } from "./args.ts";
 * const inv = parseArgs(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
 * console.log(inv.mode, inv.fullName, inv.recipients); // sendmail CronDaemon ["root"]
 * ```
 *
 * @throws {UsageError} for every usage error msmtp reports with exit code 64.
 */
export function parseArgs(
  argv: readonly string[],
  env: { readonly POSIXLY_CORRECT?: string } = {},
): ParsedArgs {
  const inv: ParsedArgs = {
    mode: "sendmail",
    pretend: false,
    debug: false,
    printVersion: false,
    printHelp: false,
    storePassword: false,
    compose: undefined,
    listen: [],
    queue: { run: false, select: {}, list: false, json: false },
    configFile: undefined,
    account: undefined,
    host: undefined,
    from: undefined,
    readEnvelopeFrom: false,
    readRecipients: false,
    fullName: undefined,
    overrides: [],
    recipients: [],
    rmqsArgument: undefined,
    configureAddress: undefined,
    envFile: undefined,
    configFormat: undefined,
  };
  let serverinfo = false;
  let rmqs = false;
  let convert = false;
  let relayMode: "daemon" | "smtp-stdio" | "health" | "hash-password" | undefined;
  const setRelayMode = (mode: NonNullable<typeof relayMode>, option: string): void => {
    if (relayMode !== undefined && relayMode !== mode) {
      throw new UsageError(`cannot use ${option} with ${RELAY_MODE_OPTIONS[relayMode]}`);
    }
    relayMode = mode;
  };
  const posixlyCorrect = env.POSIXLY_CORRECT !== undefined;
  for (const item of getoptLong(argv, POSTIE_SHORT_OPTIONS, LONG_OPTIONS, posixlyCorrect)) {
    if (item.kind === "operand") {
      inv.recipients.push(item.word);
      continue;
    }
    const { key, arg } = item;
    // getopt guarantees an argument for these; the fallback only satisfies the types
    const value = arg ?? "";
    if (key in SETTING_OPTIONS) {
      const override = settingOverride(key, arg);
      checkOverride(override, arg ?? override.arg);
      inv.overrides.push(override);
      continue;
    }
    if (key in COMPAT_OPTIONS) {
      const compat = COMPAT_OPTIONS[key];
      const given = arg ?? "on";
      if (given !== "on" && given !== "off") throw invalid(given, `--${key}`);
      inv.overrides.push({ option: `--${key}`, name: compat.name, arg: compat[given] });
      continue;
    }
    switch (key) {
      case "version":
        inv.printVersion = true;
        break;
      case "help":
        inv.printHelp = true;
        break;
      case "configure":
        inv.configureAddress = value;
        break;
      case "P":
        inv.pretend = true;
        break;
      case "d":
      case "v":
        inv.debug = true;
        // sendmail documents `-d0.1` alone: it prints the version
        if (arg === "0.1") inv.printVersion = true;
        break;
      case "S":
        if (rmqs) throw new UsageError("cannot use both --serverinfo and --rmqs");
        serverinfo = true;
        break;
      case "rmqs":
        if (serverinfo) throw new UsageError("cannot use both --serverinfo and --rmqs");
        rmqs = true;
        inv.rmqsArgument = value;
        break;
      case "C":
        inv.configFile = value;
        break;
      case "a":
        if (inv.host !== undefined) throw new UsageError("cannot use both --host and --account");
        inv.account = value;
        break;
      case "host":
        if (inv.account !== undefined) {
          throw new UsageError("cannot use both --host and --account");
        }
        inv.host = value;
        break;
      case "f":
        if (inv.readEnvelopeFrom) {
          throw new UsageError("cannot use both --from and --read-envelope-from");
        }
        // `<>` is the null sender (Debian bug 612679)
        inv.from = value === "<>" ? "" : value;
        break;
      case "read-envelope-from":
        if (inv.from !== undefined) {
          throw new UsageError("cannot use both --from and --read-envelope-from");
        }
        inv.readEnvelopeFrom = true;
        break;
      case "t":
        inv.readRecipients = true;
        break;
      case "F":
        inv.fullName = value;
        break;
      case "b":
        // -bm delivers mail (the default); postie adds sendmail's -bd, -bs, and -bp (the queue)
        if (value === "d") setRelayMode("daemon", "-bd");
        else if (value === "s") setRelayMode("smtp-stdio", "-bs");
        else if (value === "p") inv.queue.list = true;
        else if (value !== "m") throw new UsageError(`unsupported operation mode b${value}`);
        break;
      case "q":
        queueOption(inv.queue, arg);
        break;
      case "json":
        inv.queue.json = true;
        break;
      case "queue-delete":
        inv.queue.deleteId = value;
        break;
      case "listen":
        if (checkListen(value) === undefined) throw invalid(value, "--listen");
        inv.listen.push(value);
        break;
      case "health":
        setRelayMode("health", "--health");
        break;
      case "hash-password":
        setRelayMode("hash-password", "--hash-password");
        break;
      case "tls-force-sslv3":
        // accepted with any argument and ignored, as msmtp does since SSLv3 went away
        break;
      case "env-file":
        inv.envFile = value;
        break;
      case "config-format":
        if (value !== "msmtprc" && value !== "toml") throw invalid(value, "--config-format");
        inv.configFormat = value;
        break;
      case "convert-to-toml":
        convert = true;
        break;
      case "store-password":
        inv.storePassword = true;
        break;
      case "subject":
        (inv.compose ??= emptyComposeRequest()).subject = value;
        break;
      case "attach":
        (inv.compose ??= emptyComposeRequest()).attachments.push(value);
        break;
      case "html":
        (inv.compose ??= emptyComposeRequest()).htmlFile = value;
        break;
      default:
        // sendmail's -A -B -G -h -i -L -m -n -O -o: accepted and ignored
        break;
    }
  }
  if (inv.storePassword && (serverinfo || rmqs || convert)) {
    const other = serverinfo ? "--serverinfo" : rmqs ? "--rmqs" : "--convert-to-toml";
    throw new UsageError(`cannot use both --store-password and ${other}`);
  }
  if (convert && (serverinfo || rmqs)) {
    throw new UsageError(
      `cannot use both --convert-to-toml and ${serverinfo ? "--serverinfo" : "--rmqs"}`,
    );
  }
  if (relayMode !== undefined && (serverinfo || rmqs || convert || inv.storePassword)) {
    throw new UsageError(`cannot use ${RELAY_MODE_OPTIONS[relayMode]} with another mode`);
  }
  if (inv.listen.length > 0 && relayMode !== "daemon" && relayMode !== "health") {
    throw new UsageError("--listen needs -bd or --health");
  }
  const queueModes = [inv.queue.run, inv.queue.list, inv.queue.deleteId !== undefined];
  if (queueModes.filter(Boolean).length > 1) {
    throw new UsageError("use only one of -q, -bp and --queue-delete");
  }
  if (relayMode !== undefined && queueModes.some(Boolean)) {
    throw new UsageError(`cannot use ${RELAY_MODE_OPTIONS[relayMode]} with the queue options`);
  }
  inv.mode = inv.configureAddress !== undefined
    ? "configure"
    : inv.printHelp
    ? "help"
    : inv.printVersion
    ? "version"
    : convert
    ? "convert-toml"
    : serverinfo
    ? "serverinfo"
    : rmqs
    ? "rmqs"
    : relayMode !== undefined
    ? relayMode
    : inv.queue.run
    ? "queue-run"
    : inv.queue.list
    ? "queue-list"
    : inv.queue.deleteId !== undefined
    ? "queue-delete"
    : "sendmail";
  const takesNoWords = inv.mode === "serverinfo" || inv.mode === "rmqs" ||
    inv.mode === "convert-toml" || inv.storePassword || relayMode !== undefined ||
    inv.mode.startsWith("queue-");
  if (takesNoWords && inv.recipients.length > 0) throw new UsageError("too many arguments");
  if (inv.compose !== undefined) checkCompose(inv);
  return inv;
}

/**
 * The compose options build a mail from standard input's text: they make sense only when
 * sending, and not with options that read a mail's headers.
 */
function checkCompose(inv: ParsedArgs): void {
  if (inv.mode === "help" || inv.mode === "version") return;
  const sending = inv.mode === "sendmail" && !inv.storePassword;
  if (!sending) throw new UsageError("--subject, --attach and --html only apply when sending");
  if (inv.readRecipients) {
    throw new UsageError(
      "cannot use --read-recipients when composing (--subject, --attach, --html)",
    );
  }
  if (inv.readEnvelopeFrom) {
    throw new UsageError(
      "cannot use --read-envelope-from when composing (--subject, --attach, --html)",
    );
  }
}
