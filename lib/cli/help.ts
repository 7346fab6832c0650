/**
 * The `--help` and `--version` texts. Both follow msmtp 1.8.23 line for line, so tools
 * (and people) that read msmtp's output find the same lines, with postie's name and
 * postie's build facts.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import type { PathEnv } from "../config/paths.ts";

/** postie's version, from deno.json. */
export const VERSION: string = denoConfig.version;

/** The authentication methods postie implements, in msmtp's order of listing. */
export const AUTH_METHODS: readonly string[] = [
  "plain",
  "scram-sha-1",
  "scram-sha-256",
  "external",
  "cram-md5",
  "login",
  "oauthbearer",
  "xoauth2",
];

function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function homeFromPasswd(): string | undefined {
  try {
    const uid = Deno.uid();
    const passwd = Deno.readTextFileSync("/etc/passwd");
    for (const line of passwd.split("\n")) {
      const fields = line.split(":");
      if (fields.length >= 6 && Number(fields[2]) === uid) return fields[5];
    }
  } catch {
    // no permission to ask for the uid, or no passwd file: fall back as below
  }
  return undefined;
}

/**
 * The path lookups of the running process, over the given environment: HOME, else the
 * password database's home directory, else `/`.
 *
 * @example Usage
 * ```ts
 * import { processPathEnv } from "./help.ts";
 * import { userConfigPath } from "../config/paths.ts";
 * console.log(userConfigPath(processPathEnv({ HOME: "/home/ann" }))); // "/home/ann/.msmtprc" (unless XDG)
 * ```
 */
export function processPathEnv(env: Readonly<Record<string, string | undefined>>): PathEnv {
  return {
    getenv: (name) => env[name],
    home: () => env.HOME ?? homeFromPasswd() ?? "/",
    exists: pathExists,
  };
}

/**
 * The `--version` text, in msmtp's layout (the method list keeps msmtp's trailing blank).
 *
 * @example Usage
 * ```ts
 * import { versionText } from "./help.ts";
 * const text = versionText("/etc/msmtprc", "/home/ann/.msmtprc");
 * console.log(text.split("\n")[0]); // "postie version 0.1.0"
 * ```
 */
export function versionText(systemConfigFile: string, userConfigFile: string): string {
  return [
    `postie version ${VERSION}`,
    `Platform: ${Deno.build.target}`,
    "TLS/SSL library: rustls (via Deno)",
    "Authentication library: built-in",
    "Supported authentication methods:",
    AUTH_METHODS.join(" ") + " ",
    "IDN support: enabled",
    "NLS: disabled",
    "Keyring support: Gnome MacOS (via secret-tool/security)",
    `System configuration file name: ${systemConfigFile}`,
    `User configuration file name: ${userConfigFile}`,
    "",
    "Copyright (C) 2026 the postie authors.",
    "postie follows the behaviour of msmtp by Martin Lambers and others.",
    "This is free software; see the LICENSE file of the source for copying conditions.",
    "There is NO WARRANTY, to the extent permitted by law.",
    "",
  ].join("\n");
}

/**
 * The `--help` text: msmtp's, for `name`, with `-F` and `-v` documented (msmtp wrongly
 * lists them as ignored) and postie's own options at the end.
 *
 * @example Usage
 * ```ts
 * import { helpText } from "./help.ts";
 * console.log(helpText("postie").startsWith("Usage:\n")); // true
 * ```
 */
