/**
 * Configuration handling compared with Debian's msmtp 1.8.23, byte for byte: the same
 * config files, command line and environment go to both programs, and their exit code,
 * standard output and standard error must be equal.
 */

import assert from "node:assert/strict";
import {
  haveMsmtp,
  runMsmtp,
  runPostie,
  type RunResult,
  withoutDocumentedDifferences,
} from "../support/differential.ts";

const SKIP = !haveMsmtp();

/** One scenario: files in a fresh directory (the working directory), then one command. */
interface Case {
  name: string;
  /** Files relative to the directory; `home/` is HOME. Files holding `password` get 0600. */
  files?: Record<string, string>;
  args: string[];
  env?: Record<string, string>;
  stdin?: string;
}

const RC1 = `# a typical user file
defaults
timeout 10
logfile ~/msmtp.log

account plain
host 127.0.0.1
port 2525
from sender@example.com

account smtps
host localhost
port 2465
tls on
tls_starttls off
tls_trust_file ~/cert.pem
auth login
user alice
passwordeval echo secret
from smtps@example.com

account wild
host 127.0.0.1
from *@wild.example

account default : plain
`;

async function runBoth(c: Case): Promise<[RunResult, RunResult]> {
  const dir = await Deno.makeTempDir({ prefix: "postie_cfgdiff_" });
  const sysconf = await Deno.makeTempDir({ prefix: "postie_sysconf_" });
  try {
    await Deno.mkdir(`${dir}/home`);
    for (const [path, text] of Object.entries(c.files ?? {})) {
      const full = `${dir}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, text);
      await Deno.chmod(full, /^\s*password/m.test(text) ? 0o600 : 0o644);
    }
    const env = { HOME: `${dir}/home`, ...c.env };
    const options = { cwd: dir, stdin: c.stdin ?? "" };
    const msmtp = await runMsmtp(c.args, { ...options, env });
    const postie = withoutDocumentedDifferences(
      await runPostie(c.args, { ...options, env: { ...env, POSTIE_SYSCONFDIR: sysconf } }),
    );
    // msmtp reads /etc (which has no msmtprc here); postie reads an empty directory instead.
    const normalise = (text: string) =>
      text.replaceAll(`${sysconf}/`, "/etc/").replaceAll(dir, "$DIR");
    return [
      { ...msmtp, stdout: normalise(msmtp.stdout), stderr: normalise(msmtp.stderr) },
      { ...postie, stdout: normalise(postie.stdout), stderr: normalise(postie.stderr) },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(sysconf, { recursive: true });
  }
}

function rc(body: string): Record<string, string> {
  return { rc: body };
}

const HOST = "account default\nhost mail.example\nfrom me@example.com\n";

const CASES: Case[] = [
  // --pretend dumps
  { name: "--pretend on the default account", files: rc(RC1), args: ["-C", "rc", "--pretend"] },
  {
    name: "-P -a smtps runs passwordeval",
    files: rc(RC1),
    args: ["-C", "rc", "-a", "smtps", "-P"],
  },
  {
    name: "--host reads no file",
    args: ["--host=mail.example.com", "-f", "me@example.com", "--tls", "--pretend"],
  },
  { name: "-P with -t mentions the mail", files: rc(RC1), args: ["-C", "rc", "-P", "-t"] },
  {
    name: "--serverinfo -P stops after the TLS lines",
    files: rc(RC1),
    args: ["-C", "rc", "-S", "-P"],
  },
  { name: "--rmqs -P prints its argument", files: rc(RC1), args: ["-C", "rc", "--rmqs=@x", "-P"] },
  {
    name: "command-line settings override the file",
    files: rc(RC1),
    args: ["-C", "rc", "-P", "--port=587", "--timeout=off", "--auth=plain", "--user=bob", "--tls"],
  },
  {
    name: "every value kind prints as msmtp prints it",
    files: rc(
      "account default\nhost h\nfrom a@b\ntimeout 1\nauth scram-sha-256\n" +
        "tls_fingerprint 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00 11 22 33\n" +
        "dsn_notify delay,failure\ndsn_return headers\nsyslog LOG_LOCAL3\nlogfile -\n" +
        "logfile_time_format %Y\nproxy_host p\nsource_ip 1.2.3.4\n" +
        "set_from_header on\nset_date_header off\nkeepbcc\nundisclosed_recipients\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "compat commands map onto today's settings",
    files: rc(
      "account default\nhost h\nfrom a@b\nconnect_timeout 5\ntls\ntls_nocertcheck\n" +
        "tls_nostarttls\ntls_force_sslv3 yes\nadd_missing_from_header off\n" +
        "add_missing_date_header off\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "empty arguments unset or mean on",
    files: rc(
      "account default\nhost h\nfrom\ndomain\nmaildomain\nauth\nuser\ntls\ntls_trust_file\n" +
        "tls_certcheck off\nsyslog\nset_from_header\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "~ expands to HOME in file arguments but not in socket",
    files: rc(
      "account default\nhost h\nfrom a@b\naliases ~/aliases\nlogfile ~x\nsocket ~/s\n" +
        "tls_crl_file ~/crl\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "quotes, blanks, CRLF and comments",
    files: rc(
      '# comment\r\n\t account\tdefault \r\n   host h\r\n   user   "  spaced user "  \r\n' +
        'from ""a@b""\r\n  # indented comment\r\n\r\nlogfile_time_format "%F\r\n',
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "numbers are read like C's strtol with base 0",
    files: rc("account default\nhost h\nfrom a@b\nport 0x1F\ntimeout 010\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "commands before any account form the default account",
    files: rc("host h\nfrom a@b\naccount other\nhost o\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "defaults apply only to accounts defined later, cumulatively",
    files: rc(
      "account early\nhost e\ndefaults\nport 30\ndefaults\ntls on\ntls_trust_file /ca\n" +
        "account default\nhost h\nfrom a@b\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "a child inherits only what its parents set, not their defaults",
    files: rc(
      "defaults\nport 30\naccount a\nhost h\nfrom a@x\ndefaults\nport 31\n" +
        "account b\ntls on\naccount default : a, b\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "an empty tls_trust_file in defaults still becomes system",
    files: rc("defaults\ntls_trust_file\naccount default\nhost h\nfrom a@b\ntls\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "an inherited empty tls_trust_file stays empty",
    files: rc(
      "account p\nhost h\nfrom a@b\ntls_trust_file\naccount default : p\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "--tls-trust-file= unsets the trust file",
    files: rc(HOST),
    args: ["-C", "rc", "-P", "--tls-trust-file="],
  },
  {
    name: "eval lines run in file order and may define accounts",
    files: rc(
      "eval echo account default\nhost h\neval printf '  port  26 \\r\\n'\n" +
        "eval printf 'from a@b\\nignored\\n'\neval echo '# comment'\n",
    ),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "--from selects the account by its from address, case-insensitively",
    files: rc(RC1),
    args: ["-C", "rc", "-P", "-f", "SMTPS@example.com"],
  },
  {
    name: "--from with a sub-address selects the plain address's account",
    files: rc(RC1),
    args: ["-C", "rc", "-P", "-f", "sender+tag@EXAMPLE.com"],
  },
  {
    name: "--from matching a glob selects that account",
    files: rc(RC1),
    args: ["-C", "rc", "-P", "-f", "x@wild.example"],
  },
  {
    name: "globs are case-sensitive and a sub-address never matches a glob",
    files: rc(RC1),
    args: ["-C", "rc", "-P", "-f", "x+y@wild.example"],
  },
  {
    name: "bracket globs and %U in from",
    files: rc(
      "account c\nhost h\nfrom [ab]?@cls.example\naccount u\nhost u\nfrom %U@%H\n" +
        "account default\nhost d\nfrom d@x\n",
    ),
    args: ["-C", "rc", "-P", "-f", "b1@cls.example"],
  },
  {
    name: "%U %H in from and domain expand from USER and HOSTNAME",
    files: rc("account default\nhost h\nfrom %U@%H\ndomain %H.%C\n"),
    args: ["-C", "rc", "-P"],
    env: { USER: "joe", HOSTNAME: "box.example" },
  },
  {
    name: "auto_from builds the address from the login name and maildomain",
    files: rc("account default\nhost h\nauto_from\nmaildomain md.example\nfrom x@y\n"),
    args: ["-C", "rc", "-P"],
    env: { LOGNAME: "lg" },
  },
  {
    name: "allow_from_override off ignores -f",
    files: rc("account default\nhost h\nfrom fixed@example.com\nallow_from_override off\n"),
    args: ["-C", "rc", "-P", "-f", "other@example.com"],
  },
  {
    name: "-f '<>' is the null sender",
    files: rc(HOST),
    args: ["-C", "rc", "-P", "-f", "<>"],
  },
  {
    name: "EMAIL and SMTPSERVER stand in for missing files",
    args: ["--port=2525", "-P"],
    env: { EMAIL: "env@example.com", SMTPSERVER: "127.0.0.1" },
  },
  {
    name: "SMTPSERVER with -f needs no EMAIL",
    args: ["-P", "-f", "ff@x"],
    env: { SMTPSERVER: "s.example" },
  },
  {
    name: "SMTPSERVER alone is not enough",
    args: ["-P"],
    env: { SMTPSERVER: "s.example" },
  },
  {
    name: "the user file may live under XDG_CONFIG_HOME",
    files: { "home/.config/msmtp/config": HOST },
    args: ["-P"],
  },
  {
    name: "~/.msmtprc wins over the XDG file",
    files: { "home/.msmtprc": HOST, "home/.config/msmtp/config": "account default\nhost x\n" },
    args: ["-P"],
  },
  {
    name: "long lines are read whole when they fit msmtp's limit",
    files: rc(`account default\nhost h\nfrom a@b\nuser ${"u".repeat(480)}\n`),
    args: ["-C", "rc", "-P"],
  },
  // errors
  { name: "no configuration file at all", args: ["-P"] },
  { name: "-C names a missing file", args: ["-C", "missing", "-P"] },
  { name: "-C names a directory", files: { "d/x": "" }, args: ["-C", "d", "-P"] },
  { name: "unknown account", files: rc(RC1), args: ["-C", "rc", "-a", "nope", "x@y"] },
  {
    name: "unknown command",
    files: rc("account default\nhost h\nfrom a@b\n\nfoo bar\n"),
    args: ["-C", "rc", "x@y"],
  },
  {
    name: "invalid argument",
    files: rc("account default\nhost h\nport 99999\n"),
    args: ["-C", "rc", "x@y"],
  },
  {
    name: "missing argument",
    files: rc("account default\nprotocol\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "allow_from_override needs on or off",
    files: rc("account default\nallow_from_override\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "compat commands take no argument",
    files: rc("account default\ntls_nocertcheck off\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "defaults takes no argument",
    files: rc("defaults x\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "inheritance from an undefined account",
    files: rc("account a\nhost h\naccount b : a, c\n"),
    args: ["-C", "rc", "x@y"],
  },
  {
    name: "an empty parent name",
    files: rc("account a\nhost h\naccount b : a,\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "an account name with a comma",
    files: rc("account a,b\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "an account without a name, parents checked first",
    files: rc("account : zz\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "duplicate account",
    files: rc("host h\nfrom a@b\n\naccount x\naccount default\n"),
    args: ["-C", "rc", "x@y"],
  },
  {
    name: "account without host",
    files: rc("account default\nfrom a@b\n"),
    args: ["-C", "rc", "x@y"],
  },
  {
    name: "account without from in sendmail mode",
    files: rc("account default\nhost h\n"),
    args: ["-C", "rc", "x@y"],
  },
  {
    name: "LMTP has no default port",
    files: rc("account default\nhost h\nfrom a@b\nprotocol lmtp\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "tls without trust, fingerprint or certcheck off",
    files: rc("account default\nhost h\nfrom a@b\ntls\ntls_trust_file\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "tls_key_file without tls_cert_file",
    files: rc("account default\nhost h\nfrom a@b\ntls_key_file /k\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "tls_cert_file without tls_key_file",
    files: rc("account default\nhost h\nfrom a@b\ntls_cert_file /c\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "a crl file needs a trust file",
    files: rc("account default\nhost h\nfrom a@b\ntls_crl_file /c\ntls_trust_file\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "--host account errors carry no account name",
    args: ["--host=h", "--protocol=lmtp", "-P"],
  },
  {
    name: "eval without output",
    files: rc("account default\nhost h\neval true\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "passwordeval without output",
    files: rc("account default\nhost h\nfrom a@b\nauth on\nuser u\npasswordeval true\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "%M without a mailname file",
    files: rc("account default\nhost h\nfrom a@%M\n"),
    args: ["-C", "rc", "-P"],
  },
  {
    name: "the first error in file order wins",
    files: rc("account a\nport 0\naccount b,c\n"),
    args: ["-C", "rc", "-P"],
  },
];

for (const c of CASES) {
  Deno.test({
    name: `msmtp and postie agree: ${c.name}`,
    ignore: SKIP,
    async fn() {
      const [msmtp, postie] = await runBoth(c);
      assert.deepEqual(postie, msmtp);
    },
  });
}
