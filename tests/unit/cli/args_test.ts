import assert from "node:assert/strict";
import {
  GetoptError,
  getoptLong,
  LONG_OPTIONS,
  parseArgs,
  SHORT_OPTIONS,
} from "../../../lib/cli/args.ts";
import { UsageError } from "../../../lib/errors.ts";

/** Asserts that parsing throws a usage error with exactly this message. */
function rejects(argv: string[], message: string, getopt = false): void {
  assert.throws(() => parseArgs(argv), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, message);
    assert.equal(error.exitCode, 64);
    assert.equal(error instanceof GetoptError, getopt);
    return true;
  });
}

Deno.test("a bare command line is sendmail mode with nothing set", () => {
  const inv = parseArgs([]);
  assert.equal(inv.mode, "sendmail");
  assert.deepEqual(inv.recipients, []);
  assert.deepEqual(inv.overrides, []);
  assert.equal(inv.pretend, false);
  assert.equal(inv.debug, false);
  assert.equal(inv.printVersion, false);
  assert.equal(inv.printHelp, false);
});

Deno.test("grouped short flags are read one by one", () => {
  const inv = parseArgs(["-tiP", "rcpt@example.org"]);
  assert.equal(inv.readRecipients, true);
  assert.equal(inv.pretend, true);
  assert.deepEqual(inv.recipients, ["rcpt@example.org"]);
});

Deno.test("short options take glued values", () => {
  const inv = parseArgs(["-oi", "-oem", "-FCronDaemon", "-B8BITMIME", "-fme@x", "-Cfile", "-aacc"]);
  assert.equal(inv.fullName, "CronDaemon");
  assert.equal(inv.from, "me@x");
  assert.equal(inv.configFile, "file");
  assert.equal(inv.account, "acc");
  assert.deepEqual(inv.recipients, []);
});

Deno.test("short options take the next word as value, even one starting with a dash", () => {
  const inv = parseArgs(["-f", "x@y", "-C", "-weird", "-a", "--", "r"]);
  assert.equal(inv.from, "x@y");
  assert.equal(inv.configFile, "-weird");
  assert.equal(inv.account, "--");
  assert.deepEqual(inv.recipients, ["r"]);
});

Deno.test("a value ends a group of short flags", () => {
  const inv = parseArgs(["-tfme@x"]);
  assert.equal(inv.readRecipients, true);
  assert.equal(inv.from, "me@x");
});

Deno.test("-d takes an optional value only when glued; -d0.1 asks for the version", () => {
  const glued = parseArgs(["-d0.1"]);
  assert.equal(glued.debug, true);
  assert.equal(glued.printVersion, true);
  assert.equal(glued.mode, "version");
  const separate = parseArgs(["-d", "0.1"]);
  assert.equal(separate.printVersion, false);
  assert.deepEqual(separate.recipients, ["0.1"]);
  assert.equal(parseArgs(["--debug=0.1"]).printVersion, true);
  assert.equal(parseArgs(["-dx"]).printVersion, false);
  assert.equal(parseArgs(["-v"]).debug, true);
});

Deno.test("long options take values after = or in the next word", () => {
  const inv = parseArgs(["--from=a@b", "--file", "rc", "--account=x", "--rmqs", "@d"]);
  assert.equal(inv.from, "a@b");
  assert.equal(inv.configFile, "rc");
  assert.equal(inv.account, "x");
  assert.equal(inv.rmqsArgument, "@d");
});

Deno.test("optional values need =; a bare option gets its implied value", () => {
  const inv = parseArgs(["--tls", "--tls=off", "--set-from-header", "--auth=plain", "--syslog"]);
  assert.deepEqual(inv.overrides, [
    { option: "--tls", name: "tls", arg: "on" },
    { option: "--tls", name: "tls", arg: "off" },
    { option: "--set-from-header", name: "set_from_header", arg: "auto" },
    { option: "--auth", name: "auth", arg: "plain" },
    { option: "--syslog", name: "syslog", arg: "on" },
  ]);
  assert.deepEqual(parseArgs(["--tls", "off"]).recipients, ["off"]);
});

