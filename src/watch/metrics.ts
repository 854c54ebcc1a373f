/**
 * Prometheus metrics of the watch engine (prom-client), per watch and handler, served with the
 * agent's other metrics at `GET /v1/agent/metrics?format=prometheus`.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import type { DeliveryObserver } from "./delivery-worker.js";
import type { OutboxRecord } from "./outbox.js";

type Labels = "watch" | "handler";

/** Current per-handler numbers the gauges read at scrape time. */
export interface WatchGaugeSource {
  /** Pending records per watch/handler. */
  depths(): Iterable<{ watch: string; handler: string; depth: number }>;
}

function reuse<T extends Metric>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class WatchMetrics implements DeliveryObserver {
  readonly registry: Registry;
  readonly events: Counter<"watch">;
  readonly queryErrors: Counter<"watch">;
  readonly deliveries: Counter<Labels>;
  readonly failures: Counter<Labels | "kind">;
  readonly retries: Counter<Labels>;
  readonly deadLetters: Counter<Labels>;
  readonly latency: Histogram<Labels>;
  readonly #dead = new Map<string, number>();
  #source: WatchGaugeSource | undefined;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.events = reuse(
      registry,
      "augur_watch_events_total",
      () =>
        new Counter({
          name: "augur_watch_events_total",
          help: "Events detected (durably recorded in the outbox) per watch.",
          labelNames: ["watch"],
          registers,
        }),
    );
    this.queryErrors = reuse(
      registry,
      "augur_watch_query_errors_total",
      () =>
        new Counter({
          name: "augur_watch_query_errors_total",
          help: "Failed blocking queries per watch (each followed by a backoff).",
          labelNames: ["watch"],
          registers,
        }),
    );
    this.deliveries = reuse(
      registry,
      "augur_watch_deliveries_total",
      () =>
        new Counter({
          name: "augur_watch_deliveries_total",
          help: "Successful deliveries per watch and handler.",
          labelNames: ["watch", "handler"],
          registers,
        }),
    );
    this.failures = reuse(
      registry,
      "augur_watch_delivery_failures_total",
      () =>
        new Counter({
          name: "augur_watch_delivery_failures_total",
          help: "Failed delivery attempts per watch and handler; kind is retryable or permanent.",
          labelNames: ["watch", "handler", "kind"],
          registers,
        }),
    );
    this.retries = reuse(
      registry,
      "augur_watch_delivery_retries_total",
      () =>
        new Counter({
          name: "augur_watch_delivery_retries_total",
          help: "Deliveries scheduled for another attempt.",
          labelNames: ["watch", "handler"],
          registers,
        }),
    );
    this.deadLetters = reuse(
      registry,
      "augur_watch_dead_letters_total",
      () =>
        new Counter({
          name: "augur_watch_dead_letters_total",
          help: "Deliveries moved to the dead letters.",
          labelNames: ["watch", "handler"],
          registers,
        }),
    );
    this.latency = reuse(
      registry,
      "augur_watch_delivery_latency_seconds",
      () =>
        new Histogram({
          name: "augur_watch_delivery_latency_seconds",
          help: "From detection to successful delivery.",
          labelNames: ["watch", "handler"],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
          registers,
        }),
    );
    const self = (): WatchMetrics => this;
    reuse(
      registry,
      "augur_watch_outbox_depth",
      () =>
        new Gauge({
          name: "augur_watch_outbox_depth",
          help: "Records waiting for delivery per watch and handler.",
          labelNames: ["watch", "handler"],
          registers,
          collect() {
            this.reset();
            for (const d of self().#source?.depths() ?? [])
              this.set({ watch: d.watch, handler: d.handler }, d.depth);
          },
        }),
    );
    reuse(
      registry,
      "augur_watch_dead_letters",
      () =>
        new Gauge({
          name: "augur_watch_dead_letters",
          help: "Dead letters kept per watch (until replayed).",
          labelNames: ["watch"],
          registers,
          collect() {
            this.reset();
            for (const [watch, n] of self().#dead) this.set({ watch }, n);
          },
        }),
    );
  }

  /** Where the gauges read from (the manager). */
  attach(source: WatchGaugeSource): void {
    this.#source = source;
  }

  /** Sets the dead-letter counts (from the store at start, after a replay). */
  setDeadCounts(records: readonly OutboxRecord[]): void {
    this.#dead.clear();
    for (const r of records) this.#dead.set(r.watchId, (this.#dead.get(r.watchId) ?? 0) + 1);
  }

  delivered(record: OutboxRecord, latencyMs: number): void {
    const l = { watch: record.watchId, handler: record.handlerKey };
    this.deliveries.inc(l);
    this.latency.observe(l, latencyMs / 1000);
  }

  failed(record: OutboxRecord, permanent: boolean): void {
    this.failures.inc({
      watch: record.watchId,
      handler: record.handlerKey,
      kind: permanent ? "permanent" : "retryable",
    });
  }

  retried(record: OutboxRecord): void {
    this.retries.inc({ watch: record.watchId, handler: record.handlerKey });
  }

  deadLettered(record: OutboxRecord): void {
    this.deadLetters.inc({ watch: record.watchId, handler: record.handlerKey });
    this.#dead.set(record.watchId, (this.#dead.get(record.watchId) ?? 0) + 1);
  }
}
