/**
 * A host that does not exist. The answer depends on this machine's resolver: a definite
 * "not found" (68, as msmtp) or, when the name server does not answer in time, a temporary
 * failure, which postie reports as 75 so callers retry (msmtp 1.8.24 does the same; 1.8.23
 * said 68). Comparing with msmtp byte for byte would test the resolver, not postie.
 */

import assert from "node:assert/strict";
import { runPostie } from "../support/differential.ts";

Deno.test("an unknown host fails before anything is sent, with msmtp's words and code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rc = `${dir}/rc`;
    await Deno.writeTextFile(
      rc,
      `account default\nhost nonexistent.invalid\nfrom a@example.com\nlogfile ${dir}/log\n`,
    );
    await Deno.chmod(rc, 0o600);
    const result = await runPostie(["-C", rc, "rcpt@example.org"], {
      stdin: "Subject: x\n\nbody\n",
      env: { HOME: dir },
    });
    const notFound = "Name or service not known";
    const temporary = "Temporary failure in name resolution";
    const reason = result.code === 68 ? notFound : temporary;
    assert.ok(result.code === 68 || result.code === 75, `exit code ${result.code}`);
    assert.equal(
      result.stderr,
      `postie: cannot locate host nonexistent.invalid: ${reason}\n` +
        `postie: could not send mail (account default from ${rc})\n`,
    );
    const log = await Deno.readTextFile(`${dir}/log`);
    assert.match(
      log,
      new RegExp(
        `errormsg='cannot locate host nonexistent\\.invalid: ${reason}' exitcode=EX_(NOHOST|TEMPFAIL)\\n$`,
      ),
    );
    assert.doesNotMatch(log, /mailsize=/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
