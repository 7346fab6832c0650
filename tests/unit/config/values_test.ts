import assert from "node:assert/strict";
import type { PartialSettings } from "../../../lib/config/account.ts";
import {
  applyCommand,
  fingerprint,
  positiveInt,
  SettingValueError,
} from "../../../lib/config/values.ts";

function apply(name: string, arg: string): PartialSettings {
  const set: PartialSettings = {};
  applyCommand(set, name, arg, { home: "/home/joe" });
  return set;
}

function refusal(name: string, arg: string): SettingValueError {
  try {
    apply(name, arg);
  } catch (e) {
    if (e instanceof SettingValueError) return e;
    throw e;
  }
  throw new Error(`${name} ${arg} was accepted`);
}

Deno.test("a port outside 1..65535 is an invalid argument in msmtp's words", () => {
  const e = refusal("port", "99999");
  assert.equal(e.reason, "invalid");
  assert.equal(e.message, "invalid argument 99999 for command port");
});

Deno.test("numbers are read like strtol with base 0", () => {
  assert.equal(apply("port", "0x19").port, 25);
  assert.equal(apply("port", "010").port, 8);
  assert.equal(positiveInt("08"), undefined);
  assert.equal(positiveInt("-1"), undefined);
  assert.equal(positiveInt("2147483648"), undefined);
});

Deno.test("an unknown command is reported by name", () => {
  const e = refusal("foo", "bar");
  assert.equal(e.reason, "unknown");
  assert.equal(e.message, "unknown command foo");
});

Deno.test("host, port, timeout, protocol and dsn commands need an argument", () => {
  for (const name of ["host", "port", "timeout", "protocol", "dsn_notify", "dsn_return"]) {
    const e = refusal(name, "");
    assert.equal(e.reason, "missing");
    assert.equal(e.message, `command ${name} needs an argument`);
  }
});

Deno.test("an empty argument means on, auto or unset depending on the command", () => {
  assert.equal(apply("tls", "").tls, true);
  assert.equal(apply("auth", "").auth, "on");
  assert.equal(apply("set_from_header", "").set_from_header, "auto");
  assert.equal(apply("syslog", "").syslog, "LOG_USER");
  assert.equal(apply("user", "").user, null);
  assert.equal(apply("tls_trust_file", "").tls_trust_file, null);
  assert.equal(apply("from", "").from, "");
  assert.equal(apply("domain", "").domain, "");
});

Deno.test("allow_from_override takes only on or off", () => {
  assert.equal(
    refusal("allow_from_override", "").message,
    "invalid argument  for command allow_from_override",
  );
  assert.equal(apply("allow_from_override", "off").allow_from_override, false);
});

Deno.test("on/off values are exact lower-case words", () => {
  assert.equal(refusal("tls", "On").reason, "invalid");
});

Deno.test("auth methods are lower case in and upper case out", () => {
  assert.equal(apply("auth", "scram-sha-256").auth, "SCRAM-SHA-256");
  assert.equal(apply("auth", "off").auth, "off");
  assert.equal(refusal("auth", "PLAIN").reason, "invalid");
});

Deno.test("timeout off is 0 and 0 itself is refused", () => {
  assert.equal(apply("timeout", "off").timeout, 0);
  assert.equal(apply("connect_timeout", "5").timeout, 5);
  assert.equal(refusal("timeout", "0").reason, "invalid");
});

Deno.test("fingerprints accept colons or spaces and come out upper case", () => {
  const hex = "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff";
  assert.equal(fingerprint(hex), "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
  assert.equal(fingerprint("ab:cd"), undefined);
  assert.equal(refusal("tls_fingerprint", "00-11").reason, "invalid");
});

Deno.test("dsn_notify and dsn_return are checked and upper-cased", () => {
  assert.equal(apply("dsn_notify", "delay,failure").dsn_notify, "DELAY,FAILURE");
  assert.equal(apply("dsn_notify", "off").dsn_notify, null);
  assert.equal(refusal("dsn_notify", "failuredelay").reason, "invalid");
  assert.equal(apply("dsn_return", "headers").dsn_return, "HDRS");
  assert.equal(refusal("dsn_return", "hdrs").reason, "invalid");
});

Deno.test("syslog accepts LOG_USER, LOG_MAIL and LOG_LOCAL0..7", () => {
  assert.equal(apply("syslog", "LOG_LOCAL7").syslog, "LOG_LOCAL7");
  assert.equal(refusal("syslog", "LOG_LOCAL8").reason, "invalid");
  assert.equal(apply("syslog", "off").syslog, null);
});

Deno.test("~ at the start of a file argument becomes HOME, but not in socket", () => {
  assert.equal(apply("logfile", "~/log").logfile, "/home/joe/log");
  assert.equal(apply("aliases", "~x").aliases, "/home/joex");
  assert.equal(apply("socket", "~/s").socket, "~/s");
});

Deno.test("compat commands set today's settings", () => {
  assert.equal(apply("keepbcc", "").remove_bcc_headers, false);
  assert.equal(apply("add_missing_from_header", "off").set_from_header, "off");
  assert.equal(apply("tls_nocertcheck", "").tls_certcheck, false);
  assert.equal(apply("tls_nostarttls", "").tls_starttls, false);
  assert.deepEqual(apply("tls_force_sslv3", "anything"), {});
  assert.equal(
    refusal("tls_nostarttls", "off").message,
    "command tls_nostarttls does not take an argument",
  );
});

Deno.test("a domain that is not a valid EHLO argument is refused where it is read", () => {
  const long = refusal("domain", "a".repeat(10 * 1024));
  assert.match(
    long.message,
    /^invalid argument "a{40}"… \(10240 characters\) for command domain: longer than 255 characters; it must be an EHLO argument/,
  );
  assert.match(
    refusal("domain", "my host").message,
    /"my host" for command domain: it contains blanks or control characters/,
  );
  assert.match(refusal("domain", "a\u0001b").message, /control characters/);
  assert.match(refusal("domain", "a<b>").message, /characters a host name cannot have/);
});

Deno.test("valid EHLO arguments, expansions and unset values pass", () => {
  for (
    const ok of [
      "mail.example.org",
      "localhost",
      "%H.%C",
      "[192.0.2.1]",
      "[IPv6:2001:db8::1]",
      "bücher.example",
      "",
    ]
  ) {
    assert.equal(apply("domain", ok).domain, ok);
  }
});

Deno.test("host-like values are checked the same way", () => {
  assert.match(
    refusal("host", "smtp.example.org extra").message,
    /for command host: it contains blanks/,
  );
  assert.match(
    refusal("maildomain", "x".repeat(300)).message,
    /for command maildomain: longer than 255/,
  );
  assert.match(refusal("proxy_host", "p\tq").message, /for command proxy_host/);
  assert.match(refusal("tls_host_override", "a/b").message, /for command tls_host_override/);
  assert.equal(apply("host", "2001:db8::1").host, "2001:db8::1");
  assert.equal(apply("host", "192.0.2.1").host, "192.0.2.1");
  assert.equal(apply("proxy_host", "").proxy_host, null);
});
