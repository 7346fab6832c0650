/**
 * Configuration from POSTIE_* variables and POSTIE_*_FILE secrets through the real command
 * line: precedence against the configuration file and the options, an account from the
 * environment alone, errors that name the variable, and secrets that are never printed.
 */

import assert from "node:assert/strict";
import { POSTIE, run, runPostie, type RunResult } from "../support/differential.ts";
import { IS_ROOT, NOBODY, nobodyHome } from "../support/nobody.ts";
import { startFaultServer } from "../support/fault_server.ts";

const SECRET = "pa55-Wörd-never-shown";

/** Runs postie in a fresh HOME with an empty system configuration directory. */
async function postie(
  args: string[],
  options: { env?: Record<string, string>; files?: Record<string, string>; stdin?: string } = {},
): Promise<RunResult & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "postie_envcfg_" });
  try {
    await Deno.mkdir(`${dir}/home`);
    await Deno.mkdir(`${dir}/etc`);
    for (const [path, text] of Object.entries(options.files ?? {})) {
      await Deno.writeTextFile(`${dir}/${path}`, text, { mode: 0o600 });
    }
    const result = await runPostie(args, {
      cwd: dir,
      env: { HOME: `${dir}/home`, POSTIE_SYSCONFDIR: `${dir}/etc`, ...options.env },
      stdin: options.stdin ?? "Subject: t\n\nbody\n",
    });
    return { ...result, dir };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function setting(output: string, name: string): string | undefined {
  return new RegExp(`^${name} = (.*)$`, "m").exec(output)?.[1];
}

Deno.test("POSTIE_HOST alone makes an account when there is no configuration file", async () => {
  const result = await postie(["-P", "rcpt@example.org"], {
    env: { POSTIE_HOST: "smtp.example.org", POSTIE_FROM: "me@example.org" },
  });
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^using account from POSTIE_\* environment variables$/m);
  assert.match(result.stdout, /^settings from the environment: POSTIE_HOST POSTIE_FROM$/m);
  assert.equal(setting(result.stdout, "host"), "smtp.example.org");
  assert.equal(setting(result.stdout, "port"), "25");
  assert.equal(setting(result.stdout, "from"), "me@example.org");
});

Deno.test("without POSTIE_HOST and without a file, msmtp's error is unchanged", async () => {
  const result = await postie(["rcpt@example.org"], { env: { POSTIE_PORT: "2525" } });
  assert.equal(result.code, 78);
  // msmtp's line first, then postie's hint
  assert.equal(
    result.stderr.split("\n")[0],
    "postie: account default not found: no configuration file available",
  );
});

Deno.test("precedence: options over POSTIE_* variables over the configuration file", async () => {
  const rc = "account default\nhost file.example.org\nport 2525\nfrom file@example.org\n" +
    "tls on\ntls_starttls on\ntls_trust_file /etc/ssl/certs/ca-certificates.crt\n";
  const fileOnly = await postie(["-C", "rc", "-P", "r@example.org"], { files: { rc } });
  assert.equal(setting(fileOnly.stdout, "host"), "file.example.org");
  assert.equal(setting(fileOnly.stdout, "port"), "2525");

  const env = { POSTIE_PORT: "587", POSTIE_FROM: "env@example.org", POSTIE_TLS: "off" };
  const withEnv = await postie(["-C", "rc", "-P", "r@example.org"], { files: { rc }, env });
  assert.equal(withEnv.code, 0, withEnv.stderr);
  assert.equal(setting(withEnv.stdout, "host"), "file.example.org");
  assert.equal(setting(withEnv.stdout, "port"), "587");
  assert.equal(setting(withEnv.stdout, "from"), "env@example.org");
  assert.equal(setting(withEnv.stdout, "tls"), "off");
  // the variables change the account the file gives; they do not choose another one
  assert.match(withEnv.stdout, /^using account default from rc$/m);

  const withOption = await postie(
    ["-C", "rc", "-P", "--port=465", "--tls", "-f", "opt@example.org", "r@example.org"],
    { files: { rc }, env },
  );
  assert.equal(setting(withOption.stdout, "port"), "465");
  assert.equal(setting(withOption.stdout, "tls"), "on");
  assert.equal(setting(withOption.stdout, "from"), "opt@example.org");
});

Deno.test("with a file but no default account, POSTIE_HOST makes the account; -a still needs the file", async () => {
  const rc = "account work\nhost work.example.org\nfrom w@example.org\n";
  const env = { POSTIE_HOST: "env.example.org", POSTIE_FROM: "e@example.org" };
  const fallback = await postie(["-C", "rc", "-P", "r@example.org"], { files: { rc }, env });
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.equal(setting(fallback.stdout, "host"), "env.example.org");

  const named = await postie(["-C", "rc", "-P", "-a", "work", "r@example.org"], {
    files: { rc },
    env,
  });
  assert.equal(setting(named.stdout, "host"), "env.example.org");
  assert.match(named.stdout, /^using account work from /m);

  const unknown = await postie(["-C", "rc", "-a", "nope", "r@example.org"], { files: { rc }, env });
  assert.equal(unknown.code, 78);
  assert.match(unknown.stderr, /^postie: account nope not found in /);
});

