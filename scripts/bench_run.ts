/**
 * The interleaved runner of `scripts/bench.sh`: runs the cases of each group in turns (one
 * run of every case, then the next round, the order rotated each round), so the load of a
 * shared machine falls on all of them alike and ratios within a group compare like with like.
 *
 * Usage: deno run --allow-run --allow-read --allow-write scripts/bench_run.ts PLAN.tsv >>OUT.tsv
 *
 * PLAN.tsv: one case a line, `GROUP <TAB> ROUNDS <TAB> ID <TAB> STDIN <TAB> PROGRAM <TAB> ARG…`;
 * the cases of one GROUP run interleaved (after one warm-up run each when ROUNDS > 1), groups
 * one after the other. Each run is `bash -c '/usr/bin/time -f %M PROGRAM ARG… <STDIN; times'`: the wall time
 * is measured here (spawn to exit), the peak RSS (KB) by GNU time, the CPU time (user + system,
 * of the command and its children, to the millisecond) by bash's `times`. The wrapper's own
 * cost is measured as the case `overhead` (`true` run the same way) that bench_report.ts
 * subtracts. Prints one row per case: `ID <TAB> seconds,… <TAB> KB,… <TAB> CPU seconds,…`.
 *
 * @module
 */

interface Case {
  id: string;
  argv: string[];
  stdin: string;
}

interface Group {
  name: string;
  rounds: number;
  cases: Case[];
}

function readPlan(path: string): Group[] {
  const groups: Group[] = [];
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    if (line.trim() === "") continue;
    const [name, rounds, id, stdin, ...argv] = line.split("\t");
    let group = groups.at(-1);
    if (group?.name !== name) groups.push(group = { name, rounds: Number(rounds), cases: [] });
    group.cases.push({ id, stdin, argv });
  }
  return groups;
}

const WRAP = 'out=$1; in=$2; shift 2; /usr/bin/time -f %M -o "$out" "$@" <"$in"; ' +
  'status=$?; times >>"$out"; exit $status';

/** bash's `times` line for the children: `0m1.234s 0m0.567s` (user, system). */
function cpuSeconds(line: string): number {
  return line.trim().split(/\s+/).map((field) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(field);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  }).reduce((a, b) => a + b, 0);
}

async function once(
  c: Case,
  scratch: string,
): Promise<{ seconds: number; kb: number; cpu: number }> {
  const out = `${scratch}/time.out`;
  const start = performance.now();
  const status = await new Deno.Command("bash", {
    args: ["-c", WRAP, "sh", out, c.stdin, ...c.argv],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!status.success) {
    const err = new TextDecoder().decode(status.stderr);
    throw new Error(`${c.id}: exit ${status.code}: ${err.slice(0, 500)}`);
  }
  // GNU time's line, then `times`: the shell's own line and its children's
  const lines = Deno.readTextFileSync(out).trim().split("\n");
  return { seconds, kb: Number(lines[lines.length - 3]), cpu: cpuSeconds(lines[lines.length - 1]) };
}

const plan = readPlan(Deno.args[0]);
const scratch = Deno.makeTempDirSync({ prefix: "postie-bench-run-" });
try {
  for (const group of plan) {
    console.error(`== ${group.name}: ${group.cases.map((c) => c.id).join(", ")}`);
    const times = new Map<string, number[]>(group.cases.map((c) => [c.id, []]));
    const rss = new Map<string, number[]>(group.cases.map((c) => [c.id, []]));
    const cpu = new Map<string, number[]>(group.cases.map((c) => [c.id, []]));
    // a warm-up run each (caches, sockets), except for groups measured once (long loops)
    if (group.rounds > 1) { for (const c of group.cases) await once(c, scratch); }
    for (let round = 0; round < group.rounds; round++) {
      const order = group.cases.map((_, i) => group.cases[(i + round) % group.cases.length]);
      for (const c of order) {
        const run = await once(c, scratch);
        times.get(c.id)!.push(run.seconds);
        rss.get(c.id)!.push(run.kb);
        cpu.get(c.id)!.push(run.cpu);
      }
    }
    for (const c of group.cases) {
      const row = [times, rss, cpu].map((m) => m.get(c.id)!.join(","));
      console.log(`${c.id}\t${row.join("\t")}`);
    }
  }
} finally {
  Deno.removeSync(scratch, { recursive: true });
}
