/**
 * The outbox and watch state on disk: an lmdb environment of its own under
 * `<data_dir>/watches/`. `commit` resolves only after lmdb has committed *and flushed* the
 * transaction, so an event counts as detected only once it survives a crash or power loss.
 *
 * Group commit: every write (commit, recordAttempt, finish, requeue) joins a queue, and one
 * writer applies everything queued in one lmdb transaction followed by one flush. A flush costs
 * about the same whatever it carries, so one flush per operation capped the outbox near the
 * disk's fsync rate (~1,200 operations/s on the benchmark machine); shared, a flush carries every
 * write that arrived while the previous transaction was committed and flushed (in lmdb 3.5 a
 * transaction's promise resolves only once lmdb has synced it, `overlappingSync` or not). Each
 * caller still resolves only once *its* data is where its contract says: after the flush of the
 * transaction that carried it (durable writes), or once that transaction committed (the
 * bookkeeping writes that may be lost, see {@link WatchStore}); durable writers wait on
 * `flushed` themselves, so their durability does not rest on that lmdb detail.
 * (lmdb-js also merges transactions requested while one is being written, so overlapping
 * callers already shared flushes before this queue; measured, commits alone run at the same
 * rate. What the queue adds: each durable caller waits for the flush of *its* transaction, not of
 * whichever was newest when it asked, and the batching is ours to count — see `stats()`.)
 *
 * Layout (ordered array keys): `["state", watchId]`, `["q", seq]` pending records,
 * `["qh", watchId, handlerKey, seq]` the same records by handler, `["hist", n]` recent
 * deliveries and `["hw", watchId, n]` the same by watch, `["dead", n]` dead letters and
 * `["dw", watchId, n]` the same by watch, `["meta", "seq" | "fin" | "indexed"]` counters and
 * a flag. The indexes are written in the same transactions as what they index, and built once at
 * open for a store written before them.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { AugurError } from "../lib/errors.js";
import { holdBatchCommit, holdCommitError, lmdbFailureMessage } from "../lib/lmdb-commit.js";
import type { PersistedWatchState } from "./detector.js";
import {
  DEAD_MAX,
  HISTORY_MAX,
  type NewRecord,
  type OutboxRecord,
  type PendingFilter,
  type WatchStore,
} from "./outbox.js";
import { closedError, failedEarlier, matches, pendingRecord, notDead } from "./store-common.js";

type Key = (string | number)[];

/** History and dead letters may exceed their bound by this much before a trim. */
const TRIM_BATCH = 100;

/** One operation waiting for the group commit. */
interface QueuedWrite {
  /** Applies the operation; runs inside the shared write transaction. */
  readonly apply: () => void;
  /** Resolve only after the flush to disk, not just the commit. */
  readonly durable: boolean;
  /** The watch a `commit` writes for: fails once an earlier commit of that watch failed. */
  readonly watchId?: string;
  readonly resolve: () => void;
  readonly reject: (err: AugurError) => void;
}

/** A delivered record's or dead letter's entry in its area's by-watch index. */
const byWatch = (area: "hist" | "dead", watchId: string, n: number): Key => [
  area === "hist" ? "hw" : "dw",
  watchId,
  n,
];

/** A pending record's entry in the by-handler index. */
const byHandler = (watchId: string, handlerKey: string, seq: number): Key => [
  "qh",
  watchId,
  handlerKey,
  seq,
];

