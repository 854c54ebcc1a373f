/**
 * The cluster-mode store: the `Store` contract on a real etcd (3.4+) through the maintained
 * `etcd3` client. Every key lives under a prefix (default `augur/`), added on the way in and cut
 * on the way out. etcd's revisions are the store's revisions (shared by every agent on the
 * cluster). etcd and gRPC errors become AugurErrors here: unreachable or without quorum →
 * `NO_LEADER` ("No cluster leader", Consul's wording), compaction → `STORE_COMPACTED`, a missing
 * lease → `NOT_FOUND`, anything else → `STORE_IO`. Only this file imports `etcd3`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  TaskCancelledError,
} from "cockatiel";
import {
  ClientClosedError,
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  isRecoverableError,
  type IKeyValue,
  type IOptions,
} from "etcd3";
import { AugurError } from "../../lib/errors.js";
import { BoundedQueue } from "../../lib/bounded-queue.js";
import { DEFAULT_HISTORY_BYTES, DEFAULT_HISTORY_REVISIONS, batchBytes } from "../watch-hub.js";
import type {
  Compare,
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

export interface EtcdStoreOptions {
  readonly endpoints: readonly string[];
  readonly prefix?: string;
  readonly tls?: {
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
  };
  /** Per-call deadline, so a cluster without quorum fails a call instead of hanging it. */
  readonly callTimeoutMs?: number;
}

const KEEPALIVE_TIMEOUT_MS = 2000;

type WatchBackoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/** Longest pause before retrying an endpoint or re-opening a watch stream after etcd failed. */
export const RECONNECT_MAX_MS = 1000;

/**
 * Short reconnect backoff. etcd3's defaults (a host shut off for 5 s after 3 failures, watch
 * streams retried after up to 30 s) are made for long-lived servers, not for an agent whose
 * liveness lease is 4 s: after a full etcd outage, the members restore every lease with a fresh
 * TTL, and the agent must renew within that TTL or be declared failed, its sessions invalidated
 * and its locks released. A breaker that reopens after 250 ms and a watch backoff capped at 1 s
 * keep the time from etcd's return to the agent's first renewal well inside the TTL.
 */
function faultHandling(): NonNullable<IOptions["faultHandling"]> {
  return {
    host: () =>
      circuitBreaker(handleWhen(etcdUnavailable), {
        halfOpenAfter: 250,
        breaker: new ConsecutiveBreaker(3),
      }),
    // etcd3's default, but for etcd refusing a write it can take no more of (below).
    global: retry(handleWhen(etcdUnavailable), { maxAttempts: 3 }),
    // etcd3 declares an IBackoff here but calls `.next()` on it first, as with its own default
    // (`new ExponentialBackoff()`): a factory is what it takes at run time.
    watchBackoff: new ExponentialBackoff({
      initialDelay: 100,
      maxDelay: RECONNECT_MAX_MS,
    }) as unknown as WatchBackoff,
  };
}

/**
 * What etcd3 retries and counts toward a host's breaker, less gRPC RESOURCE_EXHAUSTED: etcd
 * answers that to writes once its NOSPACE alarm is raised (`mvcc: database space exceeded`) and
 * when its apply falls behind (`too many requests`). Both come from a member that is up and has
 * a leader: retried, a write past the quota opened the breaker, and for the next 250 ms every
 * call to that member failed — session renewals and lease keep-alives included, which etcd
 * still takes while the alarm is raised — as "No cluster leader".
 */
function etcdUnavailable(err: Error): boolean {
  return isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError);
}

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * Converts anything etcd3 throws into an AugurError, by the error classes etcd3 and cockatiel
 * give (etcd3 casts every gRPC failure to a class by its status code, and marks the ones its
 * fault handling retries as recoverable), never by matching message texts:
 * - a lease etcd no longer has: NOT_FOUND;
 * - a revision etcd has compacted (gRPC OUT_OF_RANGE): STORE_COMPACTED, resync;
 * - etcd unreachable, without a leader, past the deadline, or the breaker open: NO_LEADER;
 * - the client closed: STORE_CLOSED;
 * - anything else etcd answered, its NOSPACE alarm included: STORE_IO with etcd's text.
 */
