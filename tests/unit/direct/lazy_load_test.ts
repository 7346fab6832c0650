import assert from "node:assert/strict";

/** Every module main.ts reaches through static imports (dynamic import() is the lazy path). */
async function staticGraph(): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../../../main.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const spec = stack.pop() as string;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const dep of bySpecifier.get(spec)?.dependencies ?? []) {
      if (!dep.isDynamic) stack.push(dep.code?.specifier ?? dep.specifier);
    }
  }
  return seen;
}

Deno.test("direct and local delivery are not loaded on the plain send path", async () => {
  const graph = await staticGraph();
  assert.ok([...graph].some((s) => s.endsWith("/lib/cli/send.ts")), "the walk reaches send.ts");
  const eager = [...graph].filter((s) =>
    /\/lib\/(direct|local)\//.test(s) || s.endsWith("/lib/cli/direct.ts") || s === "node:dgram"
  );
  assert.deepEqual(eager, []);
});
