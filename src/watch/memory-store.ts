/**
 * The outbox and watch state in memory (`-dev`, and handlers with `durable = false`): same
 * contract as the disk store, gone when the process ends.
 *
 * @module
 */
import type { PersistedWatchState } from "./detector.js";
import {
  DEAD_MAX,
  HISTORY_MAX,
  type NewRecord,
  type OutboxRecord,
  type PendingFilter,
  type WatchStore,
} from "./outbox.js";
import { AugurError } from "../lib/errors.js";
import {
  closedError,
  failedEarlier,
  matches,
  pendingRecord,
  newestFirst,
  notDead,
} from "./store-common.js";

/** Listings may run this far past their bound before a trim, so a finish does not copy the list. */
const TRIM_BATCH = 100;

/** Appends, dropping the oldest entries in batches once the list is well past `max`. */
function keepNewest(list: OutboxRecord[], rec: OutboxRecord, max: number): void {
  list.push(rec);
  if (list.length > max + TRIM_BATCH) list.splice(0, list.length - max);
}

export class MemoryWatchStore implements WatchStore {
  readonly kind = "memory" as const;
  readonly #states = new Map<string, PersistedWatchState>();
  readonly #pending = new Map<number, OutboxRecord>();
  readonly #history: OutboxRecord[] = [];
  #dead: OutboxRecord[] = [];
  #seq = 0;
  #closed = false;
  /** Watches whose last commit failed, until they resume (see WatchStore.commit). */
  readonly #failed = new Set<string>();

  async loadState(watchId: string): Promise<PersistedWatchState | undefined> {
    this.#check();
    return structuredClone(this.#states.get(watchId));
  }

  async commit(
    watchId: string,
    state: PersistedWatchState | null,
    records: readonly NewRecord[],
  ): Promise<OutboxRecord[]> {
    this.#check();
    if (this.#failed.has(watchId)) throw failedEarlier(watchId);
    try {
      if (state !== null) this.#states.set(watchId, structuredClone(state));
    } catch (err) {
      this.#failed.add(watchId);
      throw new AugurError(
        "STORE_IO",
        `watch outbox: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return records.map((r) => {
      const seq = ++this.#seq;
      const rec = pendingRecord(r, seq);
      this.#pending.set(seq, rec);
      return rec;
    });
  }

  resume(watchId: string): void {
    this.#failed.delete(watchId);
  }

  async pending(filter: PendingFilter = {}): Promise<OutboxRecord[]> {
    this.#check();
    return [...this.#pending.values()]
      .filter((r) => matches(r, filter))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, filter.limit ?? Infinity);
  }

  async pendingSummary(
    watchId: string,
    handlerKey: string,
  ): Promise<{ count: number; lastSeq: number }> {
    this.#check();
    let count = 0;
    let lastSeq = 0;
    for (const r of this.#pending.values())
      if (r.watchId === watchId && r.handlerKey === handlerKey) {
        count++;
        lastSeq = Math.max(lastSeq, r.seq);
      }
    return { count, lastSeq };
  }

  async recordAttempt(record: OutboxRecord): Promise<void> {
    this.#check();
    if (this.#pending.has(record.seq)) this.#pending.set(record.seq, record);
  }

  async finish(
    record: OutboxRecord,
    status: "delivered" | "dead",
    finishedAt: number,
    lastError?: string,
  ): Promise<OutboxRecord> {
    this.#check();
    this.#pending.delete(record.seq);
    const done: OutboxRecord = {
      ...record,
      status,
      finishedAt,
      ...(lastError !== undefined ? { lastError } : {}),
    };
    if (status === "delivered") keepNewest(this.#history, done, HISTORY_MAX);
    else keepNewest(this.#dead, done, DEAD_MAX);
    return done;
  }

  async requeue(ids: readonly string[] | "all-dead", now: number): Promise<OutboxRecord[]> {
    this.#check();
    const chosen = this.#dead.filter((r) => ids === "all-dead" || ids.includes(r.id));
    this.#dead = this.#dead.filter((r) => !chosen.includes(r));
    return chosen.map((r) => {
      const seq = ++this.#seq;
      const rec: OutboxRecord = {
        ...notDead(r),
        seq,
        nextAttemptAt: now,
        replays: (r.replays ?? 0) + 1,
      };
      this.#pending.set(seq, rec);
      return rec;
    });
  }

  async recent(limit = HISTORY_MAX, watchId?: string): Promise<OutboxRecord[]> {
    this.#check();
    return newestFirst(ofWatch(this.#history, watchId), limit);
  }

  async dead(limit = DEAD_MAX, watchId?: string): Promise<OutboxRecord[]> {
    this.#check();
    return newestFirst(ofWatch(this.#dead, watchId), limit);
  }

  depth(): number {
    return this.#pending.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(): void {
    if (this.#closed) throw closedError();
  }
}

const ofWatch = (list: OutboxRecord[], watchId: string | undefined): OutboxRecord[] =>
  watchId === undefined ? list : list.filter((r) => r.watchId === watchId);
