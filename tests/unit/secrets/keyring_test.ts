import assert from "node:assert/strict";
import { keyringPassword, storePassword } from "../../../lib/secrets/keyring.ts";
import { lookupPassword } from "../../../lib/secrets/password.ts";

/** Programs the real-keyring tests need (Debian: gnome-keyring libsecret-tools dbus). */
const NEEDED = ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"];

async function missingPrograms(): Promise<string[]> {
  const missing: string[] = [];
  for (const program of NEEDED) {
    const found = await new Deno.Command("sh", {
      args: ["-c", 'command -v "$1" >/dev/null', "sh", program],
      stdout: "null",
      stderr: "null",
    }).output().then((r) => r.success, () => false);
    if (!found) missing.push(program);
  }
  return missing;
}

const missing = Deno.build.os === "linux" ? await missingPrograms() : ["linux"];
const skip = missing.length > 0;
const suffix = skip
  ? ` (skipped: ${
    missing.join(", ")
  } not available; apt-get install gnome-keyring libsecret-tools dbus)`
  : "";

/** A private session bus with an unlocked GNOME Keyring in a throw-away home. */
interface KeyringSession {
  env: Record<string, string>;
  getenv(name: string): string | undefined;
  close(): Promise<void>;
}

async function startKeyring(): Promise<KeyringSession> {
  const home = await Deno.makeTempDir({ prefix: "postie-keyring-" });
  const runtime = `${home}/run`;
  await Deno.mkdir(runtime, { mode: 0o700 });
  // The script keeps the bus alive until the test closes its stdin.
  const script = "printf postie | gnome-keyring-daemon --unlock --components=secrets >/dev/null;" +
    ' echo "$DBUS_SESSION_BUS_ADDRESS"; cat >/dev/null';
  const child = new Deno.Command("dbus-run-session", {
    args: ["--", "sh", "-c", script],
    clearEnv: true,
    env: { HOME: home, XDG_RUNTIME_DIR: runtime, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const bus = text.trim();
  const env: Record<string, string> = {
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    DBUS_SESSION_BUS_ADDRESS: bus,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
  return {
    env,
    getenv: (name) => env[name],
    async close(): Promise<void> {
      await child.stdin.close();
      reader.releaseLock();
      await child.stdout.cancel();
      await child.status;
      await Deno.remove(home, { recursive: true });
    },
  };
}

Deno.test({
  name: "a password stored with msmtp's attributes is found by lookupPassword" + suffix,
  ignore: skip,
  async fn() {
    const keyring = await startKeyring();
    try {
      await storePassword({
        host: "mail.example",
        user: "alice",
        password: "s3cret with spaces",
        getenv: keyring.getenv,
      });
      const found = await lookupPassword({
        settings: { password: null, user: "alice", host: "mail.example", socket: null },
        env: { getenv: keyring.getenv, home: () => keyring.env.HOME },
        tty: false,
      });
      assert.equal(found, "s3cret with spaces");
    } finally {
      await keyring.close();
    }
  },
});

Deno.test({
  name: "an entry stored by secret-tool as msmtp documents it is found, the legacy one too" +
    suffix,
  ignore: skip,
  async fn() {
    const keyring = await startKeyring();
    try {
      const store = async (attributes: string[], secret: string): Promise<void> => {
        const child = new Deno.Command("secret-tool", {
          args: ["store", "--label=msmtp", ...attributes],
          clearEnv: true,
          env: keyring.env,
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(secret));
        await writer.close();
        assert.equal((await child.status).code, 0);
      };
      await store(["host", "smtp.example", "service", "smtp", "user", "bob"], "pw-new");
      await store(["user", "carol", "protocol", "smtp", "server", "smtp.example"], "pw-legacy");
      assert.equal(
        await keyringPassword("smtp.example", "bob", { getenv: keyring.getenv }),
        "pw-new",
      );
      assert.equal(
        await keyringPassword("smtp.example", "carol", { getenv: keyring.getenv }),
        "pw-legacy",
      );
      assert.equal(await keyringPassword("smtp.example", "dave", { getenv: keyring.getenv }), null);
    } finally {
      await keyring.close();
    }
  },
});

Deno.test({
  name: "a keyring without the entry falls through to ~/.netrc" + suffix,
  ignore: skip,
  async fn() {
    const keyring = await startKeyring();
    try {
      await Deno.writeTextFile(
        `${keyring.env.HOME}/.netrc`,
        "machine mail.example login alice password from-netrc\n",
      );
      const found = await lookupPassword({
        settings: { password: null, user: "alice", host: "mail.example", socket: null },
        env: { getenv: keyring.getenv, home: () => keyring.env.HOME },
        tty: false,
      });
      assert.equal(found, "from-netrc");
    } finally {
      await keyring.close();
    }
  },
});

Deno.test("a missing keyring program is simply no answer", async () => {
  const found = await keyringPassword("mail.example", "alice", {
    getenv: (name) => name === "PATH" ? "/nonexistent" : undefined,
  });
  assert.equal(found, null);
});

Deno.test("storing without secret-tool says what to install, without the secret", async () => {
  await assert.rejects(
    storePassword({
      host: "mail.example",
      user: "alice",
      password: "hunter2",
      getenv: (name) => name === "PATH" ? "/nonexistent" : undefined,
    }),
    (e: unknown) => {
      assert.match((e as Error).message, /secret-tool/);
      assert.ok(!(e as Error).message.includes("hunter2"));
      return true;
    },
  );
});
