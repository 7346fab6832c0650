/** `--configure` with addresses msmtp refuses before any DNS lookup, compared byte for byte. */

import assert from "node:assert/strict";
import { haveMsmtp, runMsmtp, runPostie } from "../support/differential.ts";

Deno.test({
  name: "--configure refuses an address without local part or domain as msmtp does",
  ignore: !haveMsmtp(),
  async fn(t) {
    for (const address of ["joe", "@example.org", "joe@", ""]) {
      await t.step(`--configure=${address}`, async () => {
        const args = [`--configure=${address}`];
        const [m, p] = await Promise.all([runMsmtp(args), runPostie(args)]);
        assert.deepEqual(p, m);
        assert.equal(p.code, 65);
      });
    }
  },
});