function ioError(err: unknown): AugurError {
  if (err instanceof AugurError) return err;
  return new AugurError(
    "STORE_IO",
    `watch outbox: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

export class LmdbWatchStore implements WatchStore {
  readonly kind = "disk" as const;
  readonly #db: RootDatabase<unknown, Key>;
  #seq: number;
  #fin: number;
  #depth: number;
  readonly #counts: Record<string, number>;
  #closed = false;
  #queued: QueuedWrite[] = [];
  /** Watches whose commit failed, until they resume (see {@link WatchStore.commit}). */
  readonly #failedWatches = new Set<string>();
  readonly #stats = { writes: 0, transactions: 0, flushes: 0 };
  /** The group-commit writer while it runs (see {@link LmdbWatchStore.#drain}). */
  #writer: Promise<void> | undefined;

  private constructor(db: RootDatabase<unknown, Key>) {
    this.#db = db;
    this.#seq = (db.get(["meta", "seq"]) as number | undefined) ?? 0;
    this.#fin = (db.get(["meta", "fin"]) as number | undefined) ?? 0;
    if (db.get(["meta", "indexed"]) === undefined) {
      // A store from before the indexes: index what it holds, once.
      db.transactionSync(() => {
        for (const area of ["q", "hist", "dead"] as const)
          for (const { key, value } of db.getRange({
            start: [area, 0],
            end: [area, Number.MAX_SAFE_INTEGER],
          })) {
            const r = value as OutboxRecord;
            const n = key[1] as number;
            void db.put(
              area === "q" ? byHandler(r.watchId, r.handlerKey, n) : byWatch(area, r.watchId, n),
              null,
            );
          }
        void db.put(["meta", "indexed"], 1);
      });
    }
    this.#depth = this.#count("q");
    this.#counts = { hist: this.#count("hist"), dead: this.#count("dead") };
  }

  /** Opens (creating) the environment in `<dir>` (the agent passes `<data_dir>/watches`). */
  static async open(dir: string): Promise<LmdbWatchStore> {
    try {
      await mkdir(dir, { recursive: true });
      return new LmdbWatchStore(
        open<unknown, Key>({ path: join(dir, "outbox.mdb"), compression: false }),
      );
    } catch (err) {
      throw ioError(err);
    }
  }

  async loadState(watchId: string): Promise<PersistedWatchState | undefined> {
    this.#check();
    return this.#db.get(["state", watchId]) as PersistedWatchState | undefined;
  }

  async commit(
    watchId: string,
    state: PersistedWatchState | null,
    records: readonly NewRecord[],
  ): Promise<OutboxRecord[]> {
    this.#check();
    const created: OutboxRecord[] = [];
    await this.#write(
      () => {
        if (state !== null) void this.#db.put(["state", watchId], state);
        for (const r of records) {
          const seq = ++this.#seq;
          const rec = pendingRecord(r, seq);
          void this.#db.put(["q", seq], rec);
          void this.#db.put(byHandler(rec.watchId, rec.handlerKey, seq), null);
          created.push(rec);
        }
        if (records.length > 0) void this.#db.put(["meta", "seq"], this.#seq);
      },
      true,
      watchId,
    );
    this.#depth += created.length;
    return created;
  }

  resume(watchId: string): void {
    this.#failedWatches.delete(watchId);
    const stale = this.#queued.filter((w) => w.watchId === watchId);
    if (stale.length === 0) return;
    this.#queued = this.#queued.filter((w) => w.watchId !== watchId);
    for (const w of stale) w.reject(failedEarlier(watchId));
  }

  async pending(filter: PendingFilter = {}): Promise<OutboxRecord[]> {
    this.#check();
    const out: OutboxRecord[] = [];
    const limit = filter.limit ?? Infinity;
    const { watchId, handlerKey } = filter;
    if (watchId !== undefined && handlerKey !== undefined) {
      // One handler's queue through the index: no pass over other handlers' records.
      for (const key of this.#db.getKeys({
        start: byHandler(watchId, handlerKey, (filter.afterSeq ?? -1) + 1),
        end: byHandler(watchId, handlerKey, Number.MAX_SAFE_INTEGER),
        ...(filter.limit !== undefined ? { limit: filter.limit } : {}),
      })) {
        const r = this.#db.get(["q", key[3] as number]) as OutboxRecord | undefined;
        if (r !== undefined) out.push(r);
      }
      return out;
    }
    for (const { value } of this.#db.getRange({
      start: ["q", (filter.afterSeq ?? -1) + 1],
      end: ["q", Number.MAX_SAFE_INTEGER],
    })) {
      if (out.length >= limit) break;
      const r = value as OutboxRecord;
      if (matches(r, filter)) out.push(r);
    }
    return out;
  }

  async pendingSummary(
    watchId: string,
    handlerKey: string,
  ): Promise<{ count: number; lastSeq: number }> {
    this.#check();
    const range = {
      start: byHandler(watchId, handlerKey, 0),
      end: byHandler(watchId, handlerKey, Number.MAX_SAFE_INTEGER),
    };
    const count = this.#db.getKeysCount(range);
    let lastSeq = 0;
    for (const key of this.#db.getKeys({
      start: range.end,
      end: range.start,
      reverse: true,
      limit: 1,
    }))
      lastSeq = key[3] as number;
    return { count, lastSeq };
  }

  async recordAttempt(record: OutboxRecord): Promise<void> {
    this.#check();
    await this.#write(() => {
      if (this.#db.get(["q", record.seq]) !== undefined)
        void this.#db.put(["q", record.seq], record);
    }, false);
  }

  async finish(
    record: OutboxRecord,
    status: "delivered" | "dead",
    finishedAt: number,
    lastError?: string,
  ): Promise<OutboxRecord> {
    this.#check();
    const done: OutboxRecord = {
      ...record,
      status,
      finishedAt,
      ...(lastError !== undefined ? { lastError } : {}),
    };
    const area = status === "delivered" ? "hist" : "dead";
    let removed = false;
    await this.#write(() => {
      removed = this.#db.get(["q", record.seq]) !== undefined;
      void this.#db.remove(["q", record.seq]);
      void this.#db.remove(byHandler(record.watchId, record.handlerKey, record.seq));
      const n = ++this.#fin;
      void this.#db.put([area, n], done);
      void this.#db.put(byWatch(area, done.watchId, n), null);
      void this.#db.put(["meta", "fin"], n);
      this.#trim(area, status === "delivered" ? HISTORY_MAX : DEAD_MAX);
    }, status === "dead");
    if (removed) this.#depth--;
    return done;
  }

  async requeue(ids: readonly string[] | "all-dead", now: number): Promise<OutboxRecord[]> {
    this.#check();
    const out: OutboxRecord[] = [];
    await this.#write(() => {
      for (const { key, value } of this.#db.getRange({
        start: ["dead", 0],
        end: ["dead", Number.MAX_SAFE_INTEGER],
      })) {
        const r = value as OutboxRecord;
        if (ids !== "all-dead" && !ids.includes(r.id)) continue;
        void this.#db.remove(key);
        void this.#db.remove(byWatch("dead", r.watchId, key[1] as number));
        this.#counts["dead"] = (this.#counts["dead"] ?? 1) - 1;
        const seq = ++this.#seq;
        const rec: OutboxRecord = {
          ...notDead(r),
          seq,
          nextAttemptAt: now,
          replays: (r.replays ?? 0) + 1,
        };
        void this.#db.put(["q", seq], rec);
        void this.#db.put(byHandler(rec.watchId, rec.handlerKey, seq), null);
        out.push(rec);
      }
      void this.#db.put(["meta", "seq"], this.#seq);
    });
    this.#depth += out.length;
    return out;
  }

  async recent(limit = HISTORY_MAX, watchId?: string): Promise<OutboxRecord[]> {
    return this.#newest("hist", limit, watchId);
  }

  async dead(limit = DEAD_MAX, watchId?: string): Promise<OutboxRecord[]> {
    return this.#newest("dead", limit, watchId);
  }

  depth(): number {
    return this.#depth;
  }

  /** Writes applied, the transactions that carried them, and the flushes waited for (tests, benchmarks). */
  stats(): { writes: number; transactions: number; flushes: number } {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#writer !== undefined) await this.#writer;
    await this.#db.flushed;
    await this.#db.close();
  }

  #newest(area: "hist" | "dead", limit: number, watchId?: string): OutboxRecord[] {
    this.#check();
    const out: OutboxRecord[] = [];
    if (watchId !== undefined) {
      // One watch's, through its index: up to `limit` reads, wherever they are in the area.
      for (const key of this.#db.getKeys({
        start: byWatch(area, watchId, Number.MAX_SAFE_INTEGER),
        end: byWatch(area, watchId, 0),
        reverse: true,
        limit,
      })) {
        const r = this.#db.get([area, key[2] as number]) as OutboxRecord | undefined;
        if (r !== undefined) out.push(r);
      }
      return out;
    }
    for (const { value } of this.#db.getRange({
      start: [area, Number.MAX_SAFE_INTEGER],
      end: [area, 0],
      reverse: true,
      limit,
    }))
      out.push(value as OutboxRecord);
    return out;
  }

  #count(area: string): number {
    return this.#db.getKeysCount({ start: [area, 0], end: [area, Number.MAX_SAFE_INTEGER] });
  }

  /** Keeps about the newest `max` entries of an area (inside a write transaction), trimming in batches. */
  #trim(area: "hist" | "dead", max: number): void {
    const count = (this.#counts[area] ?? 0) + 1;
    this.#counts[area] = count;
    if (count <= max + TRIM_BATCH) return;
    // Read before removing: a range is not walked while it is being changed.
    const oldest = [
      ...this.#db.getRange({
        start: [area, 0],
        end: [area, Number.MAX_SAFE_INTEGER],
        limit: count - max,
      }),
    ];
    for (const { key, value } of oldest) {
      void this.#db.remove(key);
      void this.#db.remove(byWatch(area, (value as OutboxRecord).watchId, key[1] as number));
    }
    this.#counts[area] = count - oldest.length;
  }

  /** Queues `apply` for the next group commit; `durable` also waits for the flush to disk. */
  #write(apply: () => void, durable = true, watchId?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ apply, durable, resolve, reject, ...(watchId ? { watchId } : {}) });
      this.#writer ??= this.#drain();
    });
  }

  /**
   * The single writer: one transaction at a time, each carrying every write queued when lmdb
   * runs its callback (not when it was requested: writes that arrive while the previous
   * transaction is written ride along). It does not itself wait for a flush before the next
   * transaction; each transaction's durable writers wait for that transaction's own flush.
   */
  async #drain(): Promise<void> {
    while (this.#queued.length > 0) {
      let batch: QueuedWrite[] = [];
      const failed = new Set<QueuedWrite>();
      try {
        await this.#db.transaction(() => {
          holdBatchCommit(this.#db);
          batch = this.#take();
          for (const w of batch) {
            // Computed on top of a commit that failed: applying it would skip that one's event.
            if (w.watchId !== undefined && this.#failedWatches.has(w.watchId)) {
              failed.add(w);
              w.reject(failedEarlier(w.watchId));
              continue;
            }
            try {
              w.apply();
            } catch (err) {
              failed.add(w);
              this.#fail(w);
              w.reject(ioError(err));
            }
          }
        });
      } catch (err) {
        // The transaction failed as a whole (or never ran its callback): nothing in it counts.
        if (batch.length === 0) batch = this.#take();
        const error = new AugurError("STORE_IO", `watch outbox: ${await lmdbFailureMessage(err)}`, {
          cause: err,
        });
        for (const w of batch) {
          if (failed.has(w)) continue;
          this.#fail(w);
          w.reject(error);
        }
        continue;
      }
      this.#stats.transactions++;
      this.#stats.writes += batch.length - failed.size;
      this.#settle(batch.filter((w) => !failed.has(w)));
    }
    this.#writer = undefined;
  }

  #take(): QueuedWrite[] {
    const batch = this.#queued;
    this.#queued = [];
    return batch;
  }

  /** Resolves a committed batch: bookkeeping now, durable writes when this transaction is flushed. */
  #settle(batch: readonly QueuedWrite[]): void {
    const durable = batch.filter((w) => w.durable);
    for (const w of batch) if (!w.durable) w.resolve();
    if (durable.length === 0) return;
    this.#stats.flushes++;
    // `flushed` is lmdb's flush of the newest transaction *at the time then() is called*: call it
    // now, before the loop queues the next transaction (wrapping it in a Promise would defer it).
    void this.#db.flushed.then(
      () => durable.forEach((w) => w.resolve()),
      (err: unknown) => {
        holdCommitError(err);
        durable.forEach((w) => {
          this.#fail(w);
          w.reject(ioError(err));
        });
      },
    );
  }

  /** A watch's commit failed: its later commits fail until it resumes. */
  #fail(w: QueuedWrite): void {
    if (w.watchId !== undefined) this.#failedWatches.add(w.watchId);
  }

  #check(): void {
    if (this.#closed) throw closedError();
  }
}
