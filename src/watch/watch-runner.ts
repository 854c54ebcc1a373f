/**
 * One running watch: its plan (the Consul loop), its change detector, and one delivery worker
 * per handler. The detector's commit writes the watch state and one outbox record per handler
 * in one durable transaction, then hands the records to the workers.
 *
 * `created ──start──▶ running ──stop──▶ stopped`
 *
 * @module
 */
import { AugurError, toAugurError } from "../lib/errors.js";
import type { Clock, TimerHandle } from "./clock.js";
import { DeliveryWorker, type DeliveryObserver, type WorkerState } from "./delivery-worker.js";
import { ChangeDetector, type DetectedEvent, type PersistedWatchState } from "./detector.js";
import type { Handler } from "./handlers/handler.js";
import type { WatchLogger } from "./logger.js";
import type { WatchMetrics } from "./metrics.js";
import type { NewRecord, OutboxRecord, WatchStore } from "./outbox.js";
import { payloadFor } from "./payload.js";
import { WatchPlan, type PlanState } from "./plan.js";
import type { WatchSource } from "./query.js";
import type { HandlerDefinition, WatchDefinition } from "./types.js";
import { watchTypeSpec } from "./types/index.js";
import { WatchLeadership, type LeadershipState } from "./cluster-leader.js";

export interface WatchRunnerOptions {
  readonly def: WatchDefinition;
  readonly source: WatchSource;
  /** Where the watch state and durable handlers' records live. */
  readonly store: WatchStore;
  /** Records of handlers with `durable = false`. */
  readonly memoryStore: WatchStore;
  /** A ready handler per handler key. */
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly clock: Clock;
  readonly logger: WatchLogger;
  readonly metrics?: WatchMetrics;
  /** Called on every change the watch API shows: an event, a delivery outcome, a query error. */
  readonly onChange?: () => void;
  readonly planWaitMs?: number;
  readonly planRetryBaseMs?: number;
  readonly stopGraceMs?: number;
  /** `once_per_cluster` tuning (tests): pause after a refused acquire or an error. */
  readonly leaderRetryMs?: number;
}

/** Detected events a runner remembers for `GET /v1/agent/watch/events`, newest last. */
export const RECENT_EVENTS_MAX = 32;
/** Changes kept per remembered event; the rest are counted in `omitted`. */
export const RECENT_CHANGES_MAX = 32;
/** Longest entity name kept (a KV key can be long); longer ones are cut with `…`. */
const ENTITY_MAX_CHARS = 256;

/**
 * What a watch detected, whatever its handlers' payloads: the event and its per-entity changes
 * without their old and new bodies, so a watch's memory of its last events stays small and
 * bounded (at most 32 events × 32 changes × 256-character names).
 */
export interface RecentEvent {
  readonly id: string;
  readonly index: string;
  readonly detectedAt: number;
  readonly changes: readonly {
    readonly entity: string;
    readonly kind: string;
    readonly transition: string | null;
  }[];
  /** Changes of the event beyond {@link RECENT_CHANGES_MAX}. */
  readonly omitted: number;
}

/** What the API and CLI show about a watch. */
export interface WatchStatus {
  readonly id: string;
  readonly type: string;
  readonly state: PlanState;
  readonly index?: string;
  readonly failures: number;
  readonly lastError?: string;
  readonly events: number;
  readonly handlers: readonly {
    key: string;
    kind: string;
    target: string;
    state: WorkerState;
    depth: number;
  }[];
  /** `once_per_cluster` watches: this agent's role and the node delivering. */
  readonly leadership?: { readonly state: LeadershipState; readonly leader: string };
}

export class WatchRunner {
  readonly def: WatchDefinition;
  readonly #o: WatchRunnerOptions;
  readonly #workers = new Map<string, DeliveryWorker>();
  #plan: WatchPlan | undefined;
  #detector: ChangeDetector | undefined;
  #lastError: string | undefined;
  #events = 0;
  /** Payload bytes held by commits not yet durable (the detector's in-flight bound). */
  #inFlightBytes = 0;
  readonly #recent: RecentEvent[] = [];
  /** Source health: when the current run of query failures began, and whether it was reported. */
  #failingSince: number | undefined;
  #downTimer: TimerHandle | undefined;
  #reportedDown = false;
  readonly #leadership: WatchLeadership | undefined;