Deno.test("empty values unset text settings; --auth= means choose", () => {
  const inv = parseArgs(["--user=", "--tls-trust-file=", "--proxy-port=", "--auth="]);
  assert.deepEqual(inv.overrides.map((o) => [o.name, o.arg]), [
    ["user", ""],
    ["tls_trust_file", ""],
    ["proxy_port", ""],
    ["auth", "on"],
  ]);
});

Deno.test("every setting option maps to its config command", () => {
  const inv = parseArgs([
    "--port=25",
    "--timeout=off",
    "--connect-timeout=5",
    "--source-ip=1.2.3.4",
    "--proxy-host=p",
    "--proxy-port=1080",
    "--socket=/s",
    "--protocol=lmtp",
    "--domain=d",
    "--passwordeval=cat f",
    "--tls-starttls=off",
    "--tls-crl-file=c",
    "--tls-fingerprint=",
    "--tls-key-file=k",
    "--tls-cert-file=c",
    "--tls-certcheck=off",
    "--tls-min-dh-prime-bits=",
    "--tls-priorities=",
    "--tls-host-override=h",
    "-N",
    "failure",
    "-Rfull",
    "-X",
    "-",
    "--logfile-time-format=%F",
    "--aliases=/etc/aliases",
    "--set-date-header=off",
    "--set-msgid-header",
    "--remove-bcc-headers=off",
    "--undisclosed-recipients",
    "--auto-from=off",
    "--maildomain=m",
  ]);
  assert.deepEqual(inv.overrides.map((o) => `${o.option} ${o.name}=${o.arg}`), [
    "--port port=25",
    "--timeout timeout=off",
    "--timeout timeout=5",
    "--source-ip source_ip=1.2.3.4",
    "--proxy-host proxy_host=p",
    "--proxy-port proxy_port=1080",
    "--socket socket=/s",
    "--protocol protocol=lmtp",
    "--domain domain=d",
    "--passwordeval passwordeval=cat f",
    "--tls-starttls tls_starttls=off",
    "--tls-crl-file tls_crl_file=c",
    "--tls-fingerprint tls_fingerprint=",
    "--tls-key-file tls_key_file=k",
    "--tls-cert-file tls_cert_file=c",
    "--tls-certcheck tls_certcheck=off",
    "--tls-min-dh-prime-bits tls_min_dh_prime_bits=",
    "--tls-priorities tls_priorities=",
    "--tls-host-override tls_host_override=h",
    "--dsn-notify dsn_notify=failure",
    "--dsn-return dsn_return=full",
    "--logfile logfile=-",
    "--logfile-time-format logfile_time_format=%F",
    "--aliases aliases=/etc/aliases",
    "--set-date-header set_date_header=off",
    "--set-msgid-header set_msgid_header=auto",
    "--remove-bcc-headers remove_bcc_headers=off",
    "--undisclosed-recipients undisclosed_recipients=on",
    "--auto-from auto_from=off",
    "--maildomain maildomain=m",
  ]);
});

Deno.test("compatibility options become the newer commands", () => {
  const inv = parseArgs([
    "--keepbcc",
    "--keepbcc=off",
    "--add-missing-from-header=off",
    "--add-missing-date-header",
    "--tls-force-sslv3=whatever",
  ]);
  assert.deepEqual(inv.overrides.map((o) => `${o.option} ${o.name}=${o.arg}`), [
    "--keepbcc remove_bcc_headers=off",
    "--keepbcc remove_bcc_headers=on",
    "--add-missing-from-header set_from_header=off",
    "--add-missing-date-header set_date_header=auto",
  ]);
});

