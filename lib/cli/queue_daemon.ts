/**
 * `-q<interval>`: the queue runner as a daemon. It runs the queue (mails whose back-off is
 * over), then sleeps until the interval ends or a new mail appears in the queue directory
 * (watched), whichever is first. SIGTERM or SIGINT stop it after the mail in progress: a
 * mail leaves the queue only after the server's final 250.
 *
 * @module
 */

import { type Deliverer, flushQueue, type Selection } from "../queue/runner.ts";
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
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  options.signal?.addEventListener("abort", stop);
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const watcher = Deno.watchFs(spool.mailDir, { recursive: false });
  let arrived = false;
  let wake: (() => void) | undefined;
  const watching = (async () => {
    try {
      for await (const event of watcher) {
        if (event.kind === "create" || event.kind === "modify" || event.kind === "rename") {
          arrived = true;
          wake?.();
        }
      }
    } catch {
      // closed
    }
  })();
  controller.signal.addEventListener("abort", () => {
    watcher.close();
    wake?.();
  });
  options.log(`queue daemon started on ${spool.dir}, every ${intervalSeconds} s`);
  try {
    while (!controller.signal.aborted) {
      arrived = false;
      try {
        await flushQueue(spool, deliverer(), {
          select: options.select,
          log: options.log,
          signal: controller.signal,
        });
      } catch (error) {
        // a queue that cannot be read now may be readable on the next round
        options.log(`queue run failed: ${error instanceof Error ? error.message : error}`);
      }
      if (controller.signal.aborted || arrived) continue;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalSeconds * 1000);
        if (arrived || controller.signal.aborted) resolve();
      });
      wake = undefined;
      clearTimeout(timer);
      // a burst of mails (a mailing script) settles before the run starts
      if (arrived && !controller.signal.aborted) await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
    options.signal?.removeEventListener("abort", stop);
    try {
      watcher.close();
    } catch {
      // already closed
    }
    await watching;
    options.log("queue daemon stopped");
  }
}
