/**
 * The watch loop of Consul's api/watch/plan.go, as an explicit state machine:
 *
 * ```
 * idle ──start──▶ querying ──same index──▶ querying
 *                  │  │ └──new index, deep-equal──▶ querying
 *                  │  └──new, different──▶ handling ──▶ querying
 *                  └──error──▶ backoff (5 s × failures², ≤ 180 s; index forgotten) ──▶ querying
 * any ──stop──▶ stopped
 * ```
 *
 * As in Consul the next request goes out only when the result handler has returned. The handler
 * here only records the change in the durable outbox (delivery is decoupled), so it is quick.
 * Differences from Consul, both deliberate: a result deep-equal to the last one is not re-fired
 * after an error (Consul fires it, a known complaint); an event watch's index is random, so it
 * is never treated as "going backwards" (Consul resets it and replays the event buffer).
 *
 * @module
 */
import { AugurError, toAugurError } from "../lib/errors.js";
import { sleep, type Clock } from "./clock.js";
import { runQuery, type QueryResult, type WatchSource } from "./query.js";
import { canonicalJson } from "./stable-hash.js";
import type { WatchQuery } from "./types.js";
import { watchTypeSpec } from "./types/index.js";

export type PlanState = "idle" | "querying" | "handling" | "backoff" | "stopped";

export interface PlanResult {
  readonly index: bigint;
  readonly result: unknown;
}

export interface WatchPlanOptions {
  readonly source: WatchSource;
  readonly query: WatchQuery;
  readonly clock: Clock;
  /** Called for each new, different result; the loop waits for it. A throw is treated like a query error. */
  readonly onResult: (result: PlanResult) => Promise<void>;
  readonly onError?: (err: AugurError, retryInMs: number, failures: number) => void;
  /** Every successful query, changed result or not; `leaderKnown` false when the agent said it knows no leader. */
  readonly onSuccess?: (leaderKnown: boolean) => void;
  /** The index went backwards (Consul: a snapshot restore) and the loop starts over from 0. */
  readonly onIndexReset?: (from: bigint, to: bigint) => void;
  /** The last index moved with the same result (the watch's status shows the index; a new result is signalled by its event). */
  readonly onIndex?: () => void;
  /** Blocking wait sent as `wait=` (default 5 min, Consul's default query time). */
  readonly waitMs?: number;
  /** Consul's retryInterval (5 s) and maxBackoffTime (180 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export const PLAN_DEFAULTS = {
  waitMs: 5 * 60_000,
  retryBaseMs: 5_000,
  retryMaxMs: 180_000,
} as const;

/** One watch's blocking-query loop. */
export class WatchPlan {
  readonly #o: WatchPlanOptions;
  readonly #abort = new AbortController();
  #state: PlanState = "idle";
  #lastIndex: bigint | undefined;
  /** Hash-blocking types (agent_service): the last answer's ContentHash. */
  #lastHash: string | undefined;
  #lastResult: string | undefined;
  #failures = 0;
  #loop: Promise<void> | undefined;

  constructor(options: WatchPlanOptions) {
    this.#o = options;
  }

  get state(): PlanState {
    return this.#state;
  }

  /** The index the next request will block on (undefined before the first answer or after an error). */
  get lastIndex(): bigint | undefined {
    return this.#lastIndex;
  }

  get failures(): number {
    return this.#failures;
  }

  start(): void {
    if (this.#state !== "idle")
      throw new AugurError("INTERNAL", `WatchPlan.start: illegal in state ${this.#state}`);
    this.#loop = this.#run();
  }

  /** Resolves when the loop has ended (after `stop()`). */
  finished(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Aborts the request in flight and resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#state = "stopped";
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) await this.#step();
    this.#state = "stopped";
  }

  async #step(): Promise<void> {
    this.#state = "querying";
    let r: QueryResult;
    try {
      r = await runQuery(this.#o.source, this.#o.query, {
        index: this.#lastIndex ?? 0n,
        ...(this.#lastIndex !== undefined && this.#lastHash !== undefined
          ? { hash: this.#lastHash }
          : {}),
        waitMs: this.#o.waitMs ?? PLAN_DEFAULTS.waitMs,
        signal: this.#abort.signal,
      });
    } catch (err) {
      if (!this.#abort.signal.aborted) await this.#backoff(toAugurError(err));
      return;
    }
    if (this.#abort.signal.aborted) return;
    this.#failures = 0;
    this.#o.onSuccess?.(r.noKnownLeader !== true);
    const index = r.index === 0n ? 1n : r.index; // Consul never sends 0; a 0 would spin.
    if (this.#lastIndex !== undefined && index === this.#lastIndex) return;
    const previous = this.#lastIndex;
    this.#lastIndex = this.#nextIndex(index, previous);
    this.#lastHash = r.hash;
    const json = canonicalJson(r.result);
    if (this.#lastResult !== undefined && json === this.#lastResult) return this.#o.onIndex?.();
    const before = this.#lastResult;
    this.#lastResult = json;
    this.#state = "handling";
    try {
      await this.#o.onResult({ index, result: r.result });
    } catch (err) {
      // Not recorded: see the result again after the backoff instead of losing it.
      this.#lastResult = before;
      await this.#backoff(toAugurError(err));
    }
  }

  /**
   * Consul's WaitIndexVal.Next: an index lower than the last one resets to 0 (snapshot restore).
   * Not for a type whose index is not ordered (events: a random hash of the last event's id).
   */
  #nextIndex(index: bigint, previous: bigint | undefined): bigint {
    if (!watchTypeSpec(this.#o.query.type).indexOrdered) return index;
    if (previous === undefined || index >= previous) return index;
    this.#o.onIndexReset?.(previous, index);
    return 0n;
  }

  async #backoff(err: AugurError): Promise<void> {
    this.#failures++;
    this.#lastIndex = undefined;
    this.#lastHash = undefined;
    const base = this.#o.retryBaseMs ?? PLAN_DEFAULTS.retryBaseMs;
    const retry = Math.min(
      base * this.#failures * this.#failures,
      this.#o.retryMaxMs ?? PLAN_DEFAULTS.retryMaxMs,
    );
    this.#o.onError?.(err, retry, this.#failures);
    this.#state = "backoff";
    await sleep(this.#o.clock, retry, this.#abort.signal);
  }
}
