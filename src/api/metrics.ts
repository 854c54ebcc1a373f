/**
 * The agent's Prometheus metrics (prom-client: the maintained Prometheus client for Node).
 * Served at `GET /v1/agent/metrics?format=prometheus`; without `format`, Consul answers with its
 * own JSON summary, which we approximate with gauges and counters as `{Gauges, Counters, ...}`.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "code">;
  readonly requestSeconds: Histogram<"route">;
  readonly blockingQueries: Gauge;
  readonly blockingWoken: Gauge;

  constructor(blocking: { parked(): number; woken(): number }) {
    collectDefaultMetrics({ register: this.registry, prefix: "augur_" });
    this.requests = new Counter({
      name: "augur_http_requests_total",
      help: "HTTP API requests by method, route prefix and status code.",
      labelNames: ["method", "route", "code"],
      registers: [this.registry],
    });
    this.requestSeconds = new Histogram({
      name: "augur_http_request_duration_seconds",
      help: "HTTP API request duration by route prefix (blocking queries excluded).",
      labelNames: ["route"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    this.blockingQueries = new Gauge({
      name: "augur_http_blocking_queries",
      help: "Blocking queries parked right now.",
      registers: [this.registry],
      collect() {
        this.set(blocking.parked());
      },
    });
    this.blockingWoken = new Gauge({
      name: "augur_http_blocking_queries_woken",
      help: "Blocking queries woken by a change to their own scope since start (cumulative).",
      registers: [this.registry],
      collect() {
        this.set(blocking.woken());
      },
    });
  }
}
