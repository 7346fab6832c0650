import assert from "node:assert/strict";
import { keyringPassword, storePassword } from "../../../lib/secrets/keyring.ts";
import { lookupPassword } from "../../../lib/secrets/password.ts";
import { keyringSkipReason, startKeyring } from "../../support/keyring.ts";

const suffix = await keyringSkipReason();
const skip = suffix !== "";

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
