/**
 * The agent's Prometheus metrics (prom-client: the maintained Prometheus client for Node).
 * Served at `GET /v1/agent/metrics?format=prometheus`; without `format`, Consul answers with its
 * own JSON summary, which we approximate with gauges and counters as `{Gauges, Counters, ...}`.
 *
 * @module
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
} from "prom-client";

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const DURATION_NAME = "augur_http_request_duration_seconds";
const DURATION_HELP = "HTTP API request duration by route prefix (blocking queries excluded).";
/** prom-client's typings declare MetricType a numeric enum; at run time it is the text. */
const HISTOGRAM = "histogram" as unknown as MetricType;

/** One route's request durations: a count per bucket (the last one past every bound), sum, count. */
interface RouteDurations {
  readonly buckets: number[];
  sum: number;
  count: number;
}

function recordDuration(d: RouteDurations, seconds: number): void {
  let i = 0;
  while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
  d.buckets[i] = (d.buckets[i] as number) + 1;
  d.sum += seconds;
  d.count++;
}

/** Requests of one method and status on one route since the last scrape. */
interface RequestCount {
  readonly method: string;
  readonly status: number;
  readonly labels: { method: string; route: string; code: string };
  n: number;
}

/** What a route's requests update: found with one lookup by the route's own (hash-cached) string. */
interface RouteStats {
  readonly durations: RouteDurations;
  /** A few entries per route (its methods × statuses), scanned: cheaper than building a key. */
  readonly counts: RequestCount[];
}

/**
 * `augur_http_request_duration_seconds`, recorded on the request path without prom-client's
 * per-call label validation and hashing (which cost several µs per request, a fifth of a KV
 * GET): durations are counted in plain arrays by route and turned into prom-client's values,
 * the same a Histogram exports, only when the registry is read.
 */
class RequestDurations extends Histogram<"route" | "le"> {
  readonly #routes = new Map<string, RouteDurations>();

  /** The counts of one route, made on its first request; the caller keeps it (one map lookup per request). */
  forRoute(route: string): RouteDurations {
    let d = this.#routes.get(route);
    if (!d) {
      d = { buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.#routes.set(route, d);
    }
    return d;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<"route" | "le">>> {
    const values: MetricValueWithName<"route" | "le">[] = [];
    const bucket = `${DURATION_NAME}_bucket`;
    for (const [route, d] of this.#routes) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += d.buckets[i] as number;
        values.push({ labels: { le, route }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { le: "+Inf", route }, value: d.count, metricName: bucket });
      values.push({ labels: { route }, value: d.sum, metricName: `${DURATION_NAME}_sum` });
      values.push({ labels: { route }, value: d.count, metricName: `${DURATION_NAME}_count` });
    }
    return {
      name: DURATION_NAME,
      help: DURATION_HELP,
      type: HISTOGRAM,
      values,
      aggregator: "sum",
      collect: () => undefined,
    };
  }

  /** What the registry reads for its text format (prom-client's Histogram has its own). */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<"route" | "le">>> {
    return this.get();
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields exist. Zeroed, not
    // dropped: ApiMetrics keeps each route's object.
    if (#routes in this)
      for (const d of this.#routes.values()) {
        d.buckets.fill(0);
        d.sum = 0;
        d.count = 0;
      }
  }
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "code">;
  readonly requestSeconds: Histogram<"route" | "le">;
  readonly blockingQueries: Gauge;
  readonly blockingWoken: Gauge;
  /** Per route: its durations and its requests by method and code since the last scrape. */
  readonly #routes = new Map<string, RouteStats>();
  readonly #durations: RequestDurations;

  constructor(blocking: { parked(): number; woken(): number }) {
    collectDefaultMetrics({ register: this.registry, prefix: "augur_" });
    const routes = this.#routes;
    this.requests = new Counter({
      name: "augur_http_requests_total",
      help: "HTTP API requests by method, route prefix and status code.",
      labelNames: ["method", "route", "code"],
      registers: [this.registry],
      // Counted per request in a plain map (see observeRequest); handed to prom-client here.
      collect() {
        for (const r of routes.values()) {
          for (const c of r.counts) {
            if (c.n > 0) this.inc(c.labels, c.n);
            c.n = 0;
          }
        }
      },
    });
    this.#durations = new RequestDurations({
      name: DURATION_NAME,
      help: DURATION_HELP,
      labelNames: ["route"],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.requestSeconds = this.#durations;
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

  /** Counts one answered request: the hot path's only metrics call, a map lookup and a short scan. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    let r = this.#routes.get(route);
    if (!r) {
      r = { durations: this.#durations.forRoute(route), counts: [] };
      this.#routes.set(route, r);
    }
    let c: RequestCount | undefined;
    for (const each of r.counts) {
      if (each.status === status && each.method === method) {
        c = each;
        break;
      }
    }
    if (c) c.n++;
    else r.counts.push({ method, status, labels: { method, route, code: String(status) }, n: 1 });
    recordDuration(r.durations, seconds);
  }
}
