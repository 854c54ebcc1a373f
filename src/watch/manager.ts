/**
 * What the agent wires: runs the configured watches, reloads them without re-firing the
 * unchanged ones, and answers the deliveries / replay API.
 *
 * Watch identity on reload: a watch is *the same* when its id (the user's `id`, or
 * `<type>-<hash>` of its normalised definition) and its `identity` (sha256 of the whole
 * normalised definition: query, handlers, start mode, noise options) are both unchanged. Such a
 * watch keeps running — no new plan, no re-fire. A changed definition stops the old runner and
 * starts a new one, which resumes from the state persisted under its id (with `on_start =
 * "changes"` it reports only real changes). Records left for a handler that is no longer
 * configured are dead-lettered ("handler no longer configured") so they can be inspected.
 *
 * `new ──start──▶ running ──reload──▶ running ──stop──▶ stopped`
 *
 * @module
 */
import type { Registry } from "prom-client";
import { AugurError } from "../lib/errors.js";
import { systemClock, type Clock } from "./clock.js";
import { withUniqueIds } from "./definition.js";
import { createHandler } from "./handlers/create-handler.js";
import type { Handler } from "./handlers/handler.js";
import { silentLogger, type WatchLogger } from "./logger.js";
import { MemoryWatchStore } from "./memory-store.js";
import { WatchMetrics } from "./metrics.js";
import type { OutboxRecord, WatchStore } from "./outbox.js";
import type { WatchSource } from "./query.js";
import type { WatchDefinition } from "./types.js";
import { WatchRunner, type RecentEvent, type WatchStatus } from "./watch-runner.js";
import { WatchChangeIndex } from "./change-index.js";
import { secretEnvNames } from "./signing.js";

/** Pending records read at a time when looking for records no handler takes any more. */
const ORPHAN_SCAN_PAGE = 1000;

export interface WatchManagerOptions {
  /** The HTTP client the plans query (the agent's own API, or any Consul-compatible agent). */
  readonly client: WatchSource;
  /**
   * The source for one watch, when it is not `client`: the agent serves watches of its own
   * catalog in-process (api/in-process-source.ts) and keeps the HTTP client for the others.
   */
  readonly sourceFor?: (def: WatchDefinition) => WatchSource;
  /**
   * Opens the durable outbox (the agent's: lmdb under `<data_dir>/watches`). Chosen by the caller
   * — main.ts picks the adapter — so the watch engine depends only on the WatchStore contract.
   * Without it (`-dev`) the outbox lives in memory.
   */
  readonly openDurableStore?: () => Promise<WatchStore>;
  readonly registry?: Registry;
  readonly logger?: WatchLogger;
  readonly now?: () => number;
  /** Tests: a hand-driven clock (overrides `now`). */
  readonly clock?: Clock;
  /** Environment for script handlers and signing secrets (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Tests and tuning: the blocking wait and Consul's 5 s error backoff base. */
  readonly planWaitMs?: number;
  readonly planRetryBaseMs?: number;
  /** How long `stop()` lets a delivery in flight finish (default 5 s). */
  readonly stopGraceMs?: number;
  /** Time between SIGTERM and SIGKILL for a timed-out script (default 3 s). */
  readonly killGraceMs?: number;
}

/** `augur watch deliveries` / `GET /v1/agent/watch/deliveries`. */
export interface DeliveriesReport {
  readonly store: "memory" | "disk";
  readonly pending: readonly OutboxRecord[];
  readonly recent: readonly OutboxRecord[];
  readonly dead: readonly OutboxRecord[];
}

export interface DeliveriesQuery {
  readonly limit?: number;
  readonly watch?: string;
}

export type ReplayTarget = string | { readonly allDead: true };

export class WatchManager {
  readonly #o: WatchManagerOptions;
  readonly #clock: Clock;
  readonly #logger: WatchLogger;
  readonly #metrics: WatchMetrics;
  readonly #memory = new MemoryWatchStore();
  readonly #runners = new Map<string, WatchRunner>();
  /**
   * Moves on every change `watches()`, `recentEvents()` and `deliveries()` show, so the API can
   * answer them as blocking queries.
   */
  readonly changes = new WatchChangeIndex();
  readonly #changed = (): void => this.changes.bump();
  /** Signing-secret variables of every watch seen so far, kept out of script handlers' environment. */
  readonly #hiddenEnv = new Set<string>();
  #store: WatchStore | undefined;
  #state: "new" | "running" | "stopped" = "new";
  #lock: Promise<unknown> = Promise.resolve();
  // The agent's API listens before the watches start (they may reach it through the HTTP client),
  // so a deliveries or replay request can arrive first: it waits for the start instead of failing.
  #markStartCalled!: () => void;
  readonly #startCalled = new Promise<void>((resolve) => (this.#markStartCalled = resolve));

