/**
 * Turns a watch's results into events: per-entity changes against what handlers were last told,
 * shaped by the start mode and noise control, each event handed to the outbox with the new state.
 *
 * The detector does not wait for the disk before the plan asks for the next result: the outbox
 * applies a watch's commits in order, so the next state is computed on top of one still being
 * flushed, and one watch's burst shares flushes (at most {@link COMMITS_IN_FLIGHT_MAX} wait at
 * once). Nothing is delivered before it is durable (the runner enqueues on the flush). When a
 * commit fails, the outbox refuses the watch's later commits, the detector goes back to what
 * its last durable commit reported, and the next flush reports the difference from there: the
 * lost events' changes are reported again, not skipped.
 *
 * ```
 * starting ──first result──▶ running ──result──▶ (quiet period / hold / flap) ──flush──▶ running
 * ```
 * At start: `fire` delivers the first result as Consul does; `changes` delivers only the
 * difference from the persisted state (nothing on a first-ever run); `never` adopts silently.
 *
 * @module
 */
import { toAugurError, type AugurError } from "../lib/errors.js";
import type { Clock, TimerHandle } from "./clock.js";
import { diffEntities, makeChange, type EntityChange, type RawChange } from "./changes.js";
import {
  entitiesFromJson,
  entitiesToJson,
  entityMap,
  type Entity,
  type EntityMap,
} from "./entities.js";
import { NoiseFilter, type TrackerSnapshot } from "./noise.js";
import type { PlanResult } from "./plan.js";
import { QuietPeriod } from "./quiet-period.js";
import { hashId, stableHash } from "./stable-hash.js";
import type { NoiseOptions, OnStart, WatchType } from "./types.js";
import { watchTypeSpec, type WatchTypeSpec } from "./types/index.js";

/** One detected event: what every handler of the watch is told about. */
export interface DetectedEvent {
  /** Stable: the same content at the same index always gets the same id (the Idempotency-Key). */
  readonly id: string;
  readonly watchId: string;
  readonly type: WatchType;
  /** `X-Consul-Index` of the result (decimal string: event indexes use 64 bits). */
  readonly index: string;
  readonly detectedAt: number;
  /** Exactly what Consul would hand its handler. */
  readonly consul: unknown;
  readonly changes: readonly EntityChange[];
  /** About the source, not a result: Consul-payload handlers do not receive it. */
  readonly synthetic?: true;
}

/** What is persisted per watch (`<data_dir>/watches`). */
export interface PersistedWatchState {
  readonly version: 1;
  readonly index: string;
  readonly reported: ReturnType<typeof entitiesToJson>;
  /** Event watches: ids of the events already handled (the last {@link SEEN_EVENTS_MAX}). */
  readonly seenEvents?: readonly string[];
  /** Hold and flap trackers (noise control), so a restart keeps pending holds and flap counts. */
  readonly noise?: readonly TrackerSnapshot[];
  readonly updatedAt: number;
}

export const SEEN_EVENTS_MAX = 1024;

/** After a failed outbox write, report again from the last durable state after this long. */
const COMMIT_RETRY_MS = 1000;

/**
 * Commits of one watch waiting for the disk at once; past it, the detector waits for the oldest.
 * More in flight means more of a burst in each flush: 64 held one watch near 10,000 events/s,
 * 256 about twice that. Large payloads are bounded by {@link COMMIT_BYTES_IN_FLIGHT_MAX} first.
 */
export const COMMITS_IN_FLIGHT_MAX = 256;

/**
 * The bytes of payload one watch may hold in commits waiting for the disk (see
 * {@link ChangeDetectorOptions.inFlightBytes}); one commit is always let through.
 */
export const COMMIT_BYTES_IN_FLIGHT_MAX = 16 * 1024 * 1024;

/** What the handlers have been told, as of one commit. */
interface Reported {
  readonly reported: Map<string, Entity>;
  readonly seen: string[];
}

export interface ChangeDetectorOptions {
  readonly watchId: string;
  readonly type: WatchType;
  readonly onStart: OnStart;
  readonly noise: NoiseOptions;
  readonly clock: Clock;
  readonly initial?: PersistedWatchState;
  /**
   * Records the new state and the event (if any) in the outbox; resolves once durable. Called
   * again before the previous call resolved: calls must apply in order (see WatchStore.commit).
   * `state` null: record the event only (a synthetic event before any state exists).
   */
  readonly commit: (
    state: PersistedWatchState | null,
    event: DetectedEvent | undefined,
  ) => Promise<void>;
  /**
   * The payload bytes the commits made so far still hold until durable (the watch runner counts
   * its records' bodies): a watch of a large catalog must not hold hundreds of copies of it.
   */
  readonly inFlightBytes?: () => number;
  /** After a failed commit, once the detector is back at its last durable state (WatchStore.resume). */
  readonly resume?: () => void;
  readonly onError?: (err: AugurError) => void;
}

