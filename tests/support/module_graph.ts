/**
 * The module graph that start-up pays for: `deno info --json` of entry points, and the
 * modules reached from them through static imports only (an `import()` is a lazy path, loaded
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

/**
 * What a plain send evaluates: main.ts's static graph (what every start pays, `--version`
 * included) and that of lib/cli/sendmail.ts, the one `import()` run.ts makes for sendmail mode.
 */
export const SEND_PATH: readonly string[] = ["main.ts", "lib/cli/sendmail.ts"];

/** The graph of `entries` (paths relative to the repository; the plain send path by default). */
export async function moduleGraph(
  entries: string | readonly string[] = SEND_PATH,
): Promise<ModuleGraph> {
  const modules = new Map<string, GraphModule>();
  const roots: string[] = [];
  for (const entry of typeof entries === "string" ? [entries] : entries) {
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
    for (const m of info.modules) modules.set(m.specifier, m);
    roots.push(...info.roots);
  }
  const staticallyReached = new Set<string>();
  const stack = [...roots];
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