Deno.test("-R hdrs, accepted on the command line only, becomes the file's headers", () => {
  assert.deepEqual(parseArgs(["-R", "hdrs"]).overrides, [
    { option: "--dsn-return", name: "dsn_return", arg: "headers" },
  ]);
  assert.equal(parseArgs(["--dsn-return=headers"]).overrides[0].arg, "headers");
});

Deno.test("unambiguous prefixes of long options are accepted", () => {
  assert.equal(parseArgs(["--pre"]).pretend, true);
  assert.equal(parseArgs(["--ser"]).mode, "serverinfo");
  assert.equal(parseArgs(["--read-r"]).readRecipients, true);
  assert.equal(parseArgs(["--k"]).overrides[0].name, "remove_bcc_headers");
  assert.equal(parseArgs(["--v"]).mode, "version");
  assert.equal(parseArgs(["--tls"]).overrides[0].name, "tls");
});

Deno.test("-- ends the options; later words are recipients even with a dash", () => {
  const inv = parseArgs(["-oem", "-oi", "-f", "x", "--", "-rcpt", "--bogus"]);
  assert.deepEqual(inv.recipients, ["-rcpt", "--bogus"]);
  assert.deepEqual(parseArgs(["-"]).recipients, ["-"]);
});

Deno.test("options after recipients are still options (GNU permutation)", () => {
  const inv = parseArgs(["a@x", "-t", "b@x", "--", "c@x", "-P"]);
  assert.equal(inv.readRecipients, true);
  assert.equal(inv.pretend, false);
  assert.deepEqual(inv.recipients, ["a@x", "b@x", "c@x", "-P"]);
});

Deno.test("POSIXLY_CORRECT stops option parsing at the first recipient", () => {
  const inv = parseArgs(["-P", "a@x", "--bogus"], { POSIXLY_CORRECT: "1" });
  assert.equal(inv.pretend, true);
  assert.deepEqual(inv.recipients, ["a@x", "--bogus"]);
});

Deno.test("sendmail's no-op options are accepted and ignored", () => {
  const inv = parseArgs([
    "-A",
    "c",
    "-B8BITMIME",
    "-bm",
    "-G",
    "-h",
    "10",
    "-i",
    "-L",
    "tag",
    "-m",
    "-n",
    "-ODeliveryMode=b",
    "-odi",
    "-om",
    "root",
  ]);
  assert.equal(inv.mode, "sendmail");
  assert.deepEqual(inv.overrides, []);
  assert.deepEqual(inv.recipients, ["root"]);
});

Deno.test("-f <> is the null sender", () => {
  assert.equal(parseArgs(["-f", "<>"]).from, "");
});

Deno.test("modes: --version and --help win over the others; --configure over all", () => {
  assert.equal(parseArgs(["--version"]).mode, "version");
  assert.equal(parseArgs(["--help"]).mode, "help");
  const both = parseArgs(["--help", "--version"]);
  assert.equal(both.mode, "help");
  assert.equal(both.printVersion, true);
  assert.equal(parseArgs(["--version", "-S", "rcpt"]).mode, "version");
  assert.equal(parseArgs(["-S"]).mode, "serverinfo");
  assert.equal(parseArgs(["--rmqs=x", "--rmqs=y"]).rmqsArgument, "y");
  const configure = parseArgs(["-S", "--configure=a@b", "x", "--help"]);
  assert.equal(configure.mode, "configure");
  assert.equal(configure.configureAddress, "a@b");
  assert.equal(configure.printHelp, true);
});

Deno.test("postie's own long options", () => {
  const inv = parseArgs(["--env-file=.env", "--config-format", "toml", "-P"]);
  assert.equal(inv.envFile, ".env");
  assert.equal(inv.configFormat, "toml");
  assert.equal(parseArgs(["--convert-to-toml"]).mode, "convert-toml");
  rejects(["--config-format=yaml"], "invalid argument yaml for --config-format");
  rejects(["--convert-to-toml", "x"], "too many arguments");
  rejects(["--convert-to-toml", "-S"], "cannot use both --convert-to-toml and --serverinfo");
});

