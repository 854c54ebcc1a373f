/**
 * Shared by the embedded stores: compare evaluation with etcd's semantics, and the watch hub —
 * a bounded history of revisions plus per-watcher queues, so a slow consumer never blocks a
 * writer and a watcher can resume from any revision still in the history.
 *
 * A watcher's queue has the history's bounds: a watcher that falls further behind than the
 * history holds (revisions or bytes) could not have resumed from where it is either, so it gets
 * the same `STORE_COMPACTED` error as a watch asking for a compacted revision, and starts over
 * from a snapshot (the catalog view resyncs), instead of its queue growing without limit.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { BoundedQueue } from "../lib/bounded-queue.js";
import type { Compare, KeyValue, WatchBatch, WatchOptions } from "./store.js";

/** True when `c` holds for the key's current state (a missing key has all revisions 0). */
export function compareHolds(c: Compare, kv: KeyValue | undefined): boolean {
  if (c.target === "exists") return (kv !== undefined) === c.exists;
  if (c.target === "value") {
    const same =
      kv !== undefined && Buffer.compare(Buffer.from(kv.value), Buffer.from(c.value)) === 0;
    return c.op === "=" ? same : !same;
  }
  const actual =
    kv === undefined
      ? 0
      : c.target === "modRevision"
        ? kv.modRevision
        : c.target === "createRevision"
          ? kv.createRevision
          : kv.version;
  switch (c.op) {
    case "=":
      return actual === c.value;
    case "!=":
      return actual !== c.value;
    case "<":
      return actual < c.value;
    case ">":
      return actual > c.value;
  }
}

interface Queued {
  readonly batch: WatchBatch;
  readonly size: number;
}

interface Subscriber {
  readonly prefix: string;
  readonly queue: BoundedQueue<Queued>;
}

/** Bounds on the history a store keeps for watches to resume from. */
export interface HistoryLimits {
  /** Revisions kept (default 10,000). */
  readonly maxRevisions?: number;
  /**
   * Bytes kept, counting keys and values of every event and its previous value (default 64 MiB).
   * Without it, 10,000 revisions of 512 KiB values would pin 10 GB.
   */
  readonly maxBytes?: number;
}

export const DEFAULT_HISTORY_REVISIONS = 10_000;
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;
/** What an event costs beyond its keys and values (objects, numbers), roughly. */
const EVENT_OVERHEAD_BYTES = 96;

/** The memory a batch holds, roughly: what the byte bound counts. */
export function batchBytes(batch: WatchBatch): number {
  let n = 0;
  const kvBytes = (kv: KeyValue | undefined): number =>
    kv ? kv.key.length * 2 + kv.value.byteLength : 0;
  for (const e of batch.events)
    n +=
      EVENT_OVERHEAD_BYTES +
      (e.type === "put" ? kvBytes(e.kv) : e.key.length * 2) +
      kvBytes(e.prev);
  return n;
}

/** Stands in for a dropped entry until the array is compacted. */
const DROPPED = { batch: { revision: 0, events: [] }, size: 0 } as const satisfies {
  batch: WatchBatch;
  size: number;
};

export class WatchHub {
  /**
   * Kept revisions with their sizes; entries before #head have been dropped. Dropping advances
   * #head (the array is compacted once half of it is dead), so a write at the bound costs O(1)
   * instead of copying 10,000 entries.
   */
  #entries: { readonly batch: WatchBatch; readonly size: number }[] = [];
  #head = 0;
  #bytes = 0;
  /** Every revision up to this one has been dropped from the history (0: nothing dropped). */
  #compactedThrough = 0;
  readonly #subscribers = new Set<Subscriber>();
  readonly #maxRevisions: number;
  readonly #maxBytes: number;
  #closed = false;

  constructor(limits: HistoryLimits = {}) {
    this.#maxRevisions = limits.maxRevisions ?? DEFAULT_HISTORY_REVISIONS;
    this.#maxBytes = limits.maxBytes ?? DEFAULT_HISTORY_BYTES;
  }

