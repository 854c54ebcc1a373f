/**
 * The in-memory store for `-dev`: an MVCC map with etcd's revision semantics, a bounded change
 * history for resumable watches, and leases on timers. Nothing survives the process.
 *
 * @module
 */
import { AugurError } from "../../lib/errors.js";
import { KeyOrder } from "../../lib/key-order.js";
import type {
  KeyValue,
  LeaseId,
  RangeResult,
  Store,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResponse,
  WatchBatch,
  WatchEvent,
  WatchOptions,
} from "../store.js";
import { compareHolds, WatchHub, type HistoryLimits } from "../watch-hub.js";

/**
 * Where a durable store writes each revision before it is acknowledged (the disk store). The
 * memory store applies a write in memory, awaits the journal, and only then tells watchers.
 */
export interface Journal {
  /**
   * Makes one revision durable. `historyFrom`: the oldest revision the watch history still keeps;
   * a journal that logs changes may drop what is older (so its log is bounded as the history is).
   */
  write(
    revision: number,
    events: readonly WatchEvent[],
    leases: { granted?: [LeaseId, number]; revoked?: LeaseId },
    historyFrom: number,
  ): Promise<void>;
}

/** State a durable store hands back at open. */
export interface InitialState {
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  readonly leases: readonly [LeaseId, number][];
  readonly history: readonly WatchBatch[];
  readonly nextLease: number;
}

export interface MemoryStoreOptions {
  readonly journal?: Journal;
  readonly initial?: InitialState;
  /** Clock for lease expiry, in ms (default: the monotonic clock); tests inject a fake. */
  readonly now?: () => number;
  /** How much history watches can resume from (default 10,000 revisions, 64 MiB). */
  readonly history?: HistoryLimits;
}

/** A write refused because an earlier journal write failed with `cause`. */
function refusedAfter(cause: unknown, what: string): AugurError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AugurError("STORE_IO", `${message}; ${what}`, { cause });
}

/** How soon an expired lease whose keys could not be deleted is tried again. */
const EXPIRE_RETRY_MS = 1_000;

interface Lease {
  readonly ttlSeconds: number;
  expiresAt: number;
  readonly keys: Set<string>;
  timer?: NodeJS.Timeout;
}

export class MemoryStore implements Store {
  readonly #data = new Map<string, KeyValue>();
  /**
   * The keys of `#data` in order: a range reads only its prefix. Scanning the whole map for every
   * range held the event loop for the whole store (tens of milliseconds at 1,000,000 keys) on a
   * `DELETE /v1/kv/<prefix>?recurse` of any prefix, a transaction's `get-tree`, and the member
   * reaper's read every 15 s.
   */
  readonly #order = new KeyOrder();
  readonly #leases = new Map<LeaseId, Lease>();
  readonly #hub: WatchHub;
  readonly #now: () => number;
  #revision = 1;
  #nextLease = 1;
  #closed = false;

  readonly #journal: Journal | undefined;
  /** Revisions written but not yet durable, published to watchers in order once they are. */
  #pending: Promise<void> = Promise.resolve();
  /** Revisions applied in memory whose journal write has not settled yet. */
  #unsettled = 0;
  /**
   * Set when a journal write failed: writes are refused until memory is back to what the journal
   * holds (see {@link #settled}), or for good when that cannot be done.
   */
  #writeFailure: AugurError | undefined;
  /** The events of the failed revisions to take back out of memory, oldest first. */
  #failedRevisions: (readonly WatchEvent[])[] = [];
  /** A revision was made durable after an earlier one failed: memory cannot be rolled back. */
  #failedThenDurable = false;

  constructor(options: MemoryStoreOptions = {}) {
    // Monotonic, as etcd's and Consul's TTLs: a step of the wall clock (NTP, a resumed VM) must
    // not make every lease look expired to a keep-alive (a session renew answering 404).
    this.#now = options.now ?? ((): number => performance.now());
    this.#hub = new WatchHub(options.history);
    this.#journal = options.journal;
    const init = options.initial;
    if (init) {
      this.#revision = init.revision;
      this.#nextLease = init.nextLease;
      for (const kv of init.kvs) this.#set(kv);
      this.#hub.seed(init.history, init.revision);
      // As etcd does after a restart, every lease gets its full TTL again.
      for (const [id, ttl] of init.leases) {
        const lease: Lease = { ttlSeconds: ttl, expiresAt: 0, keys: new Set() };
        this.#leases.set(id, lease);
        this.#arm(id, lease);
      }
      for (const kv of init.kvs) if (kv.lease) this.#leases.get(kv.lease)?.keys.add(kv.key);
    }
  }

