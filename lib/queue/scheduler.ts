/**
 * When a long-running queue runner runs the queue: at start, right after a mail is queued
 * (a listener calls {@linkcode QueueScheduler.wake}, and the `mail/` directory is watched
 * for mails other processes queue), when the earliest deferred mail's back-off ends, and
 * at least every `intervalMs`. Used by `postie -q5m` and by the relay (`-bd`); each run is
 * {@linkcode flushQueue}, so a mail leaves the queue only after the server's final 250.
 *
 * @module
 */

import { type Deliverer, flushQueue, type FlushReport, type Selection } from "./runner.ts";
import type { Spool } from "./spool.ts";

/** Options of {@linkcode startScheduler}. */
export interface SchedulerOptions {
  /** Makes the deliverer of one run, so each run reads the configuration afresh. */
  deliverer: () => Deliverer;
  /** The longest sleep between runs, in ms. */
  intervalMs: number;
  /** Which mails (`-qR…`). */
  select?: Selection;
  /** Receives the runs' log lines. */
  log?: (line: string) => void;
  /** Told what each run did (metrics). */
  onReport?: (report: FlushReport) => void;
  /** Watch `mail/` for mails queued by other processes (default true). */
  watch?: boolean;
  /** The pause after a wake-up before the run, so a burst of mails settles (default 100 ms). */
  settleMs?: number;
}

/** A running scheduler. */
export interface QueueScheduler {
  /** Runs the queue soon (a mail was just queued). */
  wake(): void;
  /** Stops after the mail in progress, if any; resolves when the last run has ended. */
  stop(): Promise<void>;
}

/**
 * Starts running the queue of `spool` until {@linkcode QueueScheduler.stop}.
 *
 * @example Usage
 * ```ts ignore
 * const scheduler = startScheduler(spool, { deliverer: () => deliverer, intervalMs: 300_000 });
 * scheduler.wake();
 * await scheduler.stop();
 * ```
 */
export function startScheduler(spool: Spool, options: SchedulerOptions): QueueScheduler {
  const log = options.log ?? (() => {});
  const settleMs = options.settleMs ?? 100;
  const controller = new AbortController();
  let woken = false;
  let wakeUp: (() => void) | undefined;
  const wake = (): void => {
    woken = true;
    wakeUp?.();
  };
  controller.signal.addEventListener("abort", () => wakeUp?.());

  let watcher: Deno.FsWatcher | undefined;
  // The first run waits for the watcher: a mail another process queues after that run has
  // listed the queue, and before the watch was set, would wait for the interval.
  let watchSet = (): void => {};
  const watchReady = new Promise<void>((resolve) => watchSet = resolve);
  const watching = (async () => {
    try {
      if (options.watch === false) return;
      await spool.ensure();
      watcher = Deno.watchFs(spool.mailDir, { recursive: false });
      watchSet();
      if (controller.signal.aborted) watcher.close();
      for await (const event of watcher) {
        if (event.kind === "create" || event.kind === "modify" || event.kind === "rename") wake();
      }
    } catch {
      // closed, or no watching here: the interval still runs the queue
    } finally {
      watchSet();
    }
  })();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
      if (woken || controller.signal.aborted) done();
    });

  /** Waits `ms` unless stopped; a wake-up does not cut it short. */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      controller.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  const loop = (async () => {
    await watchReady;
    while (!controller.signal.aborted) {
      woken = false;
      let next: number | undefined;
      try {
        const report = await flushQueue(spool, options.deliverer(), {
          ...(options.select ? { select: options.select } : {}),
          log,
          signal: controller.signal,
        });
        next = report.nextAttempt;
        options.onReport?.(report);
      } catch (error) {
        // a queue that cannot be read now may be readable on the next round
        log(`queue run failed: ${error instanceof Error ? error.message : error}`);
      }
      if (controller.signal.aborted) break;
      const due = next === undefined ? Infinity : Math.max(0, next - Date.now());
      await sleep(Math.min(options.intervalMs, due));
      // a burst of mails (a mailing script, many clients) settles before the run starts
      if (woken && !controller.signal.aborted) await pause(settleMs);
    }
  })();

  return {
    wake,
    async stop(): Promise<void> {
      controller.abort();
      try {
        watcher?.close();
      } catch {
        // already closed
      }
      await loop;
      await watching;
    },
  };
}
