/**
 * One bounded, single-consumer async queue for every producer that must never wait for its
 * consumer: the store's watch hub (one per watcher), the etcd watch stream, a watch handler's
 * delivery queue. The producer pushes synchronously; the consumer iterates (or peeks and takes).
 *
 * ```
 * open ──close()──▶ closing (queued items still come out) ──▶ done
 *   │ └──fail(err)──▶ failing (queued items, then err)
 *   └──push past the bound──▶ overflowed: `"reject"` refuses the item (push returns false, the
 *                              queue stays open); `"fail"` drops every item and fails at once
 * ```
 *
 * The bound is the point: a consumer that falls behind costs at most `maxItems` items (and
 * `maxWeight`, e.g. bytes), never memory without limit. What happens past it is the owner's
 * policy, chosen where the queue is made: a producer that can find the items again later (the
 * delivery worker reloads records from the outbox) refuses them; one that cannot (a watch
 * stream) fails the consumer with an error that makes it start over from a snapshot.
 *
 * @module
 */

/** What a push past the bound does. */
export type OverflowPolicy =
  /** The item is not queued and `push` returns false; the queue stays open. */
  | "reject"
  /** The queued items are dropped and the consumer's next read rejects with `error()`. */
  | { readonly fail: () => Error };

export interface BoundedQueueOptions<T> {
  /** Most items held (default: no item bound). */
  readonly maxItems?: number;
  /** Most total weight held, each item weighed by `weigh` (default: no weight bound). */
  readonly maxWeight?: number;
  readonly weigh?: (item: T) => number;
  /** Default `"reject"`. */
  readonly overflow?: OverflowPolicy;
  /**
   * Keeps the queue sorted by this order: an item that sorts before the tail is inserted in
   * place instead of appended (cheap when items come almost in order, as they do).
   */
  readonly order?: (a: T, b: T) => number;
}

type State =
  | { readonly kind: "open" }
  | { readonly kind: "closed" }
  | { readonly kind: "failed"; readonly error: Error };

/** Compacts the backing array once this many taken slots lead it (and they are half of it). */
const COMPACT_AFTER = 1024;

export class BoundedQueue<T> implements AsyncIterable<T>, AsyncIterator<T> {
  readonly #o: BoundedQueueOptions<T>;
  readonly #maxItems: number;
  readonly #maxWeight: number;
  /** Items from #head on are queued; slots before it were taken (see #compact). */
  #items: (T | undefined)[] = [];
  #head = 0;
  #weight = 0;
  #state: State = { kind: "open" };
  /** Readers waiting for an item (one, normally: a second concurrent read just re-checks). */
  readonly #waiters: (() => void)[] = [];

  constructor(options: BoundedQueueOptions<T> = {}) {
    this.#o = options;
    this.#maxItems = options.maxItems ?? Infinity;
    this.#maxWeight = options.maxWeight ?? Infinity;
  }

  /** Items queued. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Total weight queued (0 without `weigh`). */
  get weight(): number {
    return this.#weight;
  }

  /** True once closed or failed: pushes are refused. */
  get closed(): boolean {
    return this.#state.kind !== "open";
  }

  /**
   * Queues an item. False when it was not queued: the queue is closed or failed, or the item
   * would pass the bound (and the policy refused it or failed the queue).
   */
  push(item: T): boolean {
    if (this.#state.kind !== "open") return false;
    const w = this.#o.weigh?.(item) ?? 0;
    // An item alone over the weight bound is still taken into an empty queue: it must get through.
    if (this.size + 1 > this.#maxItems || (this.size > 0 && this.#weight + w > this.#maxWeight)) {
      const policy = this.#o.overflow ?? "reject";
      if (policy !== "reject") this.fail(policy.fail(), { drop: true });
      return false;
    }
    this.#insert(item);
    this.#weight += w;
    this.#notify();
    return true;
  }

  /** The next item without taking it. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Takes the next item, without waiting. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined; // released now, not at compaction
    this.#weight -= this.#o.weigh?.(item) ?? 0;
    this.#compact();
    return item;
  }

  /** Replaces the next item (a retried delivery carries its new attempt count). */
  replaceHead(item: T): void {
    if (this.size === 0) return;
    const w = this.#o.weigh;
    if (w) this.#weight += w(item) - w(this.#items[this.#head] as T);
    this.#items[this.#head] = item;
  }

  /** Every queued item, in order (a snapshot). */
  toArray(): T[] {
    return this.#items.slice(this.#head) as T[];
  }

  /**
   * No more pushes. The consumer still gets what is queued, then the end; `drop` discards the
   * queued items so the consumer ends at its next read.
   */
  close(options: { drop?: boolean } = {}): void {
    if (this.#state.kind === "open") this.#state = { kind: "closed" };
    if (options.drop) this.#clear();
    this.#notify();
  }

  /** No more pushes; the consumer gets `error` after the queued items (or at once, with `drop`). */
  fail(error: Error, options: { drop?: boolean } = {}): void {
    if (this.#state.kind === "open") this.#state = { kind: "failed", error };
    if (options.drop) this.#clear();
    this.#notify();
  }

  /**
   * Resolves when there is an item to read, or the queue is closed or failed, or `signal`
   * aborts. For a consumer that peeks (and may leave the item queued) rather than takes.
   */
  async wait(signal?: AbortSignal): Promise<void> {
    if (this.size > 0 || this.#state.kind !== "open" || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener("abort", done);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** The next item; waits for one. Rejects with the failure once the queued items are read. */
  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.size > 0) return { value: this.shift() as T, done: false };
      if (this.#state.kind === "failed") throw this.#state.error;
      if (this.#state.kind === "closed") return { value: undefined, done: true };
      await this.wait();
    }
  }

  /** A consumer that stops reading (`break` in for-await) closes the queue. */
  async return(): Promise<IteratorResult<T>> {
    this.close({ drop: true });
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this;
  }

  #insert(item: T): void {
    const order = this.#o.order;
    let i = this.#items.length;
    if (order) while (i > this.#head && order(item, this.#items[i - 1] as T) < 0) i--;
    if (i === this.#items.length) this.#items.push(item);
    else this.#items.splice(i, 0, item);
  }

  #clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#weight = 0;
  }

  #compact(): void {
    if (this.#head === this.#items.length) this.#clear();
    else if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}
