/**
 * The relay's counters and their Prometheus text exposition (format 0.0.4), served with
 * `/healthz` on the optional `metrics_listen` address. No label ever holds an address,
 * a user name or any other value a client chose.
 *
 * @module
 */

/** Why a mail or command was refused, as a fixed label value. */
export type RefusalReason =
  | "relay_denied"
  | "sender_denied"
  | "recipient_denied"
  | "too_many_recipients"
  | "rate_limited"
  | "too_big"
  | "bare_newline"
  | "queue_trouble"
  | "rejected"
  | "auth_failed";

/** Counters of a running relay. */
export class RelayMetrics {
  /** Mails accepted (250 after DATA). */
  accepted = 0;
  /** Refusals by reason. */
  readonly refused: Map<RefusalReason, number> = new Map();
  /** Mails the upstream accepted. */
  delivered = 0;
  /** Delivery attempts that failed temporarily. */
  deferred = 0;
  /** Mails that failed permanently. */
  bounced = 0;
  /** Failed delivery attempts, temporary or permanent. */
  upstreamErrors = 0;
  /** Connections open now. */
  connections = 0;

  /** Counts one refusal. */
  refuse(reason: RefusalReason): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  /**
   * The Prometheus text, with the queue gauges given by the caller.
   *
   * @example Usage
   * ```ts
   * import { RelayMetrics } from "./metrics.ts";
   * const m = new RelayMetrics();
   * m.accepted++;
   * console.log(m.render({ depth: 0, oldestAgeSeconds: 0 }).includes("postie_relay_accepted_total 1"));
   * // true
   * ```
   */
  render(queue: { depth: number; oldestAgeSeconds: number }): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    };
    metric("postie_relay_accepted_total", "counter", "Mails accepted into the queue.", [
      `postie_relay_accepted_total ${this.accepted}`,
    ]);
    const refused = [...this.refused.entries()].sort(([a], [b]) => a < b ? -1 : 1);
    metric(
      "postie_relay_refused_total",
      "counter",
      "Mails or commands refused, by reason.",
      refused.length === 0
        ? ["postie_relay_refused_total 0"]
        : refused.map(([r, n]) => `postie_relay_refused_total{reason="${r}"} ${n}`),
    );
    metric("postie_relay_delivered_total", "counter", "Mails the upstream accepted.", [
      `postie_relay_delivered_total ${this.delivered}`,
    ]);
    metric("postie_relay_deferred_total", "counter", "Delivery attempts that failed temporarily.", [
      `postie_relay_deferred_total ${this.deferred}`,
    ]);
    metric("postie_relay_bounced_total", "counter", "Mails that failed permanently.", [
      `postie_relay_bounced_total ${this.bounced}`,
    ]);
    metric("postie_relay_upstream_errors_total", "counter", "Failed delivery attempts.", [
      `postie_relay_upstream_errors_total ${this.upstreamErrors}`,
    ]);
    metric("postie_relay_connections", "gauge", "SMTP connections open now.", [
      `postie_relay_connections ${this.connections}`,
    ]);
    metric("postie_relay_queue_depth", "gauge", "Mails waiting in the queue.", [
      `postie_relay_queue_depth ${queue.depth}`,
    ]);
    metric(
      "postie_relay_queue_oldest_age_seconds",
      "gauge",
      "Age of the oldest mail in the queue.",
      [`postie_relay_queue_oldest_age_seconds ${queue.oldestAgeSeconds.toFixed(3)}`],
    );
    return out.join("\n") + "\n";
  }
}

/** A running metrics listener. */
export interface MetricsServer {
  /** The port it listens on. */
  port: number;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Serves `/metrics` (Prometheus text) and `/healthz` (`ok` with 200 while `healthy`
 * resolves true, else 503) on one address.
 */
export function serveMetrics(
  hostname: string,
  port: number,
  metrics: RelayMetrics,
  queue: () => Promise<{ depth: number; oldestAgeSeconds: number }>,
  healthy: () => Promise<boolean>,
): MetricsServer {
  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (path === "/metrics") {
      return new Response(metrics.render(await queue()), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/healthz") {
      const ok = await healthy();
      return new Response(ok ? "ok\n" : "queue not writable\n", { status: ok ? 200 : 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
  return {
    port: server.addr.port,
    close: () => server.shutdown(),
  };
}
