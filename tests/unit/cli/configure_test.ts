import assert from "node:assert/strict";
import { configureAccount, type SrvRecord } from "../../../lib/cli/configure.ts";
import { PostieError } from "../../../lib/errors.ts";

/** A resolver that knows only the given names, and records what it was asked. */
function fakeResolver(answers: Record<string, SrvRecord[]>) {
  const asked: string[] = [];
  return {
    asked,
    resolve: (name: string) => {
      asked.push(name);
      return Promise.resolve(answers[name] ?? []);
    },
  };
}

const record = (target: string, port: number, priority = 0, weight = 0): SrvRecord => ({
  target,
  port,
  priority,
  weight,
});

Deno.test("configureAccount() prefers _submissions (implicit TLS) and prints msmtp's excerpt", async () => {
  const dns = fakeResolver({
    "_submissions._tcp.example.org": [record("smtp.example.org.", 465)],
    "_submission._tcp.example.org": [record("smtp.example.org.", 587)],
  });
  const text = await configureAccount("joe@example.org", "/home/joe/.msmtprc", dns.resolve);
  assert.equal(
    text,
    [
      "# - copy this to your configuration file /home/joe/.msmtprc",
      "# - add your password to the key ring:",
      "#   secret-tool store --label=msmtp host smtp.example.org service smtp user joe",
      "account joe@example.org",
      "host smtp.example.org",
      "port 465",
      "tls on",
      "tls_starttls off",
      "auth on",
      "user joe",
      "from joe@example.org",
      "",
    ].join("\n"),
  );
  assert.deepEqual(dns.asked, ["_submissions._tcp.example.org"]);
});

Deno.test("configureAccount() falls back to _submission with STARTTLS and warns about a foreign host", async () => {
  const dns = fakeResolver({
    "_submission._tcp.example.org": [
      record("backup.provider.net.", 2587, 20),
      record("mail.provider.net.", 587, 10, 5),
      record("other.provider.net.", 588, 10, 1),
    ],
  });
  const text = await configureAccount("a.b@example.org", "rc", dns.resolve);
  const lines = text.split("\n");
  assert.equal(lines[1], "# - warning: the host does not match the mail domain; please check");
  assert.ok(lines.includes("host mail.provider.net"), "lowest priority, then highest weight");
  assert.ok(lines.includes("port 587"));
  assert.ok(lines.includes("tls_starttls on"));
  assert.ok(lines.includes("user a.b"));
});

Deno.test("configureAccount() reports missing records with EX_NOHOST and a bad address with EX_DATAERR", async () => {
  await assert.rejects(
    configureAccount("joe@example.org", "rc", fakeResolver({}).resolve),
    (e: unknown) =>
      e instanceof PostieError && e.exitCode === 68 &&
      e.message ===
        "automatic configuration based on SRV records failed: no SRV records for " +
          "_submissions._tcp.example.org or _submission._tcp.example.org",
  );
  for (const bad of ["joe", "@example.org", "joe@"]) {
    await assert.rejects(
      configureAccount(bad, "rc", fakeResolver({}).resolve),
      (e: unknown) =>
        e instanceof PostieError && e.exitCode === 65 &&
        e.message === "automatic configuration based on SRV records failed: invalid mail address",
    );
  }
});
