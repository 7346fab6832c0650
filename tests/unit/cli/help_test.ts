import assert from "node:assert/strict";
import { helpText, processPathEnv, VERSION, versionText } from "../../../lib/cli/help.ts";
import denoConfig from "../../../deno.json" with { type: "json" };

Deno.test("--version follows msmtp's layout line by line", () => {
  const lines = versionText("/etc/msmtprc", "/home/ann/.msmtprc").split("\n");
  assert.equal(lines[0], `postie version ${denoConfig.version}`);
  assert.equal(lines[1], `Platform: ${Deno.build.target}`);
  assert.match(lines[2], /^TLS\/SSL library: /);
  assert.equal(lines[3], "Authentication library: built-in");
  assert.equal(lines[4], "Supported authentication methods:");
  // msmtp 1.8.23's list in its order, without the methods postie does not have (gssapi,
  // digest-md5, ntlm), and its trailing blank
  assert.equal(
    lines[5],
    "plain scram-sha-1 scram-sha-256 external cram-md5 login oauthbearer xoauth2 ",
  );
  assert.match(lines[6], /^IDN support: /);
  assert.equal(lines[7], "NLS: disabled");
  assert.match(lines[8], /^Keyring support: Gnome MacOS/);
  assert.equal(lines[9], "System configuration file name: /etc/msmtprc");
  assert.equal(lines[10], "User configuration file name: /home/ann/.msmtprc");
  assert.equal(lines[11], "");
  assert.match(lines[12], /^Copyright/);
  assert.equal(VERSION, denoConfig.version);
});

Deno.test("the process path lookups read HOME and the given variables", () => {
  const env = processPathEnv({ HOME: "/h", XDG_CONFIG_HOME: "/x" });
  assert.equal(env.home(), "/h");
  assert.equal(env.getenv("XDG_CONFIG_HOME"), "/x");
  assert.equal(env.exists("/"), true);
  assert.equal(env.exists("/no/such/postie/path"), false);
});

Deno.test("without HOME the home directory comes from the password database", () => {
  const uid = String(Deno.uid());
  const entry = Deno.readTextFileSync("/etc/passwd").split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[2] === uid);
  assert.ok(entry, `no /etc/passwd entry for uid ${uid}`);
  assert.equal(processPathEnv({}).home(), entry[5]);
});

Deno.test("--help is msmtp's text under the invoked name, -F and -v not called ignored", () => {
  const text = helpText("sendmail");
  assert.ok(text.startsWith("Usage:\n\nSendmail mode (default):\n  sendmail [option...] [--]"));
  assert.doesNotMatch(text, /\bmsmtp\b/);
  const ignored = text.split("\n").find((l) => l.startsWith("Accepted but ignored:"));
  assert.equal(ignored, "Accepted but ignored: -A, -B, -bm, -G, -h, -i, -L, -m, -n, -O, -o");
  assert.match(text, /^ {2}-F fullname {18}set the full name/m);
  assert.match(text, /^ {2}-d, -v, --debug/m);
});

Deno.test("--help lists postie's own options", () => {
  const text = helpText();
  for (const option of ["--env-file=", "--config-format=", "--convert-to-toml"]) {
    assert.ok(text.includes(`  ${option}`), option);
  }
  assert.ok(text.endsWith("\n"));
});