  constructor(options: WatchManagerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock(options.now);
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = new WatchMetrics(options.registry);
    this.#metrics.attach({ depths: () => this.#depths() });
  }

  /** Opens the outbox (durable, or memory) and starts every watch. */
  start(defs: readonly WatchDefinition[]): Promise<void> {
    this.#markStartCalled();
    return this.#serial(async () => {
      if (this.#state !== "new")
        throw new AugurError("INTERNAL", `WatchManager.start: illegal in state ${this.#state}`);
      this.#store = this.#o.openDurableStore ? await this.#o.openDurableStore() : this.#memory;
      this.#state = "running";
      await this.#apply(withUniqueIds(defs));
      this.#metrics.setDeadCounts(await this.#allDead());
      this.#logger.info("watches started", { count: this.#runners.size, outbox: this.#store.kind });
    });
  }

  /** Keeps unchanged watches running (no re-fire); stops removed or changed ones; starts new ones. */
  reload(defs: readonly WatchDefinition[]): Promise<void> {
    return this.#serial(async () => {
      this.#requireRunning();
      await this.#apply(withUniqueIds(defs));
    });
  }

  /** Stops every watch (deliveries in flight get a grace period) and closes the outbox. */
  stop(): Promise<void> {
    this.#markStartCalled(); // requests waiting for a start that will not come get "not running"
    return this.#serial(async () => {
      if (this.#state === "stopped") return;
      this.#state = "stopped";
      await Promise.all([...this.#runners.values()].map((r) => r.stop()));
      this.#runners.clear();
      this.#changed();
      if (this.#store && this.#store !== this.#memory) await this.#store.close();
      await this.#memory.close();
    });
  }

  /** The running watches. */
  watches(): WatchStatus[] {
    return [...this.#runners.values()].map((r) => r.status());
  }

  /**
   * Each running watch's last detected events (newest first), optionally of one watch: kept in
   * memory by its runner, so a restart or a reload that replaces the watch starts them afresh.
   */
  recentEvents(watch?: string): { watchId: string; events: readonly RecentEvent[] }[] {
    return [...this.#runners.values()]
      .filter((r) => watch === undefined || r.def.id === watch)
      .map((r) => ({ watchId: r.def.id, events: r.recentEvents() }));
  }

  /** Pending records, recent deliveries and dead letters (newest first), optionally for one watch. */
  async deliveries(query: DeliveriesQuery = {}): Promise<DeliveriesReport> {
    const store = await this.#whenStarted();
    const limit = query.limit ?? 100;
    const watch = query.watch;
    const stores = store === this.#memory ? [store] : [store, this.#memory];
    const all = async (f: (s: WatchStore) => Promise<OutboxRecord[]>): Promise<OutboxRecord[]> =>
      (await Promise.all(stores.map(f))).flat();
    // Each store reads only what the answer can hold: the pending queue of a receiver down for
    // hours can be millions of records. One watch's records come through the store's indexes
    // (pending by handler, history and dead letters by watch), up to the limit, never from a
    // pass over every watch's records.
    const handlers = watch === undefined ? [] : (this.#runners.get(watch)?.def.handlers ?? []);
    const pendingOf = async (s: WatchStore): Promise<OutboxRecord[]> =>
      watch === undefined
        ? s.pending({ limit })
        : (
            await Promise.all(
              handlers.map((h) => s.pending({ watchId: watch, handlerKey: h.key, limit })),
            )
          )
            .flat()
            .sort((a, b) => a.seq - b.seq)
            .slice(0, limit);
    return {
      store: store.kind,
      pending: (await all(pendingOf)).slice(0, limit),
      recent: newest(await all((s) => s.recent(limit, watch)), limit),
      dead: newest(await all((s) => s.dead(limit, watch)), limit),
    };
  }

  /**
   * Moves dead letters back to their handler's queue (attempts reset, same event id). A single id
   * that is not a dead letter is NOT_FOUND; one whose handler is no longer configured is INVALID_STATE.
   */
  async replay(target: ReplayTarget): Promise<OutboxRecord[]> {
    await this.#whenStarted();
    return this.#serial(async () => {
      this.#requireRunning();
      const dead = await this.#allDead();
      const wanted =
        typeof target === "string"
          ? dead.filter((r) => r.id === target)
          : dead.filter((r) => this.#runnerFor(r) !== undefined);
      if (typeof target === "string") {
        const rec = wanted[0];
        if (rec === undefined)
          throw new AugurError("NOT_FOUND", `No dead letter with ID "${target}"`);
        if (this.#runnerFor(rec) === undefined)
          throw new AugurError(
            "INVALID_STATE",
            `Cannot replay ${target}: watch "${rec.watchId}" no longer has that handler`,
          );
      }
      const now = this.#clock.now();
      const requeued: OutboxRecord[] = [];
      for (const store of this.#stores())
        requeued.push(
          ...(await store.requeue(
            wanted.map((r) => r.id),
            now,
          )),
        );
      for (const rec of requeued) this.#runnerFor(rec)?.worker(rec.handlerKey)?.enqueue([rec]);
      this.#metrics.setDeadCounts(await this.#allDead());
      if (requeued.length > 0) this.#changed();
      this.#logger.info("watch deliveries replayed", { count: requeued.length });
      return requeued;
    });
  }

  async #apply(defs: WatchDefinition[]): Promise<void> {
    for (const def of defs)
      for (const name of secretEnvNames(
        def.handlers.map((h) => (h.kind === "http" ? h.signing : undefined)),
      ))
        this.#hiddenEnv.add(name);
    const next = new Map(defs.map((d) => [d.id, d]));
    for (const [id, runner] of [...this.#runners]) {
      if (next.get(id)?.identity === runner.def.identity) continue;
      await runner.stop();
      this.#runners.delete(id);
      this.#logger.info("watch stopped", { watch: id });
    }
    for (const def of defs) {
      if (this.#runners.has(def.id)) continue;
      const runner = new WatchRunner({
        def,
        source: this.#o.sourceFor?.(def) ?? this.#o.client,
        store: this.#store as WatchStore,
        memoryStore: this.#memory,
        handlers: await this.#handlersFor(def),
        clock: this.#clock,
        logger: this.#logger,
        metrics: this.#metrics,
        onChange: this.#changed,
        ...pickDefined({
          planWaitMs: this.#o.planWaitMs,
          planRetryBaseMs: this.#o.planRetryBaseMs,
          stopGraceMs: this.#o.stopGraceMs,
        }),
      });
      await runner.start();
      this.#runners.set(def.id, runner);
      this.#logger.info("watch started", { watch: def.id, type: def.query.type });
    }
    await this.#deadLetterOrphans();
    this.#changed();
  }

  async #handlersFor(def: WatchDefinition): Promise<Map<string, Handler>> {
    const out = new Map<string, Handler>();
    for (const h of def.handlers)
      out.set(
        h.key,
        await createHandler(
          h,
          pickDefined({
            env: this.#o.env,
            hiddenEnv: this.#hiddenEnv,
            killGraceMs: this.#o.killGraceMs,
            now: () => this.#clock.now(),
          }),
        ),
      );
    return out;
  }

  /** Pending records whose watch or handler is gone go to the dead letters instead of waiting forever. */
  async #deadLetterOrphans(): Promise<void> {
    const now = this.#clock.now();
    for (const store of this.#stores()) {
      // In pages: after a long outage the outbox can hold more than memory should.
      for (let after = 0; ;) {
        const page = await store.pending({ afterSeq: after, limit: ORPHAN_SCAN_PAGE });
        for (const rec of page) {
          if (this.#runnerFor(rec) !== undefined) continue;
          const dead = await store.finish(rec, "dead", now, "handler no longer configured");
          this.#metrics.deadLettered(dead);
          this.#logger.warn("watch delivery dead-lettered: handler no longer configured", {
            watch: rec.watchId,
            delivery: rec.id,
          });
        }
        const last = page.at(-1);
        if (last === undefined || page.length < ORPHAN_SCAN_PAGE) break;
        after = last.seq;
      }
    }
  }

  #runnerFor(rec: OutboxRecord): WatchRunner | undefined {
    const runner = this.#runners.get(rec.watchId);
    return runner?.def.handlers.some((h) => h.key === rec.handlerKey) ? runner : undefined;
  }

  #stores(): WatchStore[] {
    const store = this.#store;
    return store === undefined || store === this.#memory ? [this.#memory] : [store, this.#memory];
  }

  async #allDead(): Promise<OutboxRecord[]> {
    return (await Promise.all(this.#stores().map((s) => s.dead()))).flat();
  }

  *#depths(): Iterable<{ watch: string; handler: string; depth: number }> {
    for (const r of this.#runners.values())
      for (const h of r.def.handlers)
        yield { watch: r.def.id, handler: h.key, depth: r.worker(h.key)?.depth ?? 0 };
  }

  /** The outbox once `start` has run (waiting for it if it was not called yet). */
  async #whenStarted(): Promise<WatchStore> {
    if (this.#state === "new") {
      await this.#startCalled;
      await this.#lock;
    }
    return this.#requireRunning();
  }

  #requireRunning(): WatchStore {
    if (this.#state !== "running" || this.#store === undefined)
      throw new AugurError("INVALID_STATE", "Watches are not running");
    return this.#store;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}

function newest(list: OutboxRecord[], limit: number): OutboxRecord[] {
  return [...list].sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0)).slice(0, limit);
}

function pickDefined<T extends Record<string, unknown>>(
  o: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