interface Latest {
  readonly index: string;
  readonly result: unknown;
  readonly entities: EntityMap;
}

export class ChangeDetector {
  readonly #o: ChangeDetectorOptions;
  readonly #spec: WatchTypeSpec;
  /** The type's results are occurrences (user events), each reported once; not state. */
  readonly #occurrences: boolean;
  readonly #noise: NoiseFilter;
  readonly #quiet: QuietPeriod | undefined;
  #reported: Map<string, Entity>;
  #seen: string[];
  /** What the last durable commit reported: where a failed commit sends the detector back. */
  #durable: Reported;
  /** Bumped on a failed commit: failures of commits made before it are already handled. */
  #epoch = 0;
  /** Commits not yet durable (each settles, never rejects), oldest first. */
  readonly #inFlight: Promise<void>[] = [];
  /** A failed commit's retry: when to report again from the durable state. */
  #retryAt: number | undefined;
  #latest: Latest | undefined;
  #started = false;
  #stopped = false;
  #timer: TimerHandle | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(options: ChangeDetectorOptions) {
    this.#o = options;
    this.#spec = watchTypeSpec(options.type);
    this.#occurrences = this.#spec.model === "occurrences";
    // An occurrence has no state to hold or flap between.
    const noise = this.#occurrences
      ? { holdMs: 0 }
      : {
          holdMs: options.noise.holdMs,
          ...(options.noise.flap ? { flap: options.noise.flap } : {}),
        };
    this.#noise = new NoiseFilter(noise);
    this.#quiet =
      options.noise.quietPeriodMs > 0
        ? new QuietPeriod(options.noise.quietPeriodMs, options.noise.quietPeriodMaxMs)
        : undefined;
    this.#reported = entitiesFromJson(options.initial?.reported);
    this.#seen = [...(options.initial?.seenEvents ?? [])];
    this.#durable = { reported: this.#reported, seen: this.#seen };
    if (options.initial?.noise && this.#noise.active) this.#noise.restore(options.initial.noise);
  }