  constructor(options: WatchRunnerOptions) {
    this.def = options.def;
    this.#o = options;
    if (options.def.oncePerCluster) {
      this.#leadership = new WatchLeadership({
        watchId: options.def.id,
        source: options.source,
        indexOrdered: watchTypeSpec(options.def.query.type).indexOrdered,
        clock: options.clock,
        logger: options.logger,
        ...(options.leaderRetryMs !== undefined ? { retryMs: options.leaderRetryMs } : {}),
      });
    }
  }

  /** Loads the persisted state and pending records, starts the workers, then the plan. */
  async start(): Promise<void> {
    const { def, clock, logger } = this.#o;
    this.#leadership?.start();
    for (const h of def.handlers) await this.#startWorker(h);
    const initial = await this.#o.store.loadState(def.id);
    this.#detector = new ChangeDetector({
      watchId: def.id,
      type: def.query.type,
      onStart: def.onStart,
      noise: def.noise,
      clock,
      ...(initial ? { initial } : {}),
      commit: (state, event) => this.#commit(state, event),
      inFlightBytes: () => this.#inFlightBytes,
      resume: () => {
        this.#o.store.resume(def.id);
        this.#o.memoryStore.resume(def.id);
      },
      onError: (err) =>
        logger.error("watch change detection failed", { watch: def.id, error: err.message }),
    });
    const detector = this.#detector;
    this.#plan = new WatchPlan({
      source: this.#o.source,
      query: def.query,
      clock,
      onResult: (r) => detector.handle(r),
      onError: (err, retryInMs) => {
        this.#lastError = err.message;
        this.#o.metrics?.queryErrors.inc({ watch: def.id });
        this.#o.onChange?.();
        logger.error("Watch errored", {
          watch: def.id,
          type: def.query.type,
          error: err.message,
          retryInMs,
        });
        this.#sourceFailed();
      },
      onSuccess: (leaderKnown) => {
        if (leaderKnown) return this.#sourceOk();
        // The agent answers from its own view but cannot reach its store: the data may be stale.
        this.#lastError =
          "the agent knows no leader (X-Consul-KnownLeader: false): its data may be stale";
        this.#sourceFailed();
      },
      // The Watches page shows the index: a parked read of the watch API wakes when it moves.
      onIndex: () => this.#o.onChange?.(),
      onIndexReset: (from, to) =>
        this.#report(
          "index_reset",
          { index: from.toString() },
          { index: to.toString() },
          `reset:${from}:${to}`,
        ),
      ...(this.#o.planWaitMs !== undefined ? { waitMs: this.#o.planWaitMs } : {}),
      ...(this.#o.planRetryBaseMs !== undefined ? { retryBaseMs: this.#o.planRetryBaseMs } : {}),
    });
    this.#plan.start();
  }

  #sourceFailed(): void {
    const after = this.def.sourceUnreachableAfterMs;
    if (this.#failingSince !== undefined || after <= 0) return;
    const since = this.#o.clock.now();
    this.#failingSince = since;
    this.#downTimer = this.#o.clock.setTimer(() => {
      this.#downTimer = undefined;
      if (this.#failingSince !== since) return;
      this.#reportedDown = true;
      this.#report(
        "source_unreachable",
        null,
        { error: this.#lastError ?? "", since: new Date(since).toISOString() },
        `down:${since}`,
      );
    }, after);
  }

  #sourceOk(): void {
    const since = this.#failingSince;
    if (since === undefined) return;
    if (this.#downTimer) this.#o.clock.clearTimer(this.#downTimer);
    this.#downTimer = undefined;
    if (this.#reportedDown)
      this.#report(
        "source_recovered",
        { error: this.#lastError ?? "", since: new Date(since).toISOString() },
        null,
        `up:${since}`,
      );
    this.#failingSince = undefined;
    this.#reportedDown = false;
  }

  #report(
    kind: "source_unreachable" | "source_recovered" | "index_reset",
    old: unknown,
    next: unknown,
    key: string,
  ): void {
    this.#o.logger.warn(`watch source: ${kind}`, {
      watch: this.def.id,
      ...(this.#lastError ? { error: this.#lastError } : {}),
    });
    this.#detector?.reportSource(kind, old, next, key).catch((err: unknown) =>
      this.#o.logger.error("watch source event not recorded", {
        watch: this.def.id,
        kind,
        error: toAugurError(err).message,
      }),
    );
  }

  async #startWorker(h: HandlerDefinition): Promise<void> {
    const handler = this.#o.handlers.get(h.key);
    if (handler === undefined)
      throw new AugurError("INTERNAL", `watch ${this.def.id}: no handler for key ${h.key}`);
    const store = this.#storeFor(h);
    const observer = this.#observer();
    const worker = new DeliveryWorker({
      handler,
      retry: h.retry,
      store,
      clock: this.#o.clock,
      logger: this.#o.logger,
      ...(observer ? { observer } : {}),
      ...(this.#o.stopGraceMs !== undefined ? { stopGraceMs: this.#o.stopGraceMs } : {}),
      ...(this.#leadership ? { gate: this.#leadership } : {}),
    });
    await worker.loadPending(this.def.id, h.key);
    worker.start();
    this.#workers.set(h.key, worker);
  }

  /** The workers' observer: the metrics, and the change signal after each outcome. */
  #observer(): DeliveryObserver | undefined {
    const { metrics, onChange } = this.#o;
    if (!onChange) return metrics;
    return {
      delivered: (r, ms) => (metrics?.delivered(r, ms), onChange()),
      failed: (r, permanent) => (metrics?.failed(r, permanent), onChange()),
      retried: (r) => (metrics?.retried(r), onChange()),
      deadLettered: (r) => (metrics?.deadLettered(r), onChange()),
    };
  }

  #storeFor(h: HandlerDefinition): WatchStore {
    return h.durable ? this.#o.store : this.#o.memoryStore;
  }

  /**
   * The detector's commit: state + durable records in one transaction, then memory records;
   * handlers get the records once they are durable. Called again before the previous call
   * resolved (the detector does not wait for the disk): the stores apply calls in order, and
   * records reach each worker in that order.
   */
  async #commit(
    state: PersistedWatchState | null,
    event: DetectedEvent | undefined,
  ): Promise<void> {
    const durable: NewRecord[] = [];
    const volatile: NewRecord[] = [];
    let bytes = 0;
    for (const h of event ? this.def.handlers : []) {
      const body = payloadFor(event as DetectedEvent, h.payload);
      if (body === undefined) continue;
      bytes += body.length;
      const rec: NewRecord = {
        eventId: (event as DetectedEvent).id,
        watchId: this.def.id,
        handlerKey: h.key,
        index: (event as DetectedEvent).index,
        createdAt: (event as DetectedEvent).detectedAt,
        body,
      };
      (h.durable || this.#o.store === this.#o.memoryStore ? durable : volatile).push(rec);
    }
    // Each handler's records are all durable or all volatile, and every call takes the same
    // steps to its enqueue, so calls resolving in order enqueue in order. Volatile records
    // (`durable = false`) go first: they promise nothing across a crash, so they do not wait for
    // the flush of the watch's state (a failed flush reports their changes again).
    // Counted before the first await: the detector reads it before its next commit.
    this.#inFlightBytes += bytes;
    let enqueued = 0;
    try {
      if (volatile.length > 0)
        enqueued += this.#enqueue(await this.#o.memoryStore.commit(this.def.id, null, volatile));
      enqueued += this.#enqueue(await this.#o.store.commit(this.def.id, state, durable));
    } finally {
      this.#inFlightBytes -= bytes;
    }
    if (event) {
      this.#remember(event);
      this.#events++;
      this.#o.metrics?.events.inc({ watch: this.def.id });
    }
    if (event || enqueued > 0) this.#o.onChange?.();
  }

  /** Hands records to their workers; returns how many. */
  #enqueue(records: readonly OutboxRecord[]): number {
    for (const rec of records) this.#workers.get(rec.handlerKey)?.enqueue([rec]);
    return records.length;
  }

  #remember(event: DetectedEvent): void {
    const cut = (name: string): string =>
      name.length > ENTITY_MAX_CHARS ? `${name.slice(0, ENTITY_MAX_CHARS - 1)}…` : name;
    this.#recent.push({
      id: event.id,
      index: event.index,
      detectedAt: event.detectedAt,
      changes: event.changes.slice(0, RECENT_CHANGES_MAX).map((c) => ({
        entity: cut(c.entity),
        kind: c.kind,
        transition: c.transition,
      })),
      omitted: Math.max(0, event.changes.length - RECENT_CHANGES_MAX),
    });
    if (this.#recent.length > RECENT_EVENTS_MAX) this.#recent.shift();
  }

  /** The last detected events, newest first. */
  recentEvents(): readonly RecentEvent[] {
    return [...this.#recent].reverse();
  }

  worker(handlerKey: string): DeliveryWorker | undefined {
    return this.#workers.get(handlerKey);
  }

  async stop(): Promise<void> {
    if (this.#downTimer) this.#o.clock.clearTimer(this.#downTimer);
    this.#detector?.stop();
    await this.#plan?.stop().catch((err: unknown) =>
      this.#o.logger.warn("watch plan stop", {
        watch: this.def.id,
        error: toAugurError(err).message,
      }),
    );
    // Commits still being flushed reach their workers (and the store) before those stop.
    await this.#detector?.settled();
    await Promise.all([...this.#workers.values()].map((w) => w.stop()));
    await this.#leadership?.stop();
  }

  status(): WatchStatus {
    return {
      id: this.def.id,
      type: this.def.query.type,
      state: this.#plan?.state ?? "idle",
      ...(this.#plan?.lastIndex !== undefined ? { index: this.#plan.lastIndex.toString() } : {}),
      failures: this.#plan?.failures ?? 0,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      events: this.#events,
      handlers: this.def.handlers.map((h) => {
        const w = this.#workers.get(h.key);
        const handler = this.#o.handlers.get(h.key);
        return {
          key: h.key,
          kind: h.kind,
          target: handler?.target ?? "",
          state: w?.state ?? "stopped",
          depth: w?.depth ?? 0,
        };
      }),
      ...(this.#leadership
        ? { leadership: { state: this.#leadership.state, leader: this.#leadership.holder } }
        : {}),
    };
  }
}