Deno.test("getopt's errors carry glibc's wording", () => {
  rejects(["--bogus"], "unrecognized option '--bogus'", true);
  rejects(["--bogus=x"], "unrecognized option '--bogus=x'", true);
  rejects(["---x"], "unrecognized option '---x'", true);
  rejects(["-r", "a"], "invalid option -- 'r'", true);
  rejects(["-tz"], "invalid option -- 'z'", true);
  rejects(["-:"], "invalid option -- ':'", true);
  rejects(["-f"], "option requires an argument -- 'f'", true);
  rejects(["-tf"], "option requires an argument -- 'f'", true);
  rejects(["-b"], "option requires an argument -- 'b'", true);
  rejects(["--from"], "option '--from' requires an argument", true);
  rejects(["--rm"], "option '--rmqs' requires an argument", true);
  rejects(["--vers=3"], "option '--version' doesn't allow an argument", true);
  rejects(["--read-recipients=x"], "option '--read-recipients' doesn't allow an argument", true);
  rejects(
    ["--au"],
    "option '--au' is ambiguous; possibilities: '--auto-from' '--auth'",
    true,
  );
  rejects(
    ["--set-=x"],
    "option '--set-=x' is ambiguous; possibilities: '--set-from-header' '--set-date-header'" +
      " '--set-msgid-header'",
    true,
  );
});

Deno.test("msmtp's own usage errors", () => {
  rejects(["-a", "x", "--host=h"], "cannot use both --host and --account");
  rejects(["--host=", "-a", ""], "cannot use both --host and --account");
  rejects(["-f", "<>", "--read-envelope-from"], "cannot use both --from and --read-envelope-from");
  rejects(["--read-envelope-from", "-fx"], "cannot use both --from and --read-envelope-from");
  rejects(["-S", "--rmqs=x"], "cannot use both --serverinfo and --rmqs");
  rejects(["--rmqs=x", "-S"], "cannot use both --serverinfo and --rmqs");
  rejects(["-S", "rcpt"], "too many arguments");
  rejects(["--rmqs=x", "rcpt"], "too many arguments");
  rejects(["-bx"], "unsupported operation mode bx");
  rejects(["-b", "q"], "unsupported operation mode bq");
  rejects(["-b", ""], "unsupported operation mode b");
});

Deno.test("compatibility options take only on and off", () => {
  rejects(["--keepbcc=maybe"], "invalid argument maybe for --keepbcc");
  rejects(["--keepbcc="], "invalid argument  for --keepbcc");
  rejects(
    ["--add-missing-from-header=auto"],
    "invalid argument auto for --add-missing-from-header",
  );
});

Deno.test("an empty = is no shorthand for on, unlike in a config file", () => {
  rejects(["--tls="], "invalid argument  for --tls");
  rejects(["--syslog="], "invalid argument  for --syslog");
  rejects(["--set-from-header="], "invalid argument  for --set-from-header");
  rejects(["--undisclosed-recipients="], "invalid argument  for --undisclosed-recipients");
});

Deno.test("the first error on the line is reported, as msmtp stops there", () => {
  rejects(["--tls=bad", "--bogus"], "invalid argument bad for --tls");
  rejects(["--bogus", "--tls=bad"], "unrecognized option '--bogus'", true);
  rejects(["-S", "--rmqs=x", "--bogus"], "cannot use both --serverinfo and --rmqs");
});

Deno.test("getoptLong() yields options and operands in order", () => {
  const items = [...getoptLong(["root", "-oem", "--tls", "-d"], SHORT_OPTIONS, LONG_OPTIONS)];
  assert.deepEqual(items, [
    { kind: "operand", word: "root" },
    { kind: "option", key: "o", arg: "em" },
    { kind: "option", key: "tls", arg: undefined },
    { kind: "option", key: "d", arg: undefined },
  ]);
});