  /** Noise control on: deliveries only carry real (held, debounced) changes. */
  get #filtered(): boolean {
    return this.#quiet !== undefined || this.#noise.active || this.#o.noise.stateChangesOnly;
  }

  /** The plan's result handler: resolves once the result is recorded (or deferred by noise control). */
  handle(r: PlanResult): Promise<void> {
    return this.#serial(() => this.#onResult(r));
  }

  /**
   * A synthetic event about the watch's source: it has been unreachable for a while, it is back,
   * or its index went backwards. It goes through the outbox like any event (handlers with
   * `payload = "changes"` or `"both"` get it); the watch's state does not change.
   */
  reportSource(
    kind: "source_unreachable" | "source_recovered" | "index_reset",
    old: unknown,
    next: unknown,
    key: string,
  ): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      const now = this.#o.clock.now();
      const states: Record<typeof kind, [string, string] | null> = {
        source_unreachable: ["reachable", "unreachable"],
        source_recovered: ["unreachable", "reachable"],
        index_reset: null,
      };
      const st = states[kind];
      const raw: RawChange = {
        entity: "source",
        kind,
        transition: st ? `${st[0]}→${st[1]}` : null,
        old_state: st?.[0] ?? null,
        new_state: st?.[1] ?? null,
        old,
        new: next,
      };
      const w = this.#o.watchId;
      const index = this.#latest?.index ?? this.#o.initial?.index ?? "0";
      const id = hashId("source", w, kind, key);
      const event: DetectedEvent = {
        id,
        watchId: w,
        type: this.#o.type,
        index,
        detectedAt: now,
        consul: null,
        changes: [{ id: hashId("change", w, kind, key), ...raw }],
        synthetic: true,
      };
      // Before the first result there is no state to keep (a persisted empty one would make
      // on_start = "changes" report everything as added later).
      const state =
        this.#latest === undefined && this.#o.initial === undefined
          ? null
          : this.#stateNow(this.#reported, now, this.#seen);
      await this.#append(state, event);
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once every commit made so far is durable or failed (a clean stop waits for it). */
  async settled(): Promise<void> {
    while (this.#inFlight.length > 0) await Promise.all([...this.#inFlight]);
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #onResult(r: PlanResult): Promise<void> {
    const now = this.#o.clock.now();
    this.#latest = {
      index: r.index.toString(),
      result: r.result,
      entities: entityMap(this.#spec.entities(r.result, this.#o.noise.maintenanceAware)),
    };
    if (!this.#started) {
      await this.#start(now);
      return this.#schedule(now);
    }
    const moved =
      this.#noise.active && this.#noise.observe(this.#latest.entities, this.#reported, now);
    let committed = false;
    if (this.#quiet) this.#quiet.touch(now);
    else committed = await this.#flush(now, true);
    // A hold that started or a counted flap transition is state too: persist it now.
    if (moved && !committed) await this.#commit(this.#reported, undefined, now);
    await this.#schedule(now);
  }

  async #start(now: number): Promise<void> {
    const latest = this.#latest as Latest;
    const mode = this.#o.onStart;
    const known = this.#o.initial !== undefined;
    if (this.#occurrences) {
      const all = [...latest.entities.values()];
      const fresh =
        mode === "fire"
          ? all
          : mode === "changes" && known
            ? all.filter((e) => !this.#seen.includes(e.key))
            : [];
      this.#started = true;
      return this.#emitEvents(fresh, now, mode === "fire");
    }
    // on_start=changes with noise control: what changed while down still has to pass the hold
    // (counted from when it was first seen, persisted) and the flap detector. Other modes adopt
    // the result as reported, but the trackers still see it (flap counts).
    if (known && this.#noise.active) this.#noise.observe(latest.entities, this.#reported, now);
    const filtered = mode === "changes" && known && this.#noise.active;
    const reported = filtered ? this.#noise.effective(this.#reported, now) : latest.entities;
    const raw = diffEntities(this.#reported, reported, {
      stateOnly: this.#o.noise.stateChangesOnly,
    });
    const synthetic = this.#noise.takeSynthetic();
    const changes = filtered ? mergeSynthetic(raw, synthetic) : raw;
    const emit = mode === "fire" || (mode === "changes" && known && changes.length > 0);
    this.#started = true;
    await this.#commit(reported, emit ? this.#event(latest.result, changes, now) : undefined, now);
  }

  /** Sets the timer for the next quiet-period end, hold maturity or flap-window slide. */
  async #schedule(now: number): Promise<void> {
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    const candidates = [
      this.#quiet?.dueAt(),
      this.#noise.active ? this.#noise.nextWakeAt(this.#reported) : undefined,
      this.#retryAt,
    ].filter((t): t is number => t !== undefined);
    if (candidates.length === 0 || this.#stopped) return;
    const at = Math.min(...candidates);
    if (at <= now) return this.#tick(now);
    this.#setTimer(at - now);
  }

  #setTimer(ms: number): void {
    // Deadlines are wall-clock times (kept with the watch's state); the timer runs on the
    // monotonic clock. When it fires, its deadline has passed, even if the wall clock was stepped
    // back meanwhile: ticking at the clock's reading alone would re-arm for the size of the step.
    const at = this.#o.clock.now() + ms;
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = undefined;
      const now = Math.max(this.#o.clock.now(), at);
      this.#serial(() => this.#tick(now)).catch((err: unknown) => {
        // The commit failed (outbox write): report it and try the flush again shortly.
        this.#o.onError?.(toAugurError(err));
        if (!this.#stopped && this.#timer === undefined) this.#setTimer(COMMIT_RETRY_MS);
      });
    }, ms);
  }

  async #tick(now: number): Promise<void> {
    if (this.#stopped) return;
    // Whichever flush comes next reports from the durable state: a pending retry is covered.
    this.#retryAt = undefined;
    const due = this.#quiet?.dueAt();
    if (due !== undefined && due > now) return this.#schedule(now);
    await this.#flush(now, false);
    await this.#schedule(now);
  }

  /**
   * Reports what is reportable now. `everyResult`: no noise control, fire on every result as Consul.
   * Returns whether anything was committed.
   */
  async #flush(now: number, everyResult: boolean): Promise<boolean> {
    this.#quiet?.reset();
    const latest = this.#latest;
    if (latest === undefined) return false;
    if (this.#occurrences) {
      await this.#emitEvents(
        [...latest.entities.values()].filter((e) => !this.#seen.includes(e.key)),
        now,
        false,
      );
      return true;
    }
    const effective = this.#noise.active
      ? this.#noise.effective(this.#reported, now)
      : latest.entities;
    const changes = mergeSynthetic(
      diffEntities(this.#reported, effective, { stateOnly: this.#o.noise.stateChangesOnly }),
      this.#noise.takeSynthetic(),
    );
    const emit = everyResult && !this.#filtered ? true : changes.length > 0;
    if (!emit && sameEntities(this.#reported, effective)) return false;
    await this.#commit(effective, emit ? this.#event(latest.result, changes, now) : undefined, now);
    return true;
  }

  /** Occurrences (event watches): the payload is the list of events not handled yet (Consul prunes by index). */
  async #emitEvents(fresh: Entity[], now: number, always: boolean): Promise<void> {
    const latest = this.#latest as Latest;
    const seen = [...this.#seen];
    for (const e of latest.entities.values()) if (!seen.includes(e.key)) seen.push(e.key);
    const event =
      fresh.length > 0 || always
        ? this.#event(
            fresh.map((e) => e.value),
            fresh.map((e) => makeChange("added", e.key, undefined, e)),
            now,
          )
        : undefined;
    if (event === undefined && seen.length === this.#seen.length) return;
    await this.#commit(new Map(), event, now, seen.slice(-SEEN_EVENTS_MAX));
  }

  #event(consul: unknown, raw: readonly RawChange[], now: number): DetectedEvent {
    const latest = this.#latest as Latest;
    const w = this.#o.watchId;
    const changes = raw.map((c) => ({
      id: hashId("change", w, latest.index, c.entity, c.kind, stableHash(c.old), stableHash(c.new)),
      ...c,
    }));
    const id = hashId("event", w, latest.index, stableHash(consul), stableHash(raw));
    return {
      id,
      watchId: w,
      type: this.#o.type,
      index: latest.index,
      detectedAt: now,
      consul,
      changes,
    };
  }

  #stateNow(reported: EntityMap, now: number, seen: string[]): PersistedWatchState {
    return {
      version: 1,
      index: this.#latest?.index ?? this.#o.initial?.index ?? "0",
      reported: entitiesToJson(reported),
      ...(this.#occurrences ? { seenEvents: seen } : {}),
      ...(this.#noise.active ? { noise: this.#noise.snapshot() } : {}),
      updatedAt: now,
    };
  }

  async #commit(
    reported: EntityMap,
    event: DetectedEvent | undefined,
    now: number,
    seen: string[] = this.#seen,
  ): Promise<void> {
    const next: Reported = { reported: new Map(reported), seen };
    await this.#append(this.#stateNow(reported, now, seen), event, next);
    this.#reported = next.reported;
    this.#seen = seen;
  }

  /**
   * Hands a commit to the outbox without waiting for the disk (see the module comment); `next`:
   * what the handlers have been told once it is durable.
   */
  async #append(
    state: PersistedWatchState | null,
    event: DetectedEvent | undefined,
    next?: Reported,
  ): Promise<void> {
    while (
      this.#inFlight.length >= COMMITS_IN_FLIGHT_MAX ||
      (this.#inFlight.length > 0 && (this.#o.inFlightBytes?.() ?? 0) >= COMMIT_BYTES_IN_FLIGHT_MAX)
    )
      await this.#inFlight[0];
    const epoch = this.#epoch;
    const settled = this.#o.commit(state, event).then(
      () => {
        // Commits resolve in the order they were made: this is the newest durable one.
        if (next !== undefined && epoch === this.#epoch) this.#durable = next;
      },
      (err: unknown) => this.#commitFailed(epoch, toAugurError(err)),
    );
    this.#inFlight.push(settled);
    void settled.then(() => this.#inFlight.splice(this.#inFlight.indexOf(settled), 1));
  }

  /**
   * A commit failed, and with it every later one of this watch (the outbox refuses them): go back
   * to what the last durable commit reported and report the difference from there shortly.
   */
  #commitFailed(epoch: number, err: AugurError): void {
    if (epoch !== this.#epoch || this.#stopped) return;
    this.#o.onError?.(err);
    this.#epoch++;
    this.#reported = this.#durable.reported;
    this.#seen = this.#durable.seen;
    this.#o.resume?.();
    const now = this.#o.clock.now();
    this.#retryAt = now + COMMIT_RETRY_MS;
    void this.#serial(() => this.#schedule(now));
  }
}

/** A `flapping`/`stable` change replaces the plain change of the same entity. */
function mergeSynthetic(diff: RawChange[], synthetic: RawChange[]): RawChange[] {
  if (synthetic.length === 0) return diff;
  const replaced = new Set(synthetic.map((c) => c.entity));
  return [...diff.filter((c) => !replaced.has(c.entity)), ...synthetic];
}

function sameEntities(a: EntityMap, b: EntityMap): boolean {
  if (a.size !== b.size) return false;
  for (const [k, e] of a) if (b.get(k)?.hash !== e.hash) return false;
  return true;
}