  /** Records a revision's events and hands them to every watcher whose prefix they fall under. */
  publish(batch: WatchBatch): void {
    const size = this.#append(batch);
    for (const sub of this.#subscribers) this.#deliver(sub, batch, size);
  }

  /**
   * Seeds history after a restart (disk store): batches must be in revision order and complete
   * from the first one on; anything older than the first counts as compacted.
   */
  seed(batches: readonly WatchBatch[], currentRevision: number): void {
    const first = batches[0]?.revision ?? currentRevision + 1;
    this.#compactedThrough = Math.max(this.#compactedThrough, first - 1);
    for (const b of batches) this.#append(b);
  }

  /** The oldest revision still kept (the next one to be written when the history is empty). */
  oldestKept(): number {
    return this.#entries[this.#head]?.batch.revision ?? this.#compactedThrough + 1;
  }

  /** Bytes and revisions held right now (for tests and the memory benchmark). */
  size(): { revisions: number; bytes: number } {
    return { revisions: this.#entries.length - this.#head, bytes: this.#bytes };
  }

  /** Adds a batch to the history; returns its size. */
  #append(batch: WatchBatch): number {
    const size = batchBytes(batch);
    this.#entries.push({ batch, size });
    this.#bytes += size;
    // The newest batch always stays, even alone over the byte bound: a watcher must see it.
    while (
      this.#entries.length - this.#head > 1 &&
      (this.#entries.length - this.#head > this.#maxRevisions || this.#bytes > this.#maxBytes)
    ) {
      const dropped = this.#entries[this.#head] as { batch: WatchBatch; size: number };
      this.#entries[this.#head++] = DROPPED; // the batch itself is released now, not at compaction
      this.#bytes -= dropped.size;
      this.#compactedThrough = dropped.batch.revision;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return size;
  }

  close(): void {
    this.#closed = true;
    // A watcher still gets what was queued for it, then the end.
    for (const sub of this.#subscribers) sub.queue.close();
    this.#subscribers.clear();
  }

  subscribe(
    prefix: string,
    options: WatchOptions,
    currentRevision: number,
  ): AsyncIterable<WatchBatch> {
    const sub: Subscriber = { prefix, queue: this.#queue() };
    const from = options.fromRevision;
    if (from !== undefined && from <= currentRevision) {
      // History is complete after #compactedThrough; a watcher asking for anything older (but
      // after revision 1, which means "from the start" on a fresh store) has missed changes.
      if (from <= this.#compactedThrough && from > 1) {
        sub.queue.fail(
          new AugurError(
            "STORE_COMPACTED",
            `revision ${from} has been compacted; oldest kept is ${this.oldestKept()}`,
          ),
        );
      } else {
        for (let i = this.#head; i < this.#entries.length; i++) {
          const entry = this.#entries[i] as Queued;
          if (entry.batch.revision >= from) this.#deliver(sub, entry.batch, entry.size);
        }
      }
    }
    if (this.#closed) sub.queue.close();
    if (!sub.queue.closed) this.#subscribers.add(sub);
    const signal = options.signal;
    // An aborted watch ends at once, even with batches queued.
    const stop = (): void => sub.queue.close({ drop: true });
    signal?.addEventListener("abort", stop, { once: true });
    if (signal?.aborted) stop();
    const subscribers = this.#subscribers;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const { batch } of sub.queue) yield batch;
        } finally {
          signal?.removeEventListener("abort", stop);
          subscribers.delete(sub);
        }
      },
    };
  }

  /** A watcher's queue: the history's bounds; past them the watcher must resync. */
  #queue(): BoundedQueue<Queued> {
    const revisions = this.#maxRevisions;
    const bytes = this.#maxBytes;
    return new BoundedQueue<Queued>({
      maxItems: revisions,
      maxWeight: bytes,
      weigh: (q) => q.size,
      overflow: {
        fail: () =>
          new AugurError(
            "STORE_COMPACTED",
            `the watcher fell behind by more than the history holds (${revisions} revisions, ${bytes} bytes); resync from a snapshot`,
          ),
      },
    });
  }

  #deliver(sub: Subscriber, batch: WatchBatch, size: number): void {
    const events =
      sub.prefix === ""
        ? batch.events
        : batch.events.filter((e) => (e.type === "put" ? e.kv.key : e.key).startsWith(sub.prefix));
    if (events.length === 0) return;
    const mine = events === batch.events ? batch : { revision: batch.revision, events };
    // A watcher whose queue overflowed has been failed: it resyncs and watches anew.
    if (!sub.queue.push({ batch: mine, size: mine === batch ? size : batchBytes(mine) }))
      this.#subscribers.delete(sub);
  }
}
