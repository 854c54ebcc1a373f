/**
 * Drains one handler's queue in order: a record is delivered, retried with backoff, or
 * dead-lettered before the next one is tried, so one watch's events reach a handler in the
 * order they were detected. Each handler has its own worker: a slow or failing handler holds up
 * only its own queue, never the watch loop or other handlers, and a retry goes only to the
 * handler that failed.
 *
 * ```
 * idle ──record──▶ delivering ──ok / permanent / exhausted──▶ (next record | idle)
 *                       └──retryable──▶ waiting (backoff, Retry-After) ──▶ delivering
 * any ──stop──▶ stopping (grace for the attempt in flight, then abort) ──▶ stopped
 * ```
 * With a gate (`once_per_cluster`), each attempt is first admitted: a record the cluster leader
 * already delivered is finished as delivered by it, and on an agent that is not the leader the
 * queue stands by (`standby`) until leadership or the leader's watermark moves.
 * A record aborted by a stop stays pending and is delivered again after the restart: delivery
 * is at least once, and the Idempotency-Key lets receivers drop the duplicate.
 *
 * A delivered record is moved to the history while the next record is delivered (the store
 * writes both in one group commit, see lmdb-store.ts) and before that one's outcome is
 * written, so the store still sees each handler's records settled in order. Should recording
 * a delivery fail, the write is retried, not the delivery.
 *
 * The queue in memory is bounded (10,000 records or 16 MiB of bodies by default): every record
 * is already in the outbox, so past the bound the worker stops copying new ones into memory
 * and, once it has worked through the queue, reads the next ones back from the outbox in queue
 * order. A handler that is down for hours holds its backlog on disk, not in the heap.
 *
 * @module
 */
import { toAugurError } from "../lib/errors.js";
import { BoundedQueue } from "../lib/bounded-queue.js";
import { sleep, type Clock } from "./clock.js";
import type { DeliveryRequest, Handler } from "./handlers/handler.js";
import type { OutboxRecord, WatchStore } from "./outbox.js";
import { backoffMs, exhausted, type DeliveryOutcome } from "./retry.js";
import type { RetryPolicy } from "./types.js";
import type { WatchLogger } from "./logger.js";
import type { DeliveryGate } from "./cluster-leader.js";

/** `standby`: a `once_per_cluster` watch on an agent that is not its leader holds its records. */
export type WorkerState = "idle" | "delivering" | "waiting" | "standby" | "stopping" | "stopped";

/** What a worker reports (metrics). */
export interface DeliveryObserver {
  delivered(record: OutboxRecord, latencyMs: number): void;
  failed(record: OutboxRecord, permanent: boolean): void;
  retried(record: OutboxRecord): void;
  deadLettered(record: OutboxRecord): void;
}

export interface DeliveryWorkerOptions {
  readonly handler: Handler;
  readonly retry: RetryPolicy;
  readonly store: WatchStore;
  readonly clock: Clock;
  readonly logger: WatchLogger;
  readonly observer?: DeliveryObserver;
  /** How long `stop()` lets an attempt in flight finish before aborting it (default 5 s). */
  readonly stopGraceMs?: number;
  readonly random?: () => number;
  /** `once_per_cluster`: who may deliver (see cluster-leader.ts). */
  readonly gate?: DeliveryGate;
  /** Bounds on the records held in memory (the rest wait in the store). */
  readonly queueMax?: { readonly records?: number; readonly bodyBytes?: number };
}

/** Delivered records one worker may have waiting to be recorded as delivered. */
const RECORDINGS_IN_FLIGHT_MAX = 64;

const STORE_RETRY_MS = 1000;
export const QUEUE_MAX_RECORDS = 10_000;
export const QUEUE_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Records the full queue refused: still pending in the store, read back when the queue drains. */
interface Spilled {
  readonly watchId: string;
  readonly handlerKey: string;
  /** The lowest seq not read back yet. */
  fromSeq: number;
  /** The highest seq spilled: a pending record past it is not this worker's yet (see #reload). */
  maxSeq: number;
  /** Roughly how many (for `depth`). */
  count: number;
  /** Bumped by every spill, so a reload knows whether records arrived while it read. */
  epoch: number;
}

