/**
 * The durable outbox: where a detected event is written, once per handler, before anything is
 * delivered; plus each watch's persisted state, written in the same transaction so a change is
 * either recorded with its event or not at all. Implementations: {@link MemoryWatchStore}
 * (`-dev`) and {@link LmdbWatchStore} (`<data_dir>/watches/`). Both pass one contract suite.
 *
 * A record's life: `pending ──delivered──▶ delivered (recent history, bounded)`,
 * `pending ──permanent failure / retries exhausted──▶ dead ──replay──▶ pending`.
 *
 * @module
 */
import type { PersistedWatchState } from "./detector.js";

export type DeliveryStatus = "pending" | "delivered" | "dead";

/** One event addressed to one handler. */
export interface OutboxRecord {
  /** The delivery id users see and replay (assigned at creation, kept across replays). */
  readonly id: string;
  /** Queue position: pending records of one handler are delivered in `seq` order. */
  readonly seq: number;
  /** The event id (Idempotency-Key): shared by every handler's record of the same event. */
  readonly eventId: string;
  readonly watchId: string;
  readonly handlerKey: string;
  /** `X-Consul-Index` / `CONSUL_INDEX`. */
  readonly index: string;
  readonly createdAt: number;
  /** The payload as compact JSON (without the trailing newline Consul's encoder adds). */
  readonly body: string;
  readonly status: DeliveryStatus;
  /** Attempts made so far (since the last replay). */
  readonly attempts: number;
  /** Not before this time (ms since epoch); 0 = now. */
  readonly nextAttemptAt: number;
  readonly lastError?: string;
  readonly finishedAt?: number;
  /** How many times it was replayed from the dead letters. */
  readonly replays?: number;
}

/** A record to create: the store assigns `id`, `seq`, `status`, `attempts`. */
export type NewRecord = Pick<
  OutboxRecord,
  "eventId" | "watchId" | "handlerKey" | "index" | "createdAt" | "body"
>;

export interface PendingFilter {
  readonly watchId?: string;
  readonly handlerKey?: string;
  /** Only records queued after this one (`seq` greater than this). */
  readonly afterSeq?: number;
  /** At most this many records (the first ones in queue order). */
  readonly limit?: number;
}

/** Recent history and dead letters are bounded; the oldest entries are dropped first. */
export const HISTORY_MAX = 1000;
export const DEAD_MAX = 10_000;

export interface WatchStore {
  /** `memory` or `disk`: for logs and the deliveries API. */
  readonly kind: "memory" | "disk";
  loadState(watchId: string): Promise<PersistedWatchState | undefined>;
  /**
   * Atomically (and durably, for disk) stores the watch's state (null: keep it) and enqueues the
   * records; resolves once durable. Commits apply in call order, so a watch may call `commit`
   * again before the previous one resolved (its next state is computed on top of the previous
   * one): this is how one watch's burst shares flushes. For the same reason, once a commit of a
   * watch fails, every later commit of that watch fails too, queued or new, until
   * {@link WatchStore.resume}: the watch first goes back to its last durable state.
   */
  commit(
    watchId: string,
    state: PersistedWatchState | null,
    records: readonly NewRecord[],
  ): Promise<OutboxRecord[]>;
  /**
   * Clears a watch's failed state (see `commit`); commits of the watch still queued from before
   * fail. The watch calls it once it has gone back to its last durable state.
   */
  resume(watchId: string): void;
  /** Pending records in queue order. */
  pending(filter?: PendingFilter): Promise<OutboxRecord[]>;
  /**
   * How many records one handler has pending, and the highest `seq` among them (0: none),
   * without reading them: a worker starting after a long outage reads its backlog back in
   * pages instead of holding all of it.
   */
  pendingSummary(watchId: string, handlerKey: string): Promise<{ count: number; lastSeq: number }>;
  /**
   * Records a failed attempt on a pending record (attempts, nextAttemptAt, lastError). Resolves
   * once committed, *not* flushed: the attempt count only bounds retries, and losing the last
   * one to a crash costs at most one more attempt, so it is not worth a flush of its own.
   */
  recordAttempt(record: OutboxRecord): Promise<void>;
  /**
   * Moves a pending record to the recent history (`delivered`) or the dead letters (`dead`).
   * `dead` resolves once durable. `delivered` resolves once committed, and reaches the disk with
   * the next flush (another write's, or lmdb's own): a crash in that window delivers the record again
   * after the restart — the at-least-once duplicate receivers already dedupe by event id.
   */
  finish(
    record: OutboxRecord,
    status: "delivered" | "dead",
    finishedAt: number,
    lastError?: string,
  ): Promise<OutboxRecord>;
  /** Moves dead letters back to the tail of their handler's queue with attempts reset. */
  requeue(ids: readonly string[] | "all-dead", now: number): Promise<OutboxRecord[]>;
  /** Delivered records, newest first; only `watchId`'s when given (read by index, up to `limit`). */
  recent(limit?: number, watchId?: string): Promise<OutboxRecord[]>;
  /** Dead letters, newest first; only `watchId`'s when given (read by index, up to `limit`). */
  dead(limit?: number, watchId?: string): Promise<OutboxRecord[]>;
  /** Pending record count (outbox depth). */
  depth(): number;
  close(): Promise<void>;
}
