/**
 * The per-request handler context, and the bookkeeping that lets thousands of blocking queries
 * park cheaply. A request that never blocks costs one small object. A parked one costs one
 * AbortSignal (which its scope waiter listens on) and an entry in a shared deadline table: no
 * timer, no second controller and no listener chain of its own, so 10,000 parked queries stay
 * close to what node:http itself holds for their sockets (bench/blocking-queries.ts).
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import type { HandlerContext } from "./router.js";

/** Deadlines are kept in buckets of this many ms; a wait ends at most one bucket late. */
const BUCKET_MS = 10;

/** Signals, deadlines and release for the requests of one {@link ApiServer}. */
export class ParkedRequests {
  /** Contexts that made a signal: what {@link releaseAll} aborts. */
  readonly #live = new Set<RequestContext>();
  /** Contexts with a deadline, by bucket (deadline / BUCKET_MS, rounded up). */
  readonly #buckets = new Map<number, Set<RequestContext>>();
  /** The buckets' keys as a min-heap, so the next deadline is found without a scan. */
  readonly #heap: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerBucket = Infinity;

  /** The context for one request; it makes a signal only when a handler asks for one. */
  context(res: ServerResponse): RequestContext {
    return new RequestContext(this, res);
  }

  /** Aborts every signal made so far: each parked query answers with its current data. */
  releaseAll(): void {
    for (const c of [...this.#live]) c.abort();
  }

  /** Signals made and not yet let go of (for tests). */
  size(): number {
    return this.#live.size;
  }

  /** @internal */
  track(c: RequestContext): void {
    this.#live.add(c);
  }

  /** @internal Forgets `c` (its signal aborted or its response closed). */
  untrack(c: RequestContext, bucket: number): void {
    this.#live.delete(c);
    if (bucket === 0) return;
    const set = this.#buckets.get(bucket);
    // An emptied bucket stays in the heap; #fire skips it when its time comes.
    if (set?.delete(c) && set.size === 0) this.#buckets.delete(bucket);
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

  #arm(bucket: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerBucket = bucket;
    // Unreferenced: parked queries alone do not keep the process up (the listeners do).
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, bucket * BUCKET_MS - performance.now())).unref();
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

/**
 * What a handler gets. Its signal aborts when the client goes away, when the server releases
 * parked queries or shuts down, and (once {@link deadline} was called) when the wait is over.
 */
export class RequestContext implements HandlerContext {
  readonly #owner: ParkedRequests;
  readonly #res: ServerResponse;
  #controller: AbortController | undefined;
  #bucket = 0;

  constructor(owner: ParkedRequests, res: ServerResponse) {
    this.#owner = owner;
    this.#res = res;
  }

  get signal(): AbortSignal {
    return this.#make().signal;
  }

  deadline(ms: number): AbortSignal {
    const controller = this.#make();
    if (!controller.signal.aborted) {
      if (this.#bucket !== 0) this.#owner.untrack(this, this.#bucket);
      this.#owner.track(this);
      this.#bucket = this.#owner.schedule(this, ms);
    }
    return controller.signal;
  }

  /** Aborts the signal (if one was made) and forgets this request. */
  abort(): void {
    this.#owner.untrack(this, this.#bucket);
    this.#bucket = 0;
    this.#controller?.abort();
  }

  #make(): AbortController {
    if (this.#controller) return this.#controller;
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#res.closed) controller.abort();
    else {
      this.#owner.track(this);
      this.#res.once("close", () => this.abort());
    }
    return controller;
  }
}

function heapPush(heap: number[], value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((heap[parent] as number) <= value) break;
    heap[i] = heap[parent] as number;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
    if ((heap[child] as number) >= last) break;
    heap[i] = heap[child] as number;
    i = child;
  }
  heap[i] = last;
  return top;
}
