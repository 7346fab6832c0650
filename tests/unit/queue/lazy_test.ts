/**
 * The queue costs nothing to plain sending: no module of it is in the static import graph
 * of main.ts (it is reached only through `import()`), and the queue library never imports
 * the command line.
 */

import assert from "node:assert/strict";
import { moduleGraph } from "../../support/module_graph.ts";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

Deno.test("main.ts reaches the queue only through import(), so plain sending never loads it", async () => {
  const { modules, staticallyReached } = await moduleGraph();
  const loaded = [...staticallyReached];
  const queue = loaded.filter((m) =>
    m.includes("/lib/queue/") ||
    /\/lib\/cli\/(queue|queue_deliverer|queue_daemon|msmtpq)\.ts$/.test(m)
  );
  assert.deepEqual(queue, []);
  // and the queue is reachable at all (the check above is not vacuous)
  assert.ok([...modules.keys()].some((m) => m.endsWith("/lib/queue/runner.ts")));
});

Deno.test("the queue library imports nothing from lib/cli", async () => {
  for await (const entry of Deno.readDir(`${ROOT}lib/queue`)) {
    const { modules } = await moduleGraph(`lib/queue/${entry.name}`);
    const cli = [...modules.keys()].filter((m) => m.includes("/lib/cli/"));
    assert.deepEqual(cli, [], entry.name);
  }
});