Deno.test("--host takes POSTIE_* settings but keeps its own host", async () => {
  const result = await postie(["--host=cli.example.org", "-P", "r@example.org"], {
    env: { POSTIE_HOST: "env.example.org", POSTIE_PORT: "2525", POSTIE_FROM: "a@example.org" },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(setting(result.stdout, "host"), "cli.example.org");
  assert.equal(setting(result.stdout, "port"), "2525");
});

Deno.test("--pretend masks a POSTIE_PASSWORD and a POSTIE_PASSWORD_FILE secret", async () => {
  for (const form of ["direct", "file"] as const) {
    const env: Record<string, string> = {
      POSTIE_HOST: "smtp.example.org",
      POSTIE_AUTH: "plain",
      POSTIE_USER: "ci",
      POSTIE_FROM: "ci@example.org",
    };
    const files: Record<string, string> = {};
    if (form === "direct") {
      env.POSTIE_PASSWORD = SECRET;
    } else {
      files.secret = SECRET + "\n";
      env.POSTIE_PASSWORD_FILE = "secret";
    }
    const result = await postie(["-P", "r@example.org"], { env, files });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(setting(result.stdout, "password"), "*");
    assert.ok(!result.stdout.includes(SECRET) && !result.stderr.includes(SECRET), form);
    assert.ok(!result.stdout.includes("pa55"), form);
  }
});

Deno.test("a POSTIE_PASSWORD_FILE secret authenticates, and -d shows it masked", async () => {
  const server = await startFaultServer({ capabilities: ["AUTH PLAIN"] });
  try {
    const result = await postie(["-d", "r@example.org"], {
      env: {
        POSTIE_HOST: "127.0.0.1",
        POSTIE_PORT: String(server.port),
        POSTIE_AUTH: "plain",
        POSTIE_USER: "ci",
        POSTIE_PASSWORD_FILE: "secret",
        POSTIE_FROM: "ci@example.org",
      },
      files: { secret: SECRET + "\r\n" },
    });
    assert.equal(result.code, 0, result.stderr);
    const auth = server.sessions[0].lines.find((l) => l.startsWith("AUTH "));
    const credentials = new TextEncoder().encode(`\0ci\0${SECRET}`);
    assert.equal(auth, `AUTH PLAIN ${btoa(String.fromCharCode(...credentials))}`);
    assert.ok(!result.stdout.includes(SECRET), "the -d transcript shows no secret");
    assert.ok(!result.stdout.includes(auth!.slice(11)), "nor its base64 form");
    assert.match(result.stdout, /AUTH PLAIN \*\*\*/);
  } finally {
    await server.close();
  }
});

Deno.test("a bad POSTIE_* value names the variable and exits 78", async () => {
  const port = await postie(["r@example.org"], {
    env: { POSTIE_HOST: "smtp.example.org", POSTIE_PORT: "x" },
  });
  assert.equal(port.code, 78);
  assert.equal(port.stderr, 'postie: POSTIE_PORT: invalid port "x"\n');

  const tls = await postie(["-P", "r@example.org"], {
    env: { POSTIE_HOST: "smtp.example.org", POSTIE_TLS: "maybe" },
  });
  assert.equal(tls.code, 78);
  assert.match(tls.stderr, /^postie: POSTIE_TLS: invalid tls "maybe"\n$/);

  const both = await postie(["r@example.org"], {
    env: { POSTIE_HOST: "h", POSTIE_PASSWORD: SECRET, POSTIE_PASSWORD_FILE: "/run/secrets/x" },
  });
  assert.equal(both.code, 78);
  assert.equal(
    both.stderr,
    "postie: POSTIE_PASSWORD and POSTIE_PASSWORD_FILE are both set; keep one\n",
  );

  const missing = await postie(["r@example.org"], {
    env: { POSTIE_HOST: "h", POSTIE_PASSWORD_FILE: "/nonexistent/secret" },
  });
  assert.equal(missing.code, 78);
  assert.equal(
    missing.stderr,
    "postie: POSTIE_PASSWORD_FILE: cannot read /nonexistent/secret: No such file or directory\n",
  );
});

Deno.test({
  name: "a secret file another user cannot read is refused with the variable's name",
  ignore: !IS_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "postie_envcfg_" });
    try {
      await Deno.writeTextFile(`${dir}/secret`, SECRET, { mode: 0o600 });
      const home = await nobodyHome(dir);
      const result = await run(
        "setpriv",
        [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", POSTIE, "r@example.org"],
        {
          env: {
            HOME: home,
            DENO_DIR: `${home}/.deno`,
            POSTIE_HOST: "h",
            POSTIE_PASSWORD_FILE: `${dir}/secret`,
          },
          stdin: "Subject: t\n\nb\n",
        },
      );
      assert.equal(result.code, 78, result.stderr);
      assert.equal(
        result.stderr,
        `postie: POSTIE_PASSWORD_FILE: cannot read ${dir}/secret: Permission denied\n`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
