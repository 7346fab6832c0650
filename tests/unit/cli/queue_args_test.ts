import assert from "node:assert/strict";
import { parseArgs } from "../../../lib/cli/args.ts";
import { UsageError } from "../../../lib/errors.ts";

Deno.test("-q runs the queue once; -q5m as a daemon; -qI, -qR, -qS select", () => {
  assert.equal(parseArgs(["-q"]).mode, "queue-run");
  assert.equal(parseArgs(["-q"]).queue.interval, undefined);
  assert.equal(parseArgs(["-q5m"]).queue.interval, 300);
  assert.equal(parseArgs(["-q1h"]).queue.interval, 3600);
  const inv = parseArgs(["-qIabc", "-qRbob@", "-qSalice"]);
  assert.deepEqual(inv.queue.select, { id: "abc", recipient: "bob@", sender: "alice" });
  assert.equal(inv.mode, "queue-run");
});

Deno.test("-bp lists the queue, with --json as JSON; --queue-delete takes an id", () => {
  assert.equal(parseArgs(["-bp"]).mode, "queue-list");
  assert.equal(parseArgs(["-bp", "--json"]).queue.json, true);
  const del = parseArgs(["--queue-delete=20261202T080000-0badc0de"]);
  assert.equal(del.mode, "queue-delete");
  assert.equal(del.queue.deleteId, "20261202T080000-0badc0de");
});

Deno.test("bad queue options are usage errors", () => {
  const refuses = (argv: string[], message: string) =>
    assert.throws(
      () => parseArgs(argv),
      (e: unknown) => e instanceof UsageError && e.message === message,
    );
  refuses(["-qsoon"], "invalid argument soon for -q");
  refuses(["-q", "-bp"], "use only one of -q, -bp and --queue-delete");
  refuses(["-q", "rcpt@example.org"], "too many arguments");
  refuses(["-bp", "x"], "too many arguments");
});