Deno.test("the long option table lists msmtp's options in msmtp's order", () => {
  const names = LONG_OPTIONS.map((o) => o.name);
  assert.equal(names.length, 65);
  assert.deepEqual(names.slice(0, 4), ["version", "help", "configure", "pretend"]);
  assert.deepEqual(names.slice(-12), [
    "env-file",
    "config-format",
    "convert-to-toml",
    "store-password",
    "listen",
    "health",
    "hash-password",
    "json",
    "queue-delete",
    "subject",
    "attach",
    "html",
  ]);
  // postie's options after msmtp's match only in full, so msmtp's abbreviations keep their meaning
  assert.deepEqual(LONG_OPTIONS.filter((o) => o.exact).map((o) => o.name), [
    "listen",
    "health",
    "hash-password",
    "subject",
    "attach",
    "html",
  ]);
});

Deno.test("--subject, --attach (repeatable) and --html make a compose request", () => {
  const inv = parseArgs([
    "--subject=Hi there",
    "--attach=a.pdf",
    "root",
    "--attach",
    "b c.txt",
    "--html=x.html",
    "--",
    "--subject=not an option",
  ]);
  assert.deepEqual(inv.compose, {
    subject: "Hi there",
    attachments: ["a.pdf", "b c.txt"],
    htmlFile: "x.html",
    cc: [],
    bcc: [],
    discardEmpty: false,
  });
  assert.deepEqual(inv.recipients, ["root", "--subject=not an option"]);
  assert.equal(parseArgs(["root"]).compose, undefined);
  // a subject may be empty; an abbreviation is no compose option
  assert.equal(parseArgs(["--subject=", "root"]).compose?.subject, "");
  assert.throws(() => parseArgs(["--subj=x", "root"]), /unrecognized option '--subj=x'/);
  assert.throws(() => parseArgs(["--att", "x", "root"]), /unrecognized option '--att'/);
  assert.throws(() => parseArgs(["--subject"]), /option '--subject' requires an argument/);
});

Deno.test("compose options apply only when sending, and not with -t or --read-envelope-from", () => {
  assert.throws(() => parseArgs(["-S", "--subject=x"]), /only apply when sending/);
  assert.throws(() => parseArgs(["--attach=x", "--store-password"]), /only apply when sending/);
  assert.throws(() => parseArgs(["--subject=x", "-t"]), /cannot use --read-recipients/);
  assert.throws(
    () => parseArgs(["--read-envelope-from", "--html=x"]),
    /cannot use --read-envelope-from/,
  );
  // --help and --version still just print
  assert.equal(parseArgs(["--help", "--subject=x"]).mode, "help");
  assert.throws(() => parseArgs(["-bd", "--subject=x"]), /only apply when sending/);
});

Deno.test("TLS settings postie cannot apply are refused with what it does instead", () => {
  assert.throws(
    () => parseArgs(["--tls-priorities=NORMAL:-VERS-TLS1.0"]),
    /^UsageError: --tls-priorities is not supported: postie uses TLS 1\.2 and 1\.3 .*; remove it$/,
  );
  assert.throws(
    () => parseArgs(["--tls-min-dh-prime-bits=2048"]),
    /^UsageError: --tls-min-dh-prime-bits is not supported: .*elliptic-curve key exchange/,
  );
});

Deno.test("the relay's options are taken only spelled out, so msmtp's abbreviations keep their meaning", () => {
  assert.equal(parseArgs(["--he"]).mode, "help");
  assert.equal(parseArgs(["--health"]).mode, "health");
  assert.throws(() => parseArgs(["--heal"]), /unrecognized option '--heal'/);
  assert.throws(() => parseArgs(["-bd", "--list=127.0.0.1:25"]), /unrecognized option '--list=/);
});
