/**
 * A real GNOME Keyring for tests: a private D-Bus session with an unlocked keyring in a
 * throw-away home, so `secret-tool` (and postie's keyring lookups) talk to it and to nothing
 * else on the machine.
 */

/** Programs the keyring tests need (Debian: gnome-keyring libsecret-tools dbus). */
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

/**
 * Why the keyring tests cannot run here ("" when they can), worded for a test name:
 * ` (skipped: … not available; apt-get install …)`.
 */
export async function keyringSkipReason(): Promise<string> {
  const missing = Deno.build.os === "linux" ? await missingPrograms() : ["linux"];
  return missing.length === 0
    ? ""
    : ` (skipped: ${
      missing.join(", ")
    } not available; apt-get install gnome-keyring libsecret-tools dbus)`;
}

/** A private session bus with an unlocked GNOME Keyring in a throw-away home. */
export interface KeyringSession {
  /** The throw-away home directory. */
  home: string;
  /** The environment a keyring client needs: HOME, XDG_RUNTIME_DIR, the bus, PATH. */
  env: Record<string, string>;
  /** Reads that environment. */
  getenv(name: string): string | undefined;
  /** Ends the bus and the keyring and removes the home. */
  close(): Promise<void>;
}

/** Starts a keyring session; `prefix` names its temporary home. */
export async function startKeyring(prefix = "postie-keyring-"): Promise<KeyringSession> {
  const home = await Deno.makeTempDir({ prefix });
  const runtime = `${home}/run`;
  await Deno.mkdir(runtime, { mode: 0o700 });
  // The script keeps the bus alive until the test closes its stdin.
  const script = "printf postie | gnome-keyring-daemon --unlock --components=secrets >/dev/null;" +
    ' echo "$DBUS_SESSION_BUS_ADDRESS"; cat >/dev/null';
  const path = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  const child = new Deno.Command("dbus-run-session", {
    args: ["--", "sh", "-c", script],
    clearEnv: true,
    env: { HOME: home, XDG_RUNTIME_DIR: runtime, PATH: path },
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
  const env: Record<string, string> = {
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    DBUS_SESSION_BUS_ADDRESS: text.trim(),
    PATH: path,
  };
  return {
    home,
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
