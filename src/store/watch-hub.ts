/**
 * Shared by the embedded stores: compare evaluation with etcd's semantics, and the watch hub —
 * a bounded history of revisions plus per-watcher queues, so a slow consumer never blocks a
 * writer and a watcher can resume from any revision still in the history.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import type { Compare, KeyValue, WatchBatch, WatchOptions } from "./store.js";

/** True when `c` holds for the key's current state (a missing key has all revisions 0). */
export function compareHolds(c: Compare, kv: KeyValue | undefined): boolean {
  if (c.target === "exists") return (kv !== undefined) === c.exists;
  if (c.target === "value") {
    const same = kv !== undefined && Buffer.compare(Buffer.from(kv.value), Buffer.from(c.value)) === 0;
    return c.op === "=" ? same : !same;
  }
  const actual = kv === undefined ? 0 : c.target === "modRevision" ? kv.modRevision : c.target === "createRevision" ? kv.createRevision : kv.version;
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

interface Subscriber {
  readonly prefix: string;
  readonly queue: WatchBatch[];
  wake?: () => void;
  closed: boolean;
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
  const kvBytes = (kv: KeyValue | undefined): number => (kv ? kv.key.length * 2 + kv.value.byteLength : 0);
  for (const e of batch.events) n += EVENT_OVERHEAD_BYTES + (e.type === "put" ? kvBytes(e.kv) : e.key.length * 2) + kvBytes(e.prev);
  return n;
}

/** Stands in for a dropped entry until the array is compacted. */
const DROPPED = { batch: { revision: 0, events: [] }, size: 0 } as const satisfies { batch: WatchBatch; size: number };

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
    this.#append(batch);
    for (const sub of this.#subscribers) this.#deliver(sub, batch);
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

  #append(batch: WatchBatch): void {
    const size = batchBytes(batch);
    this.#entries.push({ batch, size });
    this.#bytes += size;
    // The newest batch always stays, even alone over the byte bound: a watcher must see it.
    while (this.#entries.length - this.#head > 1 && (this.#entries.length - this.#head > this.#maxRevisions || this.#bytes > this.#maxBytes)) {
      const dropped = this.#entries[this.#head] as { batch: WatchBatch; size: number };
      this.#entries[this.#head++] = DROPPED; // the batch itself is released now, not at compaction
      this.#bytes -= dropped.size;
      this.#compactedThrough = dropped.batch.revision;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  close(): void {
    this.#closed = true;
    for (const sub of this.#subscribers) {
      sub.closed = true;
      sub.wake?.();
    }
    this.#subscribers.clear();
  }

  subscribe(prefix: string, options: WatchOptions, currentRevision: number): AsyncIterable<WatchBatch> {
    const sub: Subscriber = { prefix, queue: [], closed: this.#closed };
    const from = options.fromRevision;
    if (from !== undefined && from <= currentRevision) {
      // History is complete after #compactedThrough; a watcher asking for anything older (but
      // after revision 1, which means "from the start" on a fresh store) has missed changes.
      if (from <= this.#compactedThrough && from > 1) {
        const err = new AugurError("STORE_COMPACTED", `revision ${from} has been compacted; oldest kept is ${this.oldestKept()}`);
        return {
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
        };
      }
      for (let i = this.#head; i < this.#entries.length; i++) {
        const batch = (this.#entries[i] as { batch: WatchBatch }).batch;
        if (batch.revision >= from) this.#deliver(sub, batch);
      }
    }
    this.#subscribers.add(sub);
    const signal = options.signal;
    const stop = (): void => {
      sub.closed = true;
      this.#subscribers.delete(sub);
      sub.wake?.();
    };
    signal?.addEventListener("abort", stop, { once: true });
    const subscribers = this.#subscribers;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          while (!sub.closed || sub.queue.length > 0) {
            if (signal?.aborted) return;
            const next = sub.queue.shift();
            if (next) {
              yield next;
              continue;
            }
            if (sub.closed) return;
            await new Promise<void>((resolve) => (sub.wake = resolve));
            sub.wake = undefined;
          }
        } finally {
          signal?.removeEventListener("abort", stop);
          subscribers.delete(sub);
        }
      },
    };
  }

  #deliver(sub: Subscriber, batch: WatchBatch): void {
    const events = sub.prefix === "" ? batch.events : batch.events.filter((e) => (e.type === "put" ? e.kv.key : e.key).startsWith(sub.prefix));
    if (events.length === 0) return;
    sub.queue.push(events === batch.events ? batch : { revision: batch.revision, events });
    sub.wake?.();
  }
}
