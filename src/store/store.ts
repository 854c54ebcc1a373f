/**
 * The store contract: a revisioned key-value store with the shape etcd has, so the etcd adapter
 * is thin and everything above (catalog, KV, sessions, events, blocking queries, watches) is
 * written once. Implementations: `store/memory` (`-dev`), `store/disk` (lmdb, `-data-dir`), and
 * `store/etcd` (cluster mode). All of them pass `test/store/contract.ts`.
 *
 * Revisions start at 1 for an empty store and grow by exactly one per write transaction (a
 * put, a delete that removed something, or a txn whose chosen branch wrote). A transaction's
 * writes all carry the same revision. Reads never change the revision. (A write the disk store
 * could not make durable leaves its revision unused: the next one is one higher still.)
 *
 * Errors are {@link AugurError}s: `STORE_COMPACTED` when a watch asks for history that is gone,
 * `STORE_CLOSED` after `close()`, `STORE_IO` / `NO_LEADER` for the backend failing.
 *
 * @module
 */

/** A lease id as etcd gives it: a positive integer, carried as a decimal string to stay exact. */
export type LeaseId = string;

/** One stored key with its revisions, as etcd's mvccpb.KeyValue. */
export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision of the write that created this key (since it last did not exist). */
  readonly createRevision: number;
  /** Revision of the last write to this key. */
  readonly modRevision: number;
  /** Number of writes since creation; 1 after the first put. */
  readonly version: number;
  /** The lease the key is attached to, if any: the key is deleted when the lease expires. */
  readonly lease?: LeaseId;
}

/** A condition a transaction checks before choosing its branch. */
export type Compare =
  | { readonly key: string; readonly target: "exists"; readonly exists: boolean }
  | {
      readonly key: string;
      readonly target: "modRevision" | "createRevision" | "version";
      readonly op: "=" | "!=" | "<" | ">";
      /** A missing key has all three at 0, as in etcd. */
      readonly value: number;
    }
  | {
      readonly key: string;
      readonly target: "value";
      readonly op: "=" | "!=";
      readonly value: Uint8Array;
    };

/** An operation inside a transaction branch. */
export type TxnOp =
  | {
      readonly type: "put";
      readonly key: string;
      readonly value: Uint8Array;
      readonly lease?: LeaseId;
    }
  | { readonly type: "delete"; readonly key: string }
  | {
      readonly type: "deleteRange";
      readonly prefix: string;
      /** Keys under this sub-prefix of `prefix` are left in place (still one operation). */
      readonly keep?: string;
    }
  | { readonly type: "get"; readonly key: string }
  | { readonly type: "range"; readonly prefix: string };

/** The outcome of one {@link TxnOp}, in the order the ops were given. */
export type TxnOpResult =
  | { readonly type: "put"; readonly prev?: KeyValue }
  | { readonly type: "delete" | "deleteRange"; readonly deleted: readonly KeyValue[] }
  | { readonly type: "get"; readonly kv?: KeyValue }
  | { readonly type: "range"; readonly kvs: readonly KeyValue[] };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnResponse {
  /** True when every compare held and the success branch ran. */
  readonly succeeded: boolean;
  /** The store revision after the transaction (unchanged if it wrote nothing). */
  readonly revision: number;
  readonly results: readonly TxnOpResult[];
}

/** A change seen by a watch. Deletes carry the deleted key's last state in `prev`. */
export type WatchEvent =
  | { readonly type: "put"; readonly kv: KeyValue; readonly prev?: KeyValue }
  | {
      readonly type: "delete";
      readonly key: string;
      readonly revision: number;
      readonly prev?: KeyValue;
    };

/** All events of one revision under the watched prefix, delivered together. */
export interface WatchBatch {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

export interface WatchOptions {
  /**
   * Deliver changes with revision ≥ this. Omitted: only changes after the call. A revision the
   * store has compacted makes the iterator throw `STORE_COMPACTED`.
   */
  readonly fromRevision?: number;
  /** Ends the iteration (the iterator returns normally). */
  readonly signal?: AbortSignal;
  /**
   * False: events may come without `prev` (a store may skip fetching it; etcd then does not read
   * each previous value from its backend). Default true.
   */
  readonly prevKv?: boolean;
}

export interface RangeResult {
  readonly kvs: readonly KeyValue[];
  /** The store revision the read was served at. */
  readonly revision: number;
}

/** The etcd-shaped store every mode runs on. */
export interface Store {
  /** One key, or undefined. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with `prefix` ("" for all), sorted by key (byte order). */
  range(prefix: string): Promise<RangeResult>;
  /** Writes one key; returns the new revision and the key's previous state. */
  put(
    key: string,
    value: Uint8Array,
    options?: { lease?: LeaseId },
  ): Promise<{ revision: number; prev?: KeyValue }>;
  /** Deletes one key; `deleted` is 0 when it did not exist (and the revision does not move). */
  delete(key: string): Promise<{ revision: number; deleted: number }>;
  /** Deletes every key under `prefix`. */
  deleteRange(prefix: string): Promise<{ revision: number; deleted: number }>;
  /** Atomically checks `compare` and runs one branch. */
  txn(request: TxnRequest): Promise<TxnResponse>;
  /** Changes under `prefix` in revision order, one batch per revision. Resumable by revision. */
  watch(prefix: string, options?: WatchOptions): AsyncIterable<WatchBatch>;
  /** Grants a lease that expires `ttlSeconds` after the last keep-alive. */
  grant(ttlSeconds: number): Promise<LeaseId>;
  /** Refreshes a lease; returns its TTL in seconds, or throws `NOT_FOUND` when it has expired. */
  keepAlive(lease: LeaseId): Promise<number>;
  /** Ends a lease now, deleting its keys in one revision. Revoking an unknown lease is a no-op. */
  revoke(lease: LeaseId): Promise<void>;
  /** The current revision (1 for a fresh store). */
  revision(): Promise<number>;
  /** Releases resources; pending and later calls fail with `STORE_CLOSED`; watches end. */
  close(): Promise<void>;
}