export class DeliveryWorker {
  readonly #o: DeliveryWorkerOptions;
  readonly #abort = new AbortController();
  readonly #stopSignal = new AbortController();
  readonly #queue: BoundedQueue<OutboxRecord>;
  #spilled: Spilled | undefined;
  /** The bookkeeping of the last successful delivery, written while the next one is attempted. */
  /**
   * Delivered records whose move to the history is still being written, oldest first (each
   * settles, never rejects). The worker delivers on without waiting for them — the outbox
   * applies writes in order — up to {@link RECORDINGS_IN_FLIGHT_MAX}.
   */
  readonly #recordings: Promise<void>[] = [];
  #state: WorkerState = "idle";
  #loop: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.#o = options;
    this.#queue = new BoundedQueue<OutboxRecord>({
      maxItems: options.queueMax?.records ?? QUEUE_MAX_RECORDS,
      maxWeight: options.queueMax?.bodyBytes ?? QUEUE_MAX_BODY_BYTES,
      weigh: (r) => r.body.length,
      order: (a, b) => a.seq - b.seq,
    });
  }

  get state(): WorkerState {
    return this.#state;
  }

  get depth(): number {
    return this.#queue.size + (this.#spilled?.count ?? 0);
  }

  /**
   * Queues the records the store already holds for this handler (at start): as many as the
   * queue takes; the rest are read back from the store as it drains, so a backlog left by a long
   * outage is never all in memory at once. Call before {@link start} and before any commit of
   * the watch (its records past the store's current ones come through {@link enqueue}).
   */
  async loadPending(watchId: string, handlerKey: string): Promise<void> {
    const { count, lastSeq } = await this.#o.store.pendingSummary(watchId, handlerKey);
    if (count === 0) return;
    const room = this.#o.queueMax?.records ?? QUEUE_MAX_RECORDS;
    const first = await this.#o.store.pending({ watchId, handlerKey, limit: room });
    this.enqueue(first);
    if (count <= first.length) return;
    const s = (this.#spilled ??= {
      watchId,
      handlerKey,
      fromSeq: Infinity,
      maxSeq: 0,
      count: 0,
      epoch: 0,
    });
    s.fromSeq = Math.min(s.fromSeq, (first.at(-1)?.seq ?? 0) + 1);
    s.maxSeq = Math.max(s.maxSeq, lastSeq);
    s.count += count - first.length;
    s.epoch++;
  }

  /** Adds records (already durable in the store) to the queue, in `seq` order. */
  enqueue(records: readonly OutboxRecord[]): void {
    // Once records wait in the store, later ones wait there too: they are read back in order.
    for (const r of records)
      if (this.#spilled !== undefined || !this.#queue.push(r)) this.#spill(r);
  }

  #spill(r: OutboxRecord): void {
    const s = (this.#spilled ??= {
      watchId: r.watchId,
      handlerKey: r.handlerKey,
      fromSeq: r.seq,
      maxSeq: r.seq,
      count: 0,
      epoch: 0,
    });
    s.fromSeq = Math.min(s.fromSeq, r.seq);
    s.maxSeq = Math.max(s.maxSeq, r.seq);
    s.count++;
    s.epoch++;
  }

  /**
   * Reads spilled records back from the store, as many as the queue takes, in queue order. Runs
   * only with the queue empty and no attempt in flight, so every pending record from `fromSeq`
   * on is one this worker has yet to deliver.
   */
  async #reload(s: Spilled): Promise<void> {
    const { fromSeq: from, epoch } = s;
    s.fromSeq = Infinity; // records spilled while the store is read lower it again
    const room = this.#o.queueMax?.records ?? QUEUE_MAX_RECORDS;
    let loaded: OutboxRecord[];
    try {
      loaded = await this.#o.store.pending({
        watchId: s.watchId,
        handlerKey: s.handlerKey,
        afterSeq: from - 1,
        limit: room,
      });
    } catch (err) {
      s.fromSeq = Math.min(s.fromSeq, from);
      this.#o.logger.error("watch outbox read failed", {
        watch: s.watchId,
        error: toAugurError(err).message,
      });
      await sleep(this.#o.clock, STORE_RETRY_MS, this.#stopSignal.signal);
      return;
    }
    let next = from;
    let taken = 0;
    let past = false;
    for (const r of loaded) {
      // Committed, but its enqueue has not come yet (it comes once the commit is flushed):
      // taking it now would queue it twice.
      if (r.seq > s.maxSeq) {
        past = true;
        break;
      }
      if (!this.#queue.push(r)) break;
      next = r.seq + 1;
      taken++;
    }
    s.count = Math.max(0, s.count - taken);
    s.fromSeq = Math.min(s.fromSeq, next);
    // Done when every spilled record is back and nothing was spilled while the store was read.
    const all = past || (taken === loaded.length && loaded.length < room);
    if (all && s.epoch === epoch) this.#spilled = undefined;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Lets the attempt in flight finish (up to the grace time), then aborts it; resolves when stopped. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopping";
    this.#stopSignal.abort();
    const grace = setTimeout(() => this.#abort.abort(), this.#o.stopGraceMs ?? 5000);
    await this.#loop;
    clearTimeout(grace);
    this.#o.handler.close?.();
    this.#state = "stopped";
  }

  get #stopping(): boolean {
    return this.#stopSignal.signal.aborted;
  }

  async #run(): Promise<void> {
    /** The head record a whole wait was slept for (see below). */
    let waitedFor: { seq: number; nextAttemptAt: number } | undefined;
    while (!this.#stopping) {
      const record = this.#queue.peek();
      if (record === undefined) {
        if (this.#spilled !== undefined) {
          await this.#recorded(); // the read must not find a delivered record still pending
          await this.#reload(this.#spilled);
          continue;
        }
        this.#state = "idle";
        await this.#queue.wait(this.#stopSignal.signal);
        continue;
      }
      // `nextAttemptAt` is wall-clock time (it is kept across restarts and shown), but the wait
      // is a timer, which runs on the monotonic clock: once the whole wait has been slept for
      // this record, it is due, even if the wall clock was stepped back meanwhile (re-reading the
      // clock would add the step to the wait: an hour's step, an hour's delay).
      const wait = record.nextAttemptAt - this.#o.clock.now();
      const slept =
        waitedFor?.seq === record.seq && waitedFor.nextAttemptAt === record.nextAttemptAt;
      if (wait > 0 && !slept) {
        this.#state = "waiting";
        await sleep(this.#o.clock, wait, this.#stopSignal.signal);
        waitedFor = { seq: record.seq, nextAttemptAt: record.nextAttemptAt };
        continue;
      }
      waitedFor = undefined;
      const fencingToken = await this.#admit(record);
      if (fencingToken === false) continue;
      await this.#attempt(record, fencingToken);
    }
    await this.#recorded();
  }

  /** Resolves once every delivered record so far is recorded as delivered. */
  async #recorded(): Promise<void> {
    while (this.#recordings.length > 0) await Promise.all([...this.#recordings]);
  }

  /** The gate's say on the head record: its fencing token, `undefined` without a gate, false to skip this round. */
  async #admit(record: OutboxRecord): Promise<string | undefined | false> {
    const gate = this.#o.gate;
    if (gate === undefined) return undefined;
    let verdict;
    try {
      verdict = await gate.admit(record);
    } catch (err) {
      this.#o.logger.warn("watch leadership check failed; holding", {
        watch: record.watchId,
        error: toAugurError(err).message,
      });
      verdict = { kind: "hold" } as const;
    }
    if (verdict.kind === "deliver") return verdict.fencingToken;
    if (verdict.kind === "covered") {
      try {
        await this.#o.store.finish(
          record,
          "delivered",
          this.#o.clock.now(),
          `delivered by ${verdict.by}, the cluster leader`,
        );
        if (this.#queue.peek() === record) this.#queue.shift();
      } catch (err) {
        this.#o.logger.error("watch outbox write failed", {
          watch: record.watchId,
          delivery: record.id,
          error: toAugurError(err).message,
        });
        await sleep(this.#o.clock, STORE_RETRY_MS, this.#stopSignal.signal);
      }
      return false;
    }
    this.#state = "standby";
    await gate.changed(this.#stopSignal.signal);
    return false;
  }

  async #attempt(record: OutboxRecord, fencingToken: string | undefined): Promise<void> {
    this.#state = "delivering";
    const attempt = record.attempts + 1;
    const request: DeliveryRequest = {
      body: record.body,
      index: record.index,
      eventId: record.eventId,
      deliveryId: record.id,
      watchId: record.watchId,
      attempt,
      ...(fencingToken !== undefined ? { fencingToken } : {}),
    };
    // Handlers classify failures instead of throwing; a throw is a bug, retried like a failure.
    const outcome = await this.#o.handler
      .deliver(request, this.#abort.signal)
      .catch((err: unknown): DeliveryOutcome => ({
        kind: "retry",
        error: `handler failed: ${toAugurError(err).message}`,
      }));
    if (this.#abort.signal.aborted) return; // stopping: the record stays pending for the next start
    // Earlier records' bookkeeping goes to the store while this one is delivered; the store
    // applies writes in order, so this one's lands after theirs.
    while (this.#recordings.length >= RECORDINGS_IN_FLIGHT_MAX) await this.#recordings[0];
    try {
      await this.#settle({ ...record, attempts: attempt }, outcome);
    } catch (err) {
      this.#o.logger.error("watch outbox write failed; will retry the delivery", {
        watch: record.watchId,
        delivery: record.id,
        error: toAugurError(err).message,
      });
      await sleep(this.#o.clock, STORE_RETRY_MS, this.#stopSignal.signal);
    }
  }

  /**
   * Moves a delivered record to the history. A failed write is retried — the delivery itself is
   * not repeated; only a stop gives up, leaving the record pending, so it is delivered again
   * after the restart (the at-least-once duplicate).
   */
  async #recordDelivered(
    record: OutboxRecord,
    now: number,
    output: string | undefined,
    log: Record<string, unknown>,
  ): Promise<void> {
    for (;;) {
      try {
        await this.#o.store.finish(record, "delivered", now);
        break;
      } catch (err) {
        this.#o.logger.error("watch outbox write failed; will retry recording the delivery", {
          ...log,
          error: toAugurError(err).message,
        });
        if (this.#stopping) return;
        await sleep(this.#o.clock, STORE_RETRY_MS, this.#stopSignal.signal);
      }
    }
    await this.#o.gate?.delivered(record).catch(() => undefined);
    this.#o.observer?.delivered(record, now - record.createdAt);
    if (output) this.#o.logger.info("watch handler output", { ...log, output });
  }

  async #settle(record: OutboxRecord, outcome: DeliveryOutcome): Promise<void> {
    const now = this.#o.clock.now();
    const log = {
      watch: record.watchId,
      handler: this.#o.handler.target,
      delivery: record.id,
      event: record.eventId,
      attempt: record.attempts,
    };
    if (outcome.kind === "delivered") {
      this.#queue.shift();
      const recording = this.#recordDelivered(record, now, outcome.output, log);
      // Without a gate the next delivery starts now, and its bookkeeping shares a group commit
      // with this one's. With one, the leader's watermark moves before the next record is admitted.
      if (this.#o.gate) await recording;
      else {
        this.#recordings.push(recording);
        void recording.then(() => this.#recordings.splice(this.#recordings.indexOf(recording), 1));
      }
      return;
    }
    const next =
      now +
      Math.max(
        backoffMs(this.#o.retry, record.attempts, this.#o.random),
        outcome.kind === "retry" ? (outcome.retryAfterMs ?? 0) : 0,
      );
    const gaveUp =
      outcome.kind === "permanent"
        ? "permanent failure"
        : exhausted(this.#o.retry, record.attempts, record.createdAt, next);
    this.#o.observer?.failed(record, gaveUp !== undefined);
    if (gaveUp !== undefined) {
      const reason = `${outcome.error} (${gaveUp})`;
      const dead = await this.#o.store.finish(record, "dead", now, reason);
      this.#queue.shift();
      this.#o.observer?.deadLettered(dead);
      this.#o.logger.error("watch delivery dead-lettered", {
        ...log,
        error: reason,
        ...(outcome.output ? { output: outcome.output } : {}),
      });
      return;
    }
    const retried: OutboxRecord = { ...record, nextAttemptAt: next, lastError: outcome.error };
    await this.#o.store.recordAttempt(retried);
    this.#queue.replaceHead(retried);
    this.#o.observer?.retried(retried);
    this.#o.logger.warn("watch delivery failed; will retry", {
      ...log,
      error: outcome.error,
      retryInMs: next - now,
    });
  }
}
