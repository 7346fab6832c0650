import assert from "node:assert/strict";
import { moduleGraph } from "../../support/module_graph.ts";

Deno.test("direct and local delivery are not loaded on the plain send path", async () => {
  const graph = (await moduleGraph()).staticallyReached;
  assert.ok([...graph].some((s) => s.endsWith("/lib/cli/send.ts")), "the walk reaches send.ts");
  const eager = [...graph].filter((s) =>
    /\/lib\/(direct|local)\//.test(s) || s.endsWith("/lib/cli/direct.ts") || s === "node:dgram"
  );
  assert.deepEqual(eager, []);
});