export function fromEtcdError(err: unknown): AugurError {
  if (err instanceof AugurError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof EtcdLeaseInvalidError)
    return new AugurError("NOT_FOUND", "lease not found", { cause: err });
  if (err instanceof GRPCOutOfRangeError)
    return new AugurError("STORE_COMPACTED", message, { cause: err });
  if (err instanceof ClientClosedError)
    return new AugurError("STORE_CLOSED", "the store is closed", { cause: err });
  if (unreachable(err)) return new AugurError("NO_LEADER", "No cluster leader", { cause: err });
  return new AugurError("STORE_IO", `etcd: ${message}`, { cause: err });
}

/** gRPC status codes (grpc/status.h). */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * etcd did not answer in time or at all: gRPC UNAVAILABLE (no connection, no leader, leader
 * changed, request timed out on the server) and the other failures etcd3 retries itself,
 * a passed deadline, and cockatiel's refusals while a host's breaker is open.
 */
function unreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // A gRPC failure etcd3 passed on uncast (a stream's, or a call made before any host answered)
  // still carries its status code: UNAVAILABLE or DEADLINE_EXCEEDED.
  const grpcCode = (err as { code?: unknown }).code;
  if (grpcCode === GRPC_UNAVAILABLE || grpcCode === GRPC_DEADLINE_EXCEEDED) return true;
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    etcdUnavailable(err)
  )
    return true;
  // instanceof rather than cockatiel's is…Error helpers: in 3.2 isTaskCancelledError and
  // isIsolatedCircuitError test for the bulkhead's marker and never match their own errors.
  return (
    err instanceof BrokenCircuitError ||
    err instanceof TaskCancelledError ||
    err instanceof BulkheadRejectedError ||
    err instanceof IsolatedCircuitError
  );
}

type CompareTarget = "Version" | "Create" | "Mod" | "Value";

/**
 * Keys per range page: with values of at most 512 KiB (the KV limit; catalog records are far
 * smaller), a page stays under {@link MAX_REPLY_BYTES}.
 */
const RANGE_PAGE_KEYS = 200;
const MAX_REPLY_BYTES = 128 * 1024 * 1024;

export class EtcdStore implements Store {
  readonly #client: Etcd3;
  readonly #prefix: Buffer;
  readonly #timeoutMs: number;
  #closed = false;

