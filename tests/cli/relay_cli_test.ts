/**
 * The relay modes' bad inputs through the real command: each is one clear line with the
 * right sysexits code, and nothing starts listening.
 */

import assert from "node:assert/strict";
import { runPostie } from "../support/differential.ts";
import { freePort } from "../support/process.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "postie-relay-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rc(dir: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/rc`, text, { mode: 0o600 });
  return `${dir}/rc`;
}

const BASE = "account default\nhost 127.0.0.1\nfrom a@example.org\n";

Deno.test("-bd with a queue directory that cannot be created: 73 and one line naming the directory", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const r = await runPostie(
      [
        "-bd",
        "-C",
        await rc(dir, BASE + `queue_dir ${dir}/file/spool\n`),
        `--listen=127.0.0.1:${freePort()}`,
      ],
      { env: { HOME: dir } },
    );
    assert.equal(r.code, 73);
    assert.match(
      r.stderr,
      new RegExp(`^postie: cannot use queue directory ${dir}/file/spool: .*\\n$`),
    );
  });
});

Deno.test("-bd on a port already taken: 71 and one line", async () => {
  await withDir(async (dir) => {
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (busy.addr as Deno.NetAddr).port;
      const r = await runPostie(
        [
          "-bd",
          "-C",
          await rc(dir, BASE + `queue_dir ${dir}/spool\n`),
          `--listen=127.0.0.1:${port}`,
        ],
        { env: { HOME: dir } },
      );
      assert.equal(r.code, 71);
      assert.match(r.stderr, /^postie: cannot listen: .*\n$/);
    } finally {
      busy.close();
    }
  });
});

Deno.test("-bd with a plain password in the users file: 78 with the file and line, and the password is not shown", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/users`, "# users\nalice:hunter2\n");
    const r = await runPostie(
      [
        "-bd",
        "-C",
        await rc(dir, BASE + `queue_dir ${dir}/spool\nlisten_users ${dir}/users\n`),
        `--listen=127.0.0.1:${freePort()}`,
      ],
      { env: { HOME: dir } },
    );
    assert.equal(r.code, 78);
    assert.match(
      r.stderr,
      new RegExp(
        `^postie: ${dir}/users: line 2: the password of user alice is not a \\$scrypt\\$ hash`,
      ),
    );
    assert.doesNotMatch(r.stderr, /hunter2/);
    assert.equal(r.stderr.split("\n").length, 2);
  });
});

Deno.test("-bd with a certificate but no key, or an unreadable certificate: 78", async () => {
  await withDir(async (dir) => {
    const half = await runPostie(
      [
        "-bd",
        "-C",
        await rc(dir, BASE + `listen_tls_cert_file ${dir}/cert.pem\n`),
        `--listen=127.0.0.1:${freePort()}`,
      ],
      { env: { HOME: dir } },
    );
    assert.equal(half.code, 78);
    assert.equal(
      half.stderr,
      "postie: listen_tls_cert_file and listen_tls_key_file must be set together\n",
    );
    const missing = await runPostie(
      [
        "-bd",
        "-C",
        await rc(
          dir,
          BASE + `listen_tls_cert_file ${dir}/cert.pem\nlisten_tls_key_file ${dir}/key.pem\n`,
        ),
        `--listen=127.0.0.1:${freePort()}`,
      ],
      { env: { HOME: dir } },
    );
    assert.equal(missing.code, 78);
    assert.match(
      missing.stderr,
      new RegExp(`^postie: cannot read listen_tls_cert_file ${dir}/cert\\.pem: `),
    );
  });
});

Deno.test("--hash-password without a password on standard input: 66", async () => {
  const r = await runPostie(["--hash-password"], { stdin: "" });
  assert.equal(r.code, 66);
  assert.equal(r.stderr, "postie: no password on standard input\n");
});

Deno.test("--listen without -bd, and a malformed --listen: 64", async () => {
  const without = await runPostie(["--listen=127.0.0.1:25"]);
  assert.equal(without.code, 64);
  assert.equal(without.stderr, "postie: --listen needs -bd or --health\n");
  const bad = await runPostie(["-bd", "--listen=localhost"]);
  assert.equal(bad.code, 64);
  assert.equal(bad.stderr, "postie: invalid argument localhost for --listen\n");
});

Deno.test("-P -bd prints the settings the relay would start with, its own included, and listens nowhere", async () => {
  await withDir(async (dir) => {
    const r = await runPostie(
      [
        "-P",
        "-bd",
        "-C",
        await rc(dir, "defaults\nlisten 127.0.0.1:2525\nlisten_rate 10\n" + BASE),
      ],
      { env: { HOME: dir } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^listen = 127\.0\.0\.1:2525$/m);
    assert.match(r.stdout, /^listen_rate = 10$/m);
    assert.match(r.stdout, /^host = 127\.0\.0\.1$/m);
    assert.doesNotMatch(r.stdout, /^auto_from = /m);
  });
});

Deno.test("-bs ends when its input ends, after the greeting, without waiting for the idle timeout", async () => {
  await withDir(async (dir) => {
    const start = Date.now();
    const r = await runPostie(["-bs", "-C", await rc(dir, BASE + `queue_dir ${dir}/spool\n`)], {
      stdin: "",
      env: { HOME: dir },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^220 /);
    assert.ok(Date.now() - start < 20_000, `took ${Date.now() - start} ms`);
  });
});

Deno.test("listen_spool is gone: the relay queues in queue_dir, and the old command is an error naming the file and line", async () => {
  await withDir(async (dir) => {
    const r = await runPostie(
      [
        "-bd",
        "-C",
        await rc(dir, BASE + `listen_spool ${dir}/spool\n`),
        `--listen=127.0.0.1:${freePort()}`,
      ],
      { env: { HOME: dir } },
    );
    assert.equal(r.code, 78);
    assert.match(r.stderr, new RegExp(`^postie: ${dir}/rc: line 4: `));
    assert.equal(r.stderr.split("\n").length, 2);
  });
});