export function helpText(name = "postie"): string {
  return `Usage:

Sendmail mode (default):
  ${name} [option...] [--] recipient...
  ${name} [option...] -t [--] [recipient...]
  Read a mail from standard input and transmit it to an SMTP or LMTP server.
Configuration mode:
  ${name} --configure=mailadress
  Generate and print configuration for address.
Server information mode:
  ${name} [option...] --serverinfo
  Print information about a server.
Remote Message Queue Starting mode:
  ${name} [option...] --rmqs=host|@domain|#queue
  Send a Remote Message Queue Starting request to a server.

General options:
  --version                    print version
  --help                       print help
  -P, --pretend                print configuration info and exit
  -d, -v, --debug              print debugging information
Changing the mode of operation:
  --configure=mailaddress      generate and print configuration for address
  -S, --serverinfo             print information about the server
  --rmqs=host|@domain|#queue   send a Remote Message Queue Starting request
Configuration options:
  -C, --file=filename          set configuration file
  -a, --account=id             use the given account instead of the account
                               named "default"; its settings may be changed
                               with command-line options
  --host=hostname              set the server, use only command-line settings;
                               do not use any configuration file data
  --port=number                set port number
  --source-ip=[IP]             set/unset source ip address to bind the socket to
  --proxy-host=[IP|hostname]   set/unset proxy
  --proxy-port=[number]        set/unset proxy port
  --socket=[socketname]        set/unset local socket to connect to
  --timeout=(off|seconds)      set/unset network timeout in seconds
  --protocol=(smtp|lmtp)       use the given sub protocol
  --domain=string              set the argument of EHLO or LHLO command
  --auth[=(on|off|method)]     enable/disable authentication and optionally
                               choose the method
  --user=[username]            set/unset user name for authentication
  --passwordeval=[eval]        evaluate password for authentication
  --tls[=(on|off)]             enable/disable TLS encryption
  --tls-starttls[=(on|off)]    enable/disable STARTTLS for TLS
  --tls-trust-file=[file]      set/unset trust file for TLS
  --tls-crl-file=[file]        set/unset revocation file for TLS
  --tls-fingerprint=[f]        set/unset trusted certificate fingerprint for TLS
  --tls-certcheck[=(on|off)]   enable/disable server certificate checks for TLS
  --tls-key-file=[file]        set/unset private key file for TLS
  --tls-cert-file=[file]       set/unset private cert file for TLS
  --tls-priorities=[prios]     set/unset TLS priorities.
  --tls-host-override=[host]   set/unset override for TLS host verification.
  --tls-min-dh-prime-bits=[b]  set/unset minimum bit size of DH prime
Options specific to sendmail mode:
  --auto-from[=(on|off)]       enable/disable automatic envelope-from addresses
  -f, --from=address           set envelope from address
  -F fullname                  set the full name of a generated From header
  --maildomain=[domain]        set the domain for automatic envelope from
                               addresses
  -N, --dsn-notify=(off|cond)  set/unset DSN conditions
  -R, --dsn-return=(off|ret)   set/unset DSN amount
  -X, --logfile=[file]         set/unset log file
  --logfile-time-format=[fmt]  set/unset log file time format for strftime()
  --syslog[=(on|off|facility)] enable/disable/configure syslog logging
  -t, --read-recipients        read additional recipients from the mail
  --read-envelope-from         read envelope from address from the mail
  --aliases=[file]             set/unset aliases file
  --set-from-header[=(auto|on|off)] set From header handling
  --set-date-header[=(auto|off)] set Date header handling
  --set-msgid-header[=(auto|off)] set Message-ID header handling
  --remove-bcc-headers[=(on|off)] enable/disable removal of Bcc headers
  --undisclosed-recipients[=(on|off)] enable/disable replacement of To/Cc/Bcc
                               with To: undisclosed-recipients:;
  --                           end of options
Accepted but ignored: -A, -B, -bm, -G, -h, -i, -L, -m, -n, -O, -o
postie options:
  --env-file=file              read variables the configuration refers to
                               from a .env file
  --config-format=(msmtprc|toml) read the configuration file in this format
                               instead of guessing from its name
  --convert-to-toml            print the selected configuration as TOML
  --store-password             read a password (from the terminal, else the
                               first line of standard input) and store it in
                               the keyring for the account's host and user
Queue (postie; see docs/QUEUE.md):
  -q                           send every queued mail now
  -q<interval>                 run the queue as a daemon (-q5m)
  -qI<id>, -qR<rcpt>, -qS<sender> send only the mails that match
  -bp                          list the queue (also as mailq); --json for JSON
  --queue-delete=id            remove a mail from the queue
Composing (standard input is the text of the mail, not a mail):
  --subject=text               set the subject
  --attach=file                attach a file, typed by its name (repeatable)
  --html=file                  add an HTML version of the text
`;
}
