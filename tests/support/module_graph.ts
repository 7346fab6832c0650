/**
 * The module graph that start-up pays for: `deno info --json` of an entry point, and the
 * modules reached from it through static imports only (an `import()` is a lazy path, loaded
 * when its own mode runs). Tests use it to keep the plain send path lean.
 */

/** A module as `deno info --json` lists it. */
export interface GraphModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** Every module of the graph, and those that start-up evaluates. */
export interface ModuleGraph {
  /** Every module `deno info` found, static or dynamic, by specifier. */
  modules: Map<string, GraphModule>;
  /** The specifiers reached from the entry through static imports alone. */
  staticallyReached: Set<string>;
}

const ROOT = new URL("../../", import.meta.url);

/** The graph of `entry` (a path relative to the repository; main.ts by default). */
export async function moduleGraph(entry = "main.ts"): Promise<ModuleGraph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const staticallyReached = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (staticallyReached.has(specifier)) continue;
    staticallyReached.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic) stack.push(dep.code?.specifier ?? dep.specifier);
    }
  }
  return { modules, staticallyReached };
}