  private constructor(client: Etcd3, prefix: string, timeoutMs: number) {
    this.#client = client;
    this.#prefix = Buffer.from(prefix);
    this.#timeoutMs = timeoutMs;
  }

  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const tls = options.tls;
    const clientOptions: IOptions = {
      hosts: [...options.endpoints],
      dialTimeout: 3000,
      // gRPC's default 4 MiB reply cap would refuse a range page of big values (see RANGE_PAGE_KEYS).
      grpcOptions: { "grpc.max_receive_message_length": MAX_REPLY_BYTES },
      faultHandling: faultHandling(),
      ...(tls?.caFile
        ? {
            credentials: {
              rootCertificate: readFileSync(tls.caFile),
              ...(tls.certFile ? { certChain: readFileSync(tls.certFile) } : {}),
              ...(tls.keyFile ? { privateKey: readFileSync(tls.keyFile) } : {}),
            },
          }
        : {}),
    };
    const store = new EtcdStore(
      new Etcd3(clientOptions),
      options.prefix ?? "augur/",
      options.callTimeoutMs ?? 5000,
    );
    await store.revision();
    return store;
  }

  #key(key: string): Buffer {
    return Buffer.concat([this.#prefix, Buffer.from(key)]);
  }

  #opts(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.#timeoutMs) };
  }

  #kv(raw: IKeyValue): KeyValue {
    const lease = raw.lease && raw.lease !== "0" ? { lease: String(raw.lease) } : {};
    return {
      key: raw.key.subarray(this.#prefix.length).toString(),
      value: new Uint8Array(raw.value),
      createRevision: Number(raw.create_revision),
      modRevision: Number(raw.mod_revision),
      version: Number(raw.version),
      ...lease,
    };
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new AugurError("STORE_CLOSED", "the store is closed");
    try {
      return await fn();
    } catch (err) {
      throw fromEtcdError(err);
    }
  }

  /**
   * etcd's members and which one leads (the answering member's view), for
   * `operator/raft/configuration`: etcd's members are augur's servers.
   */
  async members(): Promise<
    { id: string; name: string; peerUrl: string; leader: boolean; voter: boolean }[]
  > {
    const [list, status] = await this.#call(() =>
      Promise.all([
        this.#client.cluster.memberList({}, this.#opts()),
        this.#client.maintenance.status(this.#opts()),
      ]),
    );
    return list.members.map((m) => ({
      id: BigInt(m.ID).toString(16),
      name: m.name,
      peerUrl: m.peerURLs[0] ?? "",
      leader: m.ID === status.leader,
      voter: !m.isLearner,
    }));
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.#call(() =>
      this.#client.kv.range({ key: this.#key(key) }, this.#opts()),
    );
    const first = res.kvs[0];
    return first ? this.#kv(first) : undefined;
  }

  /**
   * Read in pages of {@link RANGE_PAGE_KEYS} keys, every page at the first page's revision, so the
   * result is one consistent snapshot however large the store is (one unpaged reply of a big
   * store would pass any reply cap; the view loads the whole prefix this way at start).
   */
  async range(prefix: string): Promise<RangeResult> {
    const start = this.#key(prefix);
    const end = prefixEnd(start);
    const kvs: KeyValue[] = [];
    let from = start;
    let revision: string | undefined;
    for (;;) {
      const at = revision;
      const res = await this.#call(() =>
        this.#client.kv.range(
          {
            key: from,
            range_end: end,
            sort_target: "Key",
            sort_order: "Ascend",
            limit: RANGE_PAGE_KEYS,
            ...(at !== undefined ? { revision: at } : {}),
          },
          this.#opts(),
        ),
      );
      revision ??= res.header.revision;
      for (const kv of res.kvs) kvs.push(this.#kv(kv));
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { kvs, revision: Number(revision) };
  }

  async put(
    key: string,
    value: Uint8Array,
    options: { lease?: LeaseId } = {},
  ): Promise<{ revision: number; prev?: KeyValue }> {
    const res = await this.#call(() =>
      this.#client.kv.put(
        {
          key: this.#key(key),
          value: Buffer.from(value),
          prev_kv: true,
          ...(options.lease ? { lease: options.lease } : {}),
        },
        this.#opts(),
      ),
    );
    return {
      revision: Number(res.header.revision),
      ...(res.prev_kv ? { prev: this.#kv(res.prev_kv) } : {}),
    };
  }

  async delete(key: string): Promise<{ revision: number; deleted: number }> {
    const res = await this.#call(() =>
      this.#client.kv.deleteRange({ key: this.#key(key) }, this.#opts()),
    );
    return { revision: Number(res.header.revision), deleted: Number(res.deleted) };
  }

  async deleteRange(prefix: string): Promise<{ revision: number; deleted: number }> {
    const start = this.#key(prefix);
    const res = await this.#call(() =>
      this.#client.kv.deleteRange({ key: start, range_end: prefixEnd(start) }, this.#opts()),
    );
    return { revision: Number(res.header.revision), deleted: Number(res.deleted) };
  }

  #compare(c: Compare): Record<string, unknown> {
    const key = this.#key(c.key);
    if (c.target === "exists")
      return {
        key,
        target: "Version" as CompareTarget,
        result: c.exists ? "Greater" : "Equal",
        version: 0,
      };
    if (c.target === "value")
      return {
        key,
        target: "Value" as CompareTarget,
        result: c.op === "=" ? "Equal" : "NotEqual",
        value: Buffer.from(c.value),
      };
    const result = { "=": "Equal", "!=": "NotEqual", "<": "Less", ">": "Greater" }[c.op];
    if (c.target === "modRevision")
      return { key, target: "Mod" as CompareTarget, result, mod_revision: c.value };
    if (c.target === "createRevision")
      return { key, target: "Create" as CompareTarget, result, create_revision: c.value };
    return { key, target: "Version" as CompareTarget, result, version: c.value };
  }

  /** etcd's operations for one of ours: one each, but two for a deleteRange that keeps a sub-range. */
  #ops(op: TxnOp): Record<string, unknown>[] {
    switch (op.type) {
      case "put":
        return [
          {
            request_put: {
              key: this.#key(op.key),
              value: Buffer.from(op.value),
              prev_kv: true,
              ...(op.lease ? { lease: op.lease } : {}),
            },
          },
        ];
      case "delete":
        return [{ request_delete_range: { key: this.#key(op.key), prev_kv: true } }];
      case "deleteRange": {
        const start = this.#key(op.prefix);
        const end = prefixEnd(start);
        if (op.keep === undefined)
          return [{ request_delete_range: { key: start, range_end: end, prev_kv: true } }];
        // The byte ranges on either side of the kept one: the keys under a prefix are exactly
        // [prefix, prefixEnd(prefix)) in etcd's byte order.
        if (!op.keep.startsWith(op.prefix))
          throw new AugurError("INTERNAL", `deleteRange: ${op.keep} is not under ${op.prefix}`);
        const kept = this.#key(op.keep);
        return [
          { request_delete_range: { key: start, range_end: kept, prev_kv: true } },
          { request_delete_range: { key: prefixEnd(kept), range_end: end, prev_kv: true } },
        ];
      }
      case "get":
        return [{ request_range: { key: this.#key(op.key) } }];
      case "range": {
        const start = this.#key(op.prefix);
        return [
          {
            request_range: {
              key: start,
              range_end: prefixEnd(start),
              sort_target: "Key",
              sort_order: "Ascend",
            },
          },
        ];
      }
    }
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    const ops = (list: readonly TxnOp[]): Record<string, unknown>[] =>
      list.flatMap((o) => this.#ops(o));
    const res = await this.#call(() =>
      this.#client.kv.txn(
        {
          compare: request.compare.map((c) => this.#compare(c)),
          success: ops(request.success),
          failure: ops(request.failure ?? []),
        } as never,
        this.#opts(),
      ),
    );
    type Response = Record<
      string,
      { prev_kv?: IKeyValue; prev_kvs?: IKeyValue[]; kvs?: IKeyValue[] } | undefined
    >;
    const responses = res.responses as unknown as (Response | undefined)[];
    let next = 0;
    const chosen = res.succeeded ? request.success : (request.failure ?? []);
    const results: TxnOpResult[] = chosen.map((op) => {
      const r = responses[next++];
      switch (op.type) {
        case "put": {
          const prev = r?.["response_put"]?.prev_kv;
          return { type: "put", ...(prev ? { prev: this.#kv(prev) } : {}) };
        }
        case "delete":
        case "deleteRange": {
          const prev = [...(r?.["response_delete_range"]?.prev_kvs ?? [])];
          // A deleteRange that kept a sub-range was two operations: the second's keys follow.
          if (op.type === "deleteRange" && op.keep !== undefined)
            prev.push(...(responses[next++]?.["response_delete_range"]?.prev_kvs ?? []));
          return { type: op.type, deleted: prev.map((kv) => this.#kv(kv)) };
        }
        case "get": {
          const kv = r?.["response_range"]?.kvs?.[0];
          return { type: "get", ...(kv ? { kv: this.#kv(kv) } : {}) };
        }
        case "range":
          return {
            type: "range",
            kvs: (r?.["response_range"]?.kvs ?? []).map((kv) => this.#kv(kv)),
          };
      }
    });
    return { succeeded: res.succeeded, revision: Number(res.header.revision), results };
  }

  watch(prefix: string, options: WatchOptions = {}): AsyncIterable<WatchBatch> {
    if (this.#closed) throw new AugurError("STORE_CLOSED", "the store is closed");
    return { [Symbol.asyncIterator]: () => this.#watchIterator(prefix, options) };
  }

  /**
   * etcd3's Watcher reconnects and resumes by itself; we group its events by revision. The
   * queue between the stream and the consumer has the embedded stores' history bounds: a
   * consumer that falls further behind gets `STORE_COMPACTED` and resyncs from a snapshot, as it
   * would after a compaction, instead of the stream filling memory.
   */
  #watchIterator(prefix: string, options: WatchOptions): AsyncIterator<WatchBatch> {
    const queue = new BoundedQueue<WatchBatch>({
      maxItems: DEFAULT_HISTORY_REVISIONS,
      maxWeight: DEFAULT_HISTORY_BYTES,
      weigh: batchBytes,
      overflow: {
        fail: () =>
          new AugurError(
            "STORE_COMPACTED",
            `the watcher fell behind by more than ${DEFAULT_HISTORY_REVISIONS} revisions or ${DEFAULT_HISTORY_BYTES} bytes; resync from a snapshot`,
          ),
      },
    });
    const full = this.#key(prefix).toString();
    let builder = this.#client.watch().prefix(full);
    if (options.prevKv !== false) builder = builder.withPreviousKV();
    if (options.fromRevision !== undefined)
      builder = builder.startRevision(String(options.fromRevision));
    const watcherPromise = builder.create();
    const cancel = (): void => void watcherPromise.then((w) => w.cancel()).catch(() => undefined);
    // Ends the watch; the consumer still gets what was queued.
    const finish = (): void => {
      queue.close();
      cancel();
    };
    options.signal?.addEventListener("abort", finish, { once: true });
    watcherPromise.then(
      (w) => {
        w.on("data", (res) => {
          let batch: { revision: number; events: WatchEvent[] } | undefined;
          const push = (b: WatchBatch): void => {
            if (!queue.push(b) && queue.closed) cancel(); // overflowed (or ended): the stream is of no more use
          };
          for (const e of res.events) {
            const revision = Number(e.kv.mod_revision);
            if (!batch || batch.revision !== revision) {
              if (batch) push(batch);
              batch = { revision, events: [] };
            }
            const prev = e.prev_kv ? { prev: this.#kv(e.prev_kv) } : {};
            if (e.type === "Put") batch.events.push({ type: "put", kv: this.#kv(e.kv), ...prev });
            else
              batch.events.push({
                type: "delete",
                key: e.kv.key.subarray(this.#prefix.length).toString(),
                revision,
                ...prev,
              });
          }
          if (batch) push(batch);
        });
        w.on("error", (err) => {
          // etcd3 emits "error" on a watcher only when etcd cancelled it (its start revision was
          // compacted, or another cancel reason); stream failures are retried inside etcd3 and
          // never reach here. Either way this watch cannot go on from where it was: resync.
          const e = fromEtcdError(err);
          queue.fail(
            e.code === "STORE_COMPACTED"
              ? e
              : new AugurError("STORE_COMPACTED", e.message, { cause: err }),
          );
        });
      },
      (err: unknown) => queue.fail(fromEtcdError(err)),
    );
    return {
      next: async (): Promise<IteratorResult<WatchBatch>> => {
        if (this.#closed && queue.size === 0) finish();
        try {
          return await queue.next();
        } catch (err) {
          finish();
          throw err;
        }
      },
      return: async (): Promise<IteratorResult<WatchBatch>> => {
        finish();
        return { value: undefined, done: true };
      },
    };
  }

  async grant(ttlSeconds: number): Promise<LeaseId> {
    const res = await this.#call(() =>
      this.#client.leaseClient.leaseGrant({ TTL: ttlSeconds }, this.#opts()),
    );
    return String(res.ID);
  }

  async keepAlive(lease: LeaseId): Promise<number> {
    return this.#call(async () => {
      // A short deadline: a keep-alive is retried every TTL/3, and one stuck on a dead member must
      // not hold up the next try past the lease's TTL.
      const stream = await this.#client.leaseClient.leaseKeepAlive({
        deadline: new Date(Date.now() + Math.min(this.#timeoutMs, KEEPALIVE_TIMEOUT_MS)),
      });
      try {
        const res = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on("data", resolve);
          stream.on("error", reject);
          stream.write({ ID: lease });
        });
        const ttl = Number(res.TTL);
        if (ttl <= 0) throw new AugurError("NOT_FOUND", `lease ${lease} not found`);
        return ttl;
      } finally {
        stream.end();
      }
    });
  }

  async revoke(lease: LeaseId): Promise<void> {
    try {
      await this.#call(() => this.#client.leaseClient.leaseRevoke({ ID: lease }, this.#opts()));
    } catch (err) {
      // Revoking an unknown lease is a no-op in the contract.
      if (!(err instanceof AugurError && err.code === "NOT_FOUND")) throw err;
    }
  }

  async revision(): Promise<number> {
    const res = await this.#call(() =>
      this.#client.kv.range({ key: this.#prefix, limit: 1 }, this.#opts()),
    );
    return Number(res.header.revision);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }
}
