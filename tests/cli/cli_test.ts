/**
 * The installed program (see POSTIE): what a user or a calling program sees.
 */

import assert from "node:assert/strict";
import { POSTIE, run, runPostie } from "../support/differential.ts";

Deno.test("--version names postie and the config files it reads", async () => {
  const home = await Deno.makeTempDir({ prefix: "postie-home-" });
  try {
    const result = await runPostie(["--version"], { env: { HOME: home } });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^postie version \d+\.\d+\.\d+\n/);
    assert.match(result.stdout, /^System configuration file name: \/etc\/msmtprc$/m);
    assert.match(
      result.stdout,
      new RegExp(`^User configuration file name: ${home}/\\.msmtprc$`, "m"),
    );
    assert.equal(result.stderr, "");
    await Deno.mkdir(`${home}/.config/msmtp`, { recursive: true });
    await Deno.writeTextFile(`${home}/.config/msmtp/config`, "");
    const xdg = await runPostie(["--version"], { env: { HOME: home } });
    assert.match(
      xdg.stdout,
      new RegExp(`^User configuration file name: ${home}/\\.config/msmtp/config$`, "m"),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--help prints the usage on stdout and ends with 0", async () => {
  const result = await runPostie(["--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage:\n/);
  assert.match(result.stdout, /^ {2}postie \[option\.\.\.\] \[--\] recipient\.\.\.$/m);
  assert.match(result.stdout, /--convert-to-toml/);
  assert.equal(result.stderr, "");
});

Deno.test("a usage error goes to stderr with exit code 64", async () => {
  const result = await runPostie(["--bogus"]);
  assert.equal(result.code, 64);
  assert.equal(result.stderr, "postie: unrecognized option '--bogus'\n");
  assert.equal(result.stdout, "");
});

Deno.test("invoked through a symlink named sendmail, messages start with sendmail:", async () => {
  const dir = await Deno.makeTempDir({ prefix: "postie-link-" });
  try {
    await Deno.symlink(POSTIE, `${dir}/sendmail`);
    const usage = await run(`${dir}/sendmail`, ["-bx"]);
    assert.equal(usage.code, 64);
    assert.equal(usage.stderr, "sendmail: unsupported operation mode bx\n");
    const none = await run(`${dir}/sendmail`, ["-oi"]);
    assert.equal(none.stderr, "sendmail: no recipients found\n");
    const help = await run(`${dir}/sendmail`, ["--help"]);
    assert.match(help.stdout, /^ {2}sendmail \[option\.\.\.\] -t \[--\] \[recipient\.\.\.\]$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
