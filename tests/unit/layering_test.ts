import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The import graph of lib/: every static import and export-from at the start of a line
 * (deno fmt puts them there; JSDoc examples start with ` * ` and are not code) and every
 * dynamic `import("literal")` outside a comment line. Type-only imports count: a cycle of
 * types is still two modules that cannot be understood apart.
 */
const LIB = normalize(join(dirname(fileURLToPath(import.meta.url)), "../../lib"));

const STATIC = /^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^import\s+"([^"]+)"/gm;
const DYNAMIC = /(?<![\w.$])import\(\s*"([^"]+)"\s*\)/g;

async function libFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await libFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** The lib/ files a module imports, as paths relative to lib/. */
export function importsOf(source: string, file: string): string[] {
  const specifiers: string[] = [];
  for (const m of source.matchAll(STATIC)) specifiers.push(m[1] ?? m[2]);
  for (const line of source.split("\n")) {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) continue;
    for (const m of line.matchAll(DYNAMIC)) specifiers.push(m[1]);
  }
  return specifiers
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) => relative(LIB, normalize(join(dirname(file), s))));
}

async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await libFiles(LIB)) {
    graph.set(relative(LIB, file), importsOf(await Deno.readTextFile(file), file));
  }
  return graph;
}

/** Strongly connected components with more than one module, or a module importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("the import scanner sees static, multi-line, type and dynamic imports but not examples", () => {
  const file = join(LIB, "config", "x.ts");
  const source = [
    "/**",
    " * ```ts",
    ' * import { y } from "../cli/y.ts";',
    " * ```",
    " */",
    'import { a } from "./a.ts";',
    "import {",
    "  b,",
    "  type C,",
    '} from "../smtp/b.ts";',
    'import type { D } from "../d.ts";',
    'export { e } from "./e.ts";',
    'import "../side.ts";',
    'import { parse } from "npm:smol-toml@1";',
    'const m = await import("../cli/m.ts");',
    '// await import("../cli/commented.ts");',
  ].join("\n");
  assert.deepEqual(importsOf(source, file).sort(), [
    "cli/m.ts",
    "config/a.ts",
    "config/e.ts",
    "d.ts",
    "side.ts",
    "smtp/b.ts",
  ]);
});

Deno.test("the cycle finder reports a cycle and nothing else", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", ["a.ts"]],
  ]);
  assert.deepEqual(cycles(graph), [["a.ts", "b.ts", "c.ts"]]);
  assert.deepEqual(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
});

Deno.test("nothing outside lib/cli imports from lib/cli", async () => {
  const offenders: string[] = [];
  for (const [module, imports] of await importGraph()) {
    if (module.startsWith("cli/")) continue;
    for (const target of imports) {
      if (target.startsWith("cli/")) offenders.push(`lib/${module} imports lib/${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("lib/ has no import cycle between modules", async () => {
  const found = (cycles(await importGraph())).map((c) => c.map((m) => `lib/${m}`).join(" <-> "));
  assert.deepEqual(found, []);
});

/** A module's part: its directory under lib/ (smtp/auth belongs to smtp), or itself at the top. */
function partOf(module: string): string {
  const slash = module.indexOf("/");
  return slash === -1 ? module : module.slice(0, slash);
}

Deno.test("lib's directories import each other one way only (config and secrets included)", async () => {
  const parts = new Map<string, Set<string>>();
  for (const [module, imports] of await importGraph()) {
    const from = partOf(module);
    const targets = parts.get(from) ?? new Set<string>();
    for (const target of imports) if (partOf(target) !== from) targets.add(partOf(target));
    parts.set(from, targets);
  }
  const graph = new Map([...parts].map(([part, targets]) => [part, [...targets]]));
  assert.deepEqual(cycles(graph), []);
});

Deno.test("plain sendmail mode loads no npm package and no node: module before it needs one", async () => {
  const main = join(LIB, "..", "main.ts");
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: {
        isDynamic?: boolean;
        code?: { specifier?: string };
        type?: { specifier?: string };
      }[];
    }[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic) continue;
      for (const target of [dep.code?.specifier, dep.type?.specifier]) {
        if (target !== undefined) stack.push(target);
      }
    }
  }
  assert.ok(seen.size > 10, `only ${seen.size} modules found`);
  assert.deepEqual([...seen].filter((s) => !s.startsWith("file:")), []);
});
