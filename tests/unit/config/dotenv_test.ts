import assert from "node:assert/strict";
import { type DotenvIo, loadDotenv } from "../../../lib/config/dotenv.ts";
import { ConfigError } from "../../../lib/errors.ts";

function text(content: string): DotenvIo {
  return { readTextFile: () => Promise.resolve(content) };
}

function failing(error: Error): DotenvIo {
  return { readTextFile: () => Promise.reject(error) };
}

async function loadError(io: DotenvIo): Promise<ConfigError> {
  try {
    await loadDotenv("/x/.env", io);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e;
  }
  throw new Error("no error");
}

Deno.test("a .env file is read with quotes, export lines and comments", async () => {
  const vars = await loadDotenv(
    ".env",
    text(
      "# secrets\nPLAIN=abc\nexport EXPORTED=yes\nSINGLE='a # b'\nDOUBLE=\"x\\ny\"\n" +
        "SPACED = padded   # comment\nEMPTY=\n",
    ),
  );
  assert.deepEqual({ ...vars }, {
    PLAIN: "abc",
    EXPORTED: "yes",
    SINGLE: "a # b",
    DOUBLE: "x\ny",
    SPACED: "padded",
    EMPTY: "",
  });
});

Deno.test("a variable named like an object property is only a variable", async () => {
  const vars = await loadDotenv(".env", text("A=1\n"));
  assert.equal(vars["constructor"], undefined);
  assert.equal(vars["toString"], undefined);
});

Deno.test("a missing .env file is a config error naming the file", async () => {
  const e = await loadError(failing(new Deno.errors.NotFound("gone")));
  assert.equal(e.message, "/x/.env: No such file or directory");
  assert.equal(e.exitCode, 78);
  assert.equal(e.file, "/x/.env");
});

Deno.test("an unreadable .env file is named without any of its content", async () => {
  const denied = await loadError(failing(new Deno.errors.PermissionDenied("no")));
  assert.equal(denied.message, "/x/.env: Permission denied");
  const broken = await loadError(failing(new TypeError("invalid utf-8 SECRET")));
  assert.equal(broken.message, "/x/.env: input error");
  assert.equal(broken.exitCode, 74);
});

Deno.test("a .env file must be private to its owner, as a config file with a password", async () => {
  const io = (uid: number, mode: number, me: number): DotenvIo => ({
    readTextFile: () => Promise.resolve("A=1\n"),
    stat: () => Promise.resolve({ uid, mode }),
    uid: () => me,
  });
  assert.equal((await loadDotenv("/x/.env", io(1000, 0o100600, 1000))).A, "1");
  assert.equal(
    (await loadError(io(1000, 0o100644, 1000))).message,
    "/x/.env: contains secrets and therefore must have no more than user read/write permissions",
  );
  assert.equal(
    (await loadError(io(1001, 0o100600, 1000))).message,
    "/x/.env: contains secrets and therefore must be owned by you",
  );
  assert.equal((await loadDotenv("/x/.env", io(1001, 0o100644, 0))).A, "1");
});

Deno.test("a .env file is read from disk by default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.env`, "SMTP_PASSWORD=s3cret\n", { mode: 0o600 });
    assert.equal((await loadDotenv(`${dir}/.env`)).SMTP_PASSWORD, "s3cret");
    if (Deno.uid() !== 0) {
      await Deno.chmod(`${dir}/.env`, 0o644);
      await assert.rejects(loadDotenv(`${dir}/.env`), /no more than user read\/write/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