  /** What the watch history holds now, and its oldest revision (for tests and benchmarks). */
  historySize(): { revisions: number; bytes: number; oldest: number } {
    return { ...this.#hub.size(), oldest: this.#hub.oldestKept() };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#open();
    return this.#data.get(key);
  }

  async range(prefix: string): Promise<RangeResult> {
    this.#open();
    return { kvs: this.#range(prefix), revision: this.#revision };
  }

  async put(
    key: string,
    value: Uint8Array,
    options: { lease?: LeaseId } = {},
  ): Promise<{ revision: number; prev?: KeyValue }> {
    const res = await this.txn({
      compare: [],
      success: [{ type: "put", key, value, ...(options.lease ? { lease: options.lease } : {}) }],
    });
    const first = res.results[0];
    const prev = first?.type === "put" ? first.prev : undefined;
    return { revision: res.revision, ...(prev ? { prev } : {}) };
  }

  async delete(key: string): Promise<{ revision: number; deleted: number }> {
    const res = await this.txn({ compare: [], success: [{ type: "delete", key }] });
    const first = res.results[0];
    return { revision: res.revision, deleted: first?.type === "delete" ? first.deleted.length : 0 };
  }

  async deleteRange(prefix: string): Promise<{ revision: number; deleted: number }> {
    const res = await this.txn({ compare: [], success: [{ type: "deleteRange", prefix }] });
    const first = res.results[0];
    return {
      revision: res.revision,
      deleted: first?.type === "deleteRange" ? first.deleted.length : 0,
    };
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    this.#open();
    for (const op of [...request.success, ...(request.failure ?? [])]) {
      if (op.type === "put" && op.lease !== undefined && !this.#leases.has(op.lease))
        throw new AugurError("NOT_FOUND", "lease not found");
    }
    const succeeded = request.compare.every((c) => compareHolds(c, this.#data.get(c.key)));
    const ops = succeeded ? request.success : (request.failure ?? []);
    if (this.#writeFailure && ops.some((op) => op.type !== "get" && op.type !== "range"))
      throw this.#writeFailure;
    const next = this.#revision + 1;
    const events: WatchEvent[] = [];
    const results = ops.map((op) => this.#apply(op, next, events));
    if (events.length === 0) return { succeeded, revision: this.#revision, results };
    this.#revision = next;
    await this.#durable(next, events, {});
    return { succeeded, revision: next, results };
  }

  watch(prefix: string, options: WatchOptions = {}): AsyncIterable<WatchBatch> {
    this.#open();
    return this.#hub.subscribe(prefix, options, this.#revision);
  }

  async grant(ttlSeconds: number): Promise<LeaseId> {
    this.#open();
    if (this.#writeFailure) throw this.#writeFailure;
    const id = String(this.#nextLease++);
    const lease: Lease = { ttlSeconds, expiresAt: 0, keys: new Set() };
    this.#leases.set(id, lease);
    this.#arm(id, lease);
    if (this.#journal) {
      try {
        await this.#journal.write(
          this.#revision,
          [],
          { granted: [id, ttlSeconds] },
          this.#hub.oldestKept(),
        );
      } catch (err) {
        // Not on disk, so not granted: nothing may be attached to it.
        clearTimeout(lease.timer);
        this.#leases.delete(id);
        throw err;
      }
    }
    return id;
  }

  async keepAlive(id: LeaseId): Promise<number> {
    this.#open();
    const lease = this.#leases.get(id);
    if (!lease || lease.expiresAt <= this.#now())
      throw new AugurError("NOT_FOUND", `lease ${id} not found`);
    this.#arm(id, lease);
    return lease.ttlSeconds;
  }

  async revoke(id: LeaseId): Promise<void> {
    this.#open();
    await this.#expire(id);
  }

  async revision(): Promise<number> {
    this.#open();
    return this.#revision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lease of this.#leases.values()) clearTimeout(lease.timer);
    this.#hub.close();
  }

  #open(): void {
    if (this.#closed) throw new AugurError("STORE_CLOSED", "the store is closed");
  }

  /** The keys under `prefix`, in key order. */
  #range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    this.#order.forEachWithPrefix(prefix, (key) => out.push(this.#data.get(key) as KeyValue));
    return out;
  }

  #set(kv: KeyValue): void {
    if (!this.#data.has(kv.key)) this.#order.add(kv.key);
    this.#data.set(kv.key, kv);
  }

  #remove(key: string): void {
    if (this.#data.delete(key)) this.#order.delete(key);
  }

  #apply(op: TxnOp, revision: number, events: WatchEvent[]): TxnOpResult {
    switch (op.type) {
      case "get":
        return {
          type: "get",
          ...(this.#data.has(op.key) ? { kv: this.#data.get(op.key) as KeyValue } : {}),
        };
      case "range":
        return { type: "range", kvs: this.#range(op.prefix) };
      case "put": {
        const prev = this.#data.get(op.key);
        if (prev?.lease) this.#leases.get(prev.lease)?.keys.delete(op.key);
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: prev ? prev.createRevision : revision,
          modRevision: revision,
          version: (prev?.version ?? 0) + 1,
          ...(op.lease ? { lease: op.lease } : {}),
        };
        this.#set(kv);
        if (op.lease) this.#leases.get(op.lease)?.keys.add(op.key);
        events.push({ type: "put", kv, ...(prev ? { prev } : {}) });
        return { type: "put", ...(prev ? { prev } : {}) };
      }
      case "delete":
      case "deleteRange": {
        const victims =
          op.type === "delete"
            ? [this.#data.get(op.key)].filter((kv): kv is KeyValue => kv !== undefined)
            : this.#range(op.prefix).filter(
                (kv) => op.keep === undefined || !kv.key.startsWith(op.keep),
              );
        for (const kv of victims) {
          this.#remove(kv.key);
          if (kv.lease) this.#leases.get(kv.lease)?.keys.delete(kv.key);
          events.push({ type: "delete", key: kv.key, revision, prev: kv });
        }
        return { type: op.type, deleted: victims };
      }
    }
  }

  #arm(id: LeaseId, lease: Lease): void {
    clearTimeout(lease.timer);
    lease.expiresAt = this.#now() + lease.ttlSeconds * 1000;
    lease.timer = setTimeout(
      () => void this.#expire(id).catch(() => undefined),
      lease.ttlSeconds * 1000,
    );
    lease.timer.unref();
  }

  /**
   * Durability, then publication: the journal writes revisions in order, so chaining on the
   * previous write keeps watchers seeing revisions in order and only once they are on disk.
   */
  async #durable(
    revision: number,
    events: WatchEvent[],
    leases: Parameters<Journal["write"]>[2],
  ): Promise<void> {
    if (!this.#journal) {
      this.#hub.publish({ revision, events });
      return;
    }
    this.#unsettled++;
    const write = this.#journal.write(revision, events, leases, this.#hub.oldestKept());
    const previous = this.#pending;
    const done = (async () => {
      await previous.catch(() => undefined);
      try {
        await write;
      } catch (err) {
        this.#settled(events, err);
        throw err;
      }
      this.#settled(events);
      this.#hub.publish({ revision, events });
    })();
    this.#pending = done;
    await done;
  }

  /**
   * One revision's journal write settled (they settle in revision order). A failed one was
   * applied in memory but is not on disk, and later writes were computed on top of it (their
   * compares, versions and create revisions): from the first failure on, writes are refused,
   * and once every revision in flight has settled, the failed ones are taken back out of memory
   * (newest first), so what compares and reads see is again what the journal holds, and writes
   * resume. Their revision numbers are not reused (watchers may have been told the store's
   * revision meanwhile): the next write leaves a gap. If a revision after a failed one was made
   * durable, it was computed on top of the failed one and is on disk: memory cannot be made
   * to match the journal by taking things out, and writes stay refused until a restart, which
   * loads what is on disk.
   */
  #settled(events: readonly WatchEvent[], failure?: unknown): void {
    this.#unsettled--;
    if (failure !== undefined) {
      this.#failedRevisions.push(events);
      this.#writeFailure ??= refusedAfter(
        failure,
        "writes are refused until the writes made on top of it have been undone",
      );
    } else if (this.#failedRevisions.length > 0) {
      this.#failedThenDurable = true;
    }
    if (this.#unsettled > 0 || this.#writeFailure === undefined) return;
    if (this.#failedThenDurable) {
      this.#writeFailure = refusedAfter(
        this.#writeFailure.cause,
        "a later write reached the disk on top of it, so memory cannot be rolled back: writes are refused until the agent restarts",
      );
      return;
    }
    for (const failed of this.#failedRevisions.reverse()) this.#undo(failed);
    this.#failedRevisions = [];
    this.#writeFailure = undefined;
  }

  /** Takes one revision's events back out of memory, newest first. */
  #undo(events: readonly WatchEvent[]): void {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i] as WatchEvent;
      const key = e.type === "put" ? e.kv.key : e.key;
      if (e.type === "put" && e.kv.lease) this.#leases.get(e.kv.lease)?.keys.delete(key);
      if (e.prev) {
        this.#set(e.prev);
        if (e.prev.lease) this.#leases.get(e.prev.lease)?.keys.add(key);
      } else {
        this.#remove(key);
      }
    }
  }

  /** Deletes a lease and its keys in one revision. */
  async #expire(id: LeaseId): Promise<void> {
    const lease = this.#leases.get(id);
    if (!lease) return;
    clearTimeout(lease.timer);
    this.#leases.delete(id);
    if (this.#closed) return;
    const ops: TxnOp[] = [...lease.keys].map((key) => ({ type: "delete", key }));
    try {
      if (ops.length > 0) await this.txn({ compare: [], success: ops });
      if (this.#journal)
        await this.#journal.write(this.#revision, [], { revoked: id }, this.#hub.oldestKept());
    } catch (err) {
      // Its keys are still there (the delete was refused or undone): the lease must stay, or they
      // would never expire. Tried again shortly.
      if (!this.#closed && !this.#leases.has(id)) {
        this.#leases.set(id, lease);
        lease.expiresAt = this.#now();
        lease.timer = setTimeout(
          () => void this.#expire(id).catch(() => undefined),
          EXPIRE_RETRY_MS,
        );
        lease.timer.unref();
      }
      throw err;
    }
  }
}
