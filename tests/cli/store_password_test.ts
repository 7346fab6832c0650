/**
 * `--store-password` through the real program, into a real GNOME Keyring on a private
 * session bus: the entry carries msmtp's attributes, so `secret-tool lookup` and msmtp
 * itself find it.
 */

import assert from "node:assert/strict";
import { haveMsmtp, run, runPostie } from "../support/differential.ts";
import { listenScriptedPeer } from "../support/scripted_peer.ts";
import { keyringSkipReason, startKeyring } from "../support/keyring.ts";

const suffix = await keyringSkipReason();
const skip = suffix !== "";

async function writeConfig(home: string, lines: string[]): Promise<string> {
  const path = `${home}/msmtprc`;
  await Deno.writeTextFile(path, lines.join("\n") + "\n", { mode: 0o600 });
  return path;
}

Deno.test({
  name: "--store-password stores the first line of stdin under msmtp's attributes" + suffix,
  ignore: skip,
  async fn() {
    const keyring = await startKeyring("postie-store-password-");
    try {
      const config = await writeConfig(keyring.home, [
        "account work",
        "host smtp.example",
        "user alice@example.org",
        "from alice@example.org",
      ]);
      const stored = await runPostie(["-C", config, "-a", "work", "--store-password"], {
        env: keyring.env,
        stdin: "pass with spaces\r\nsecond line is ignored\n",
      });
      assert.deepEqual(stored, { code: 0, stdout: "", stderr: "" });
      const lookup = await run(
        "secret-tool",
        ["lookup", "host", "smtp.example", "service", "smtp", "user", "alice@example.org"],
        { env: keyring.env },
      );
      assert.equal(lookup.code, 0);
      assert.equal(lookup.stdout, "pass with spaces");
      const search = await run(
        "secret-tool",
        ["search", "host", "smtp.example", "service", "smtp", "user", "alice@example.org"],
        { env: keyring.env },
      );
      assert.match(search.stdout, /^label = msmtp$/m);
    } finally {
      await keyring.close();
    }
  },
});

Deno.test({
  name: "msmtp authenticates with a password postie stored" + suffix,
  ignore: skip || !haveMsmtp(),
  async fn() {
    const keyring = await startKeyring("postie-store-password-");
    const server = listenScriptedPeer({ capabilities: ["AUTH PLAIN"] });
    try {
      const config = await writeConfig(keyring.home, [
        "account default",
        "host 127.0.0.1",
        `port ${server.port}`,
        "auth plain",
        "user carol",
        "from carol@example.org",
      ]);
      const stored = await runPostie(["-C", config, "--store-password"], {
        env: keyring.env,
        stdin: "k3yring-pw\n",
      });
      assert.equal(stored.code, 0);
      const sent = await run("/usr/bin/msmtp", ["-C", config, "dave@example.org"], {
        env: keyring.env,
        stdin: "Subject: hi\n\nhello\n",
      });
      assert.equal(sent.stderr, "");
      assert.equal(sent.code, 0);
      const auth = server.peers[0].commands.find((c) => c.startsWith("AUTH PLAIN "));
      assert.equal(atob(auth!.slice("AUTH PLAIN ".length)), "\0carol\0k3yring-pw");
    } finally {
      await server.close();
      await keyring.close();
    }
  },
});

Deno.test("--store-password needs a user in the account and says so with exit 78", async () => {
  const home = await Deno.makeTempDir({ prefix: "postie-store-password-" });
  try {
    const config = await writeConfig(home, ["account a", "host smtp.example"]);
    const result = await runPostie(["-C", config, "-a", "a", "--store-password"], {
      env: { HOME: home },
      stdin: "pw\n",
    });
    assert.equal(result.code, 78);
    assert.equal(
      result.stderr,
      `postie: account a from ${config}: --store-password needs a user name; set user\n`,
    );
    const noHost = await writeConfig(home, ["account b", "user bob"]);
    const hostless = await runPostie(["-C", noHost, "-a", "b", "--store-password"], {
      env: { HOME: home },
      stdin: "pw\n",
    });
    assert.equal(hostless.code, 78);
    assert.match(hostless.stderr, /host not set/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--store-password with empty stdin stores nothing and exits 66", async () => {
  const home = await Deno.makeTempDir({ prefix: "postie-store-password-" });
  try {
    const config = await writeConfig(home, ["account a", "host smtp.example", "user ann"]);
    const result = await runPostie(["-C", config, "-a", "a", "--store-password"], {
      // No session bus: secret-tool would fail if it were ever reached.
      env: { HOME: home },
      stdin: "",
    });
    assert.equal(result.code, 66);
    assert.equal(result.stderr, "postie: no password given; nothing was stored\n");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--store-password refuses other modes and recipients", async () => {
  const serverinfo = await runPostie(["--store-password", "--serverinfo"]);
  assert.equal(serverinfo.code, 64);
  assert.equal(serverinfo.stderr, "postie: cannot use both --store-password and --serverinfo\n");
  const words = await runPostie(["--store-password", "bob@example.org"]);
  assert.equal(words.code, 64);
  assert.equal(words.stderr, "postie: too many arguments\n");
});

Deno.test("--help lists --store-password", async () => {
  const result = await runPostie(["--help"]);
  assert.match(result.stdout, /^ {2}--store-password {13}read a password/m);
});
