/**
 * `-q<interval>`: the queue runner as a daemon. The queue is run at start, every interval,
 * when a deferred mail's back-off ends, and when a new mail appears in the queue directory
 * (lib/queue/scheduler.ts). SIGTERM or SIGINT stop it after the mail in progress: a mail
 * leaves the queue only after the server's final 250.
 *
 * @module
 */

import type { Deliverer, Selection } from "../queue/runner.ts";
import type { Spool } from "../queue/spool.ts";
import type { QueueIo } from "./queue_io.ts";

/** What the daemon needs besides the queue. */
export interface DaemonOptions {
  select: Selection;
  log: (line: string) => void;
  io: QueueIo;
  /** Stops the daemon (tests); SIGTERM and SIGINT do too. */
  signal?: AbortSignal;
}

/** Runs until SIGTERM/SIGINT (or `signal`); resolves after a clean stop. */
export async function runDaemon(
  spool: Spool,
  /** Makes the deliverer of one run, so each run reads the configuration afresh. */
  deliverer: () => Deliverer,
  intervalSeconds: number,
  options: DaemonOptions,
): Promise<void> {
  await spool.ensure();
  const { startScheduler } = await import("../queue/scheduler.ts");
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => stop = resolve);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop);
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  options.log(`queue daemon started on ${spool.dir}, every ${intervalSeconds} s`);
  const scheduler = startScheduler(spool, {
    deliverer,
    intervalMs: intervalSeconds * 1000,
    select: options.select,
    log: options.log,
  });
  try {
    await stopped;
  } finally {
    await scheduler.stop();
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
    options.signal?.removeEventListener("abort", stop);
    options.log("queue daemon stopped");
  }
}
