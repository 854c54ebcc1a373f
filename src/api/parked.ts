/**
 * The per-request handler context, and the bookkeeping that lets thousands of blocking queries
 * park cheaply. A request that never blocks costs one small object. A parked one is its context
 * (which is also the signal its scope waiter listens on), an entry in a map of parked requests
 * and one in a shared deadline table: no AbortController, timer, or listener chain of its own,
 * so 10,000 parked queries stay close to what node:http itself holds for their sockets
 * (bench/blocking-queries.ts).
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import type { WaitSignal } from "../catalog/scopes.js";
import type { HandlerContext } from "./router.js";

/** Deadlines are kept in buckets of this many ms; a wait ends at most one bucket late. */
const BUCKET_MS = 10;

/** Signals, deadlines and release for the requests of one ApiServer. */
export class ParkedRequests {
  /** Contexts that may be waiting (they made a signal or a deadline), by response. */
  readonly #live = new Map<ServerResponse, RequestContext>();
  /** Contexts with a deadline, by bucket (deadline / BUCKET_MS, rounded up). */
  readonly #buckets = new Map<number, Set<RequestContext>>();
  /** The buckets' keys as a min-heap, so the next deadline is found without a scan. */
  readonly #heap: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerBucket = Infinity;
  /** One listener for every response's `close` (a client gone, or the answer written). */
  readonly #onClose: (this: ServerResponse) => void;

  constructor() {
    const live = this.#live;
    this.#onClose = function (this: ServerResponse): void {
      live.get(this)?.abort();
    };
  }

  /** The context for one request. */
  context(res: ServerResponse): RequestContext {
    return new RequestContext(this, res);
  }

  /** Aborts every context that may be waiting: each parked query answers with its current data. */
  releaseAll(): void {
    for (const c of [...this.#live.values()]) c.abort();
  }

  /** Contexts that may be waiting (for tests). */
  size(): number {
    return this.#live.size;
  }

  /** @internal Starts following `res` for `c`; false when the response is already closed. */
  track(c: RequestContext, res: ServerResponse): boolean {
    if (res.closed) return false;
    this.#live.set(res, c);
    res.on("close", this.#onClose);
    return true;
  }

  /** @internal Forgets `c` (aborted, or its response closed). */
  untrack(c: RequestContext, res: ServerResponse, bucket: number): void {
    if (this.#live.delete(res)) res.off("close", this.#onClose);
    if (bucket !== 0) this.unschedule(c, bucket);
  }

  /** @internal Puts `c` in the bucket for `ms` from now; returns the bucket. */
  schedule(c: RequestContext, ms: number): number {
    const bucket = Math.ceil((performance.now() + ms) / BUCKET_MS);
    let set = this.#buckets.get(bucket);
    if (!set) {
      set = new Set();
      this.#buckets.set(bucket, set);
      heapPush(this.#heap, bucket);
    }
    set.add(c);
    if (bucket < this.#timerBucket) this.#arm(bucket);
    return bucket;
  }

  /** @internal Takes `c` out of `bucket`. */
  unschedule(c: RequestContext, bucket: number): void {
    const set = this.#buckets.get(bucket);
    // An emptied bucket stays in the heap; #fire skips it when its time comes.
    if (set?.delete(c) && set.size === 0) this.#buckets.delete(bucket);
  }

  #arm(bucket: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerBucket = bucket;
    // Unreferenced: parked queries alone do not keep the process up (the listeners do).
    this.#timer = setTimeout(
      () => this.#fire(),
      Math.max(0, bucket * BUCKET_MS - performance.now()),
    ).unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerBucket = Infinity;
    const now = performance.now() / BUCKET_MS;
    while (this.#heap.length > 0 && (this.#heap[0] as number) <= now) {
      const bucket = heapPop(this.#heap) as number;
      const set = this.#buckets.get(bucket);
      if (!set) continue;
      this.#buckets.delete(bucket);
      for (const c of set) c.abort();
    }
    const next = this.#heap[0];
    if (next !== undefined) this.#arm(next);
  }
}

type Listener = () => void;

/**
 * What a handler gets. `signal` (an AbortSignal, made on first use) and the context itself as
 * a {@link WaitSignal} abort together: when the client goes away, when the server releases
 * parked queries or shuts down, and (once {@link deadline} was called) when the wait is over.
 */
export class RequestContext implements HandlerContext, WaitSignal {
  readonly #owner: ParkedRequests;
  readonly #res: ServerResponse;
  #controller: AbortController | undefined;
  #aborted = false;
  #tracked = false;
  #bucket = 0;
  /** Abort listeners: nearly always one (the scope waiter's), so no array until a second. */
  #listeners: Listener | Listener[] | undefined;

  constructor(owner: ParkedRequests, res: ServerResponse) {
    this.#owner = owner;
    this.#res = res;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
      else this.#track();
    }
    return this.#controller.signal;
  }

  deadline(ms: number): WaitSignal {
    this.#track();
    if (!this.#aborted) {
      if (this.#bucket !== 0) this.#owner.unschedule(this, this.#bucket);
      this.#bucket = this.#owner.schedule(this, ms);
    }
    return this;
  }

  addEventListener(_type: "abort", listener: Listener): void {
    // As an AbortSignal: a listener added after the abort is never called.
    if (this.#aborted) return;
    const ls = this.#listeners;
    this.#listeners =
      ls === undefined ? listener : Array.isArray(ls) ? [...ls, listener] : [ls, listener];
  }

  removeEventListener(_type: "abort", listener: Listener): void {
    const ls = this.#listeners;
    if (ls === listener) this.#listeners = undefined;
    else if (Array.isArray(ls)) this.#listeners = ls.filter((l) => l !== listener);
  }

  /** Aborts: the listeners run once, the signal (if made) aborts, the request is forgotten. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#owner.untrack(this, this.#res, this.#bucket);
    this.#bucket = 0;
    const ls = this.#listeners;
    this.#listeners = undefined;
    if (typeof ls === "function") ls();
    else if (ls) for (const l of ls) l();
    this.#controller?.abort();
  }

  #track(): void {
    if (this.#tracked || this.#aborted) return;
    this.#tracked = true;
    if (!this.#owner.track(this, this.#res)) this.abort();
  }
}

/** A min-heap of numbers in an array (exported for its test). */
export function heapPush(heap: number[], value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((heap[parent] as number) <= value) break;
    heap[i] = heap[parent] as number;
    i = parent;
  }
  heap[i] = value;
}

export function heapPop(heap: number[]): number | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child =
      right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
    if ((heap[child] as number) >= last) break;
    heap[i] = heap[child] as number;
    i = child;
  }
  heap[i] = last;
  return top;
}
