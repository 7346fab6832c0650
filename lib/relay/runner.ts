/**
 * The queue runner inside `-bd`: sends each spooled mail upstream through an injected
 * delivery function, oldest first, one at a time. A mail leaves the spool only after the
 * upstream's final 250; a temporary failure waits and is retried with a growing delay; a
 * permanent one moves the mail to `failed/`.
 *
 * @module
 */

import type { Spool, SpoolEntry } from "./spool.ts";

/** How one delivery attempt ended. */
export type DeliveryResult =
  | { kind: "sent" }
  | { kind: "temporary"; reason: string }
  | { kind: "permanent"; reason: string };

/** Sends one mail upstream; never throws for a delivery failure. */
export type Deliver = (
  entry: SpoolEntry,
  message: ReadableStream<Uint8Array>,
) => Promise<DeliveryResult>;

/** Options of {@linkcode startRunner}. */
export interface RunnerOptions {
  spool: Spool;
  deliver: Deliver;
  /** First retry delay in ms (doubled per attempt, at most `maxRetryMs`). Default 60000. */
  retryMs?: number;
  /** Longest retry delay in ms. Default 3600000. */
  maxRetryMs?: number;
  /** How often the spool is scanned when nothing wakes the runner, in ms. Default 30000. */
  scanMs?: number;
  /** Told of every attempt's outcome. */
  onResult?: (entry: SpoolEntry, result: DeliveryResult) => void;
}

/** A running queue runner. */
export interface Runner {
  /** Looks at the spool now (after a new mail was accepted). */
  wake(): void;
  /** Stops after the delivery in progress, if any. */
  stop(): Promise<void>;
}

/**
 * Starts the runner.
 *
 * @example Usage
 * ```ts ignore
 * const runner = startRunner({ spool, deliver: async () => ({ kind: "sent" }) });
 * runner.wake();
 * await runner.stop();
 * ```
 */
export function startRunner(options: RunnerOptions): Runner {
  const retryMs = options.retryMs ?? 60_000;
  const maxRetryMs = options.maxRetryMs ?? 3_600_000;
  const scanMs = options.scanMs ?? 30_000;
  const waiting = new Map<string, { attempts: number; next: number }>();
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const pass = async (): Promise<number> => {
    const now = Date.now();
    let soonest = now + scanMs;
    const entries = await options.spool.list();
    const present = new Set(entries.map((e) => e.id));
    for (const id of waiting.keys()) if (!present.has(id)) waiting.delete(id);
    for (const entry of entries) {
      if (stopped) break;
      const state = waiting.get(entry.id);
      if (state && state.next > Date.now()) {
        soonest = Math.min(soonest, state.next);
        continue;
      }
      let result: DeliveryResult;
      try {
        result = await options.deliver(entry, await options.spool.open(entry.id));
      } catch (error) {
        result = {
          kind: "temporary",
          reason: error instanceof Error ? error.message : String(error),
        };
      }
      options.onResult?.(entry, result);
      if (result.kind === "sent") {
        waiting.delete(entry.id);
        await options.spool.remove(entry.id);
      } else if (result.kind === "permanent") {
        waiting.delete(entry.id);
        await options.spool.fail(entry.id, result.reason);
      } else {
        const attempts = (state?.attempts ?? 0) + 1;
        const next = Date.now() + Math.min(maxRetryMs, retryMs * 2 ** (attempts - 1));
        waiting.set(entry.id, { attempts, next });
        soonest = Math.min(soonest, next);
      }
    }
    return Math.max(0, soonest - Date.now());
  };

  const loop = (async () => {
    while (!stopped) {
      woken = false;
      let wait = scanMs;
      try {
        wait = await pass();
      } catch {
        // a spool that cannot be read now is looked at again later
      }
      if (stopped) break;
      if (!woken) await sleep(wait);
    }
  })();

  return {
    wake(): void {
      woken = true;
      wakeUp?.();
    },
    async stop(): Promise<void> {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}
