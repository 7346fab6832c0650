/**
 * The seeded random source of the fuzz tests: mulberry32, small, fast and reproducible.
 * Every fuzz test takes its seed from `POSTIE_FUZZ_SEED` when set, so a reported failure
 * replays exactly.
 */

/** The seed to use: `POSTIE_FUZZ_SEED` when set, else the test's own fixed seed. */
export function fuzzSeed(fallback: number): number {
  const given = Deno.env.get("POSTIE_FUZZ_SEED");
  return (given === undefined ? fallback : Number(given)) >>> 0;
}

/** A deterministic pseudo-random source (mulberry32). */
export class Random {
  #state: number;

  /** A source that always yields the same sequence for the same seed. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One of the items. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
