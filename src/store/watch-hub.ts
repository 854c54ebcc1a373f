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

export class WatchHub {
  readonly #history: WatchBatch[] = [];
  readonly #subscribers = new Set<Subscriber>();
  #closed = false;

  constructor(private readonly historyLimit: number) {}

  /** Records a revision's events and hands them to every watcher whose prefix they fall under. */
  publish(batch: WatchBatch): void {
    this.#history.push(batch);
    if (this.#history.length > this.historyLimit) this.#history.splice(0, this.#history.length - this.historyLimit);
    for (const sub of this.#subscribers) this.#deliver(sub, batch);
  }

  /** Seeds history after a restart (disk store): batches must be in revision order. */
  seed(batches: readonly WatchBatch[]): void {
    this.#history.push(...batches.slice(-this.historyLimit));
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
      const oldest = this.#history[0]?.revision ?? currentRevision + 1;
      // History is complete from `oldest`; anything older than that (but after revision 1) is gone.
      if (from < oldest && from > 1 && this.#history.length >= this.historyLimit) {
        const err = new AugurError("STORE_COMPACTED", `revision ${from} has been compacted; oldest kept is ${oldest}`);
        return {
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
        };
      }
      for (const batch of this.#history) if (batch.revision >= from) this.#deliver(sub, batch);
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
