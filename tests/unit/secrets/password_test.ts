import assert from "node:assert/strict";
import { lookupPassword, type PasswordLookupOptions } from "../../../lib/secrets/password.ts";

interface Fixture {
  home: string;
  sysconf: string;
  calls: string[];
  options(over?: Partial<PasswordLookupOptions>): PasswordLookupOptions;
  cleanup(): Promise<void>;
}

async function fixture(keyringAnswer: string | null = null): Promise<Fixture> {
  const home = await Deno.makeTempDir();
  const sysconf = await Deno.makeTempDir();
  const calls: string[] = [];
  return {
    home,
    sysconf,
    calls,
    options: (over = {}) => ({
      settings: { password: null, user: "alice", host: "mail.example", socket: null },
      env: {
        getenv: (name) => name === "POSTIE_SYSCONFDIR" ? sysconf : undefined,
        home: () => home,
      },
      keyring: (host, user) => {
        calls.push(`keyring ${host} ${user}`);
        return Promise.resolve(keyringAnswer);
      },
      tty: (user, host) => {
        calls.push(`prompt ${user} ${host}`);
        return Promise.resolve(null);
      },
      ...over,
    }),
    cleanup: async () => {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(sysconf, { recursive: true });
    },
  };
}

Deno.test("the password setting wins and nothing else is asked", async () => {
  const f = await fixture("from-keyring");
  try {
    const pw = await lookupPassword(
      f.options({
        settings: { password: "set", user: "alice", host: "mail.example", socket: null },
      }),
    );
    assert.equal(pw, "set");
    assert.deepEqual(f.calls, []);
  } finally {
    await f.cleanup();
  }
});

Deno.test("the keyring comes before the netrc files", async () => {
  const f = await fixture("from-keyring");
  try {
    await Deno.writeTextFile(`${f.home}/.netrc`, "machine mail.example login alice password n");
    assert.equal(await lookupPassword(f.options()), "from-keyring");
    assert.deepEqual(f.calls, ["keyring mail.example alice"]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("~/.netrc comes before the system netrc", async () => {
  const f = await fixture();
  try {
    await Deno.writeTextFile(`${f.home}/.netrc`, "machine mail.example login alice password u");
    await Deno.writeTextFile(`${f.sysconf}/netrc`, "machine mail.example login alice password s");
    assert.equal(await lookupPassword(f.options()), "u");
  } finally {
    await f.cleanup();
  }
});

Deno.test("the system netrc answers when ~/.netrc has no entry", async () => {
  const f = await fixture();
  try {
    await Deno.writeTextFile(`${f.home}/.netrc`, "machine other login alice password u");
    await Deno.writeTextFile(`${f.sysconf}/netrc`, "machine mail.example login alice password s");
    assert.equal(await lookupPassword(f.options()), "s");
  } finally {
    await f.cleanup();
  }
});

Deno.test("the prompt is the last resort, with the user and host", async () => {
  const f = await fixture();
  try {
    const pw = await lookupPassword(f.options({
      tty: (user, host) => Promise.resolve(`typed for ${user}@${host}`),
    }));
    assert.equal(pw, "typed for alice@mail.example");
  } finally {
    await f.cleanup();
  }
});

Deno.test("with no source and no prompt the answer is null", async () => {
  const f = await fixture();
  try {
    assert.equal(await lookupPassword(f.options({ tty: false })), null);
    assert.deepEqual(f.calls, ["keyring mail.example alice"]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("a socket account is looked up by its socket name", async () => {
  const f = await fixture();
  try {
    await lookupPassword(f.options({
      settings: { password: null, user: "alice", host: null, socket: "/run/smtp.sock" },
    }));
    assert.deepEqual(f.calls, ["keyring /run/smtp.sock alice", "prompt alice /run/smtp.sock"]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("without a user only the password setting can answer", async () => {
  const f = await fixture("from-keyring");
  try {
    const settings = { password: null, user: null, host: "mail.example", socket: null };
    assert.equal(await lookupPassword(f.options({ settings })), null);
    assert.deepEqual(f.calls, []);
  } finally {
    await f.cleanup();
  }
});

Deno.test("without a controlling terminal the default prompt gives up quietly", async () => {
  // setsid detaches the child from any terminal, so /dev/tty cannot be opened (E35).
  const code = `
    import { lookupPassword } from "${
    new URL("../../../lib/secrets/password.ts", import.meta.url).href
  }";
    const pw = await lookupPassword({
      settings: { password: null, user: "alice", host: "mail.example", socket: null },
      env: { getenv: () => undefined, home: () => "/nonexistent" },
      keyring: () => Promise.resolve(null),
    });
    console.log(JSON.stringify(pw));
  `;
  const out = await new Deno.Command("setsid", {
    args: [Deno.execPath(), "eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "null");
});
