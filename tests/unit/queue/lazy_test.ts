/**
 * The queue costs nothing to plain sending: no module of it is in the static import graph
 * of main.ts (it is reached only through `import()`), and the queue library never imports
 * the command line.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

async function graph(entry: string): Promise<Map<string, Dependency[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return new Map(
    info.modules.map((m: { specifier: string; dependencies?: Dependency[] }) => [
      m.specifier,
      m.dependencies ?? [],
    ]),
  );
}

function staticClosure(modules: Map<string, Dependency[]>, from: string): Set<string> {
  const seen = new Set<string>([from]);
  const todo = [from];
  while (todo.length > 0) {
    for (const dep of modules.get(todo.pop()!) ?? []) {
      const target = dep.code?.specifier;
      if (target === undefined || dep.isDynamic || seen.has(target)) continue;
      seen.add(target);
      todo.push(target);
    }
  }
  return seen;
}

Deno.test("main.ts reaches the queue only through import(), so plain sending never loads it", async () => {
  const main = new URL("main.ts", `file://${ROOT}`).href;
  const modules = await graph("main.ts");
  const loaded = [...staticClosure(modules, main)];
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
    const modules = await graph(`lib/queue/${entry.name}`);
    const cli = [...modules.keys()].filter((m) => m.includes("/lib/cli/"));
    assert.deepEqual(cli, [], entry.name);
  }
});
