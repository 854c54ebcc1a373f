/**
 * The on-disk embedded store (`-data-dir`): the in-memory MVCC engine with an lmdb journal.
 * lmdb (a memory-mapped B-tree with ACID transactions) holds the keys, a bounded change log for
 * resumable watches, the revision and the leases. A write is acknowledged only after its lmdb
 * transaction has committed and been synced, so it survives `kill -9`. Reads are served from the
 * in-memory copy loaded at open: the catalog's view reads everything anyway, and it keeps
 * reads at memory speed.
 *
 * @module
 */
import { open, type Database, type RootDatabase } from "lmdb";
import { AugurError } from "../../lib/errors.js";
import { holdBatchCommit, lmdbFailureMessage } from "../../lib/lmdb-commit.js";
import type { KeyValue, LeaseId, Store, WatchBatch, WatchEvent } from "../store.js";
import { MemoryStore, type Journal } from "../memory/memory-store.js";
import {
  DEFAULT_HISTORY_BYTES,
  DEFAULT_HISTORY_REVISIONS,
  batchBytes,
  type HistoryLimits,
} from "../watch-hub.js";

export interface DiskStoreOptions {
  readonly path: string;
  readonly now?: () => number;
  /** History kept for watches to resume from, in memory and in the on-disk log (default 10,000 revisions, 64 MiB). */
  readonly history?: HistoryLimits;
}

interface StoredKv {
  v: Uint8Array;
  c: number;
  m: number;
  n: number;
  l?: string;
}

type StoredEvent =
  { t: "p"; kv: [string, StoredKv] } | { t: "d"; k: string; prev?: [string, StoredKv] };

const toStored = (kv: KeyValue): StoredKv => ({
  v: kv.value,
  c: kv.createRevision,
  m: kv.modRevision,
  n: kv.version,
  ...(kv.lease ? { l: kv.lease } : {}),
});
const fromStored = (key: string, s: StoredKv): KeyValue => ({
  key,
  value: new Uint8Array(s.v),
  createRevision: s.c,
  modRevision: s.m,
  version: s.n,
  ...(s.l ? { lease: s.l } : {}),
});

function ioError(err: unknown): AugurError {
  return new AugurError(
    "STORE_IO",
    `data dir store: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

/** Writes each revision to lmdb: keys, change log, meta, leases — in one transaction. */
class LmdbJournal implements Journal {
  constructor(
    private readonly root: RootDatabase,
    private readonly kvs: Database<StoredKv, string>,
    private readonly log: Database<StoredEvent[], number>,
    private readonly leases: Database<number, string>,
    /** The oldest revision still in the log. */
    private logFrom: number,
  ) {}

  async write(
    revision: number,
    events: readonly WatchEvent[],
    lease: { granted?: [LeaseId, number]; revoked?: LeaseId },
    historyFrom: number,
  ): Promise<void> {
    // The log keeps what the in-memory history keeps (bounded by revisions and bytes), no more.
    const pruneTo = Math.min(historyFrom, revision);
    const prune = this.logFrom < pruneTo ? { from: this.logFrom, to: pruneTo } : undefined;
    try {
      await this.root.transaction(() => {
        holdBatchCommit(this.root);
        for (const e of events) {
          if (e.type === "put") void this.kvs.put(e.kv.key, toStored(e.kv));
          else void this.kvs.remove(e.key);
        }
        if (events.length > 0) {
          void this.log.put(revision, events.map(encodeEvent));
          void this.root.put("revision", revision);
        }
        if (prune) for (let r = prune.from; r < prune.to; r++) void this.log.remove(r);
        if (lease.granted) {
          void this.leases.put(lease.granted[0], lease.granted[1]);
          void this.root.put("nextLease", Number(lease.granted[0]) + 1);
        }
        if (lease.revoked) void this.leases.remove(lease.revoked);
      });
      if (prune) this.logFrom = prune.to;
    } catch (err) {
      throw new AugurError("STORE_IO", `data dir store: ${await lmdbFailureMessage(err)}`, {
        cause: err,
      });
    }
  }
}

function encodeEvent(e: WatchEvent): StoredEvent {
  return e.type === "put"
    ? { t: "p", kv: [e.kv.key, toStored(e.kv)] }
    : {
        t: "d",
        k: e.key,
        ...(e.prev ? { prev: [e.prev.key, toStored(e.prev)] as [string, StoredKv] } : {}),
      };
}

function decodeEvent(e: StoredEvent, revision: number): WatchEvent {
  if (e.t === "p") return { type: "put", kv: fromStored(e.kv[0], e.kv[1]) };
  return {
    type: "delete",
    key: e.k,
    revision,
    ...(e.prev ? { prev: fromStored(e.prev[0], e.prev[1]) } : {}),
  };
}

export class DiskStore extends MemoryStore implements Store {
  readonly #root: RootDatabase;

  private constructor(root: RootDatabase, options: ConstructorParameters<typeof MemoryStore>[0]) {
    super(options);
    this.#root = root;
  }

  static async open(options: DiskStoreOptions): Promise<DiskStore> {
    let root: RootDatabase;
    try {
      root = open({ path: options.path, compression: false });
    } catch (err) {
      throw ioError(err);
    }
    const kvs = root.openDB<StoredKv, string>({ name: "kvs" });
    const log = root.openDB<StoredEvent[], number>({ name: "log" });
    const leases = root.openDB<number, string>({ name: "leases" });
    const revision = (root.get("revision") as number | undefined) ?? 1;
    const nextLease = (root.get("nextLease") as number | undefined) ?? 1;
    const loaded: KeyValue[] = [];
    for (const { key, value } of kvs.getRange()) loaded.push(fromStored(key, value));
    // Newest first, until the bounds are met: a log written under larger bounds is cut at load.
    const maxRevisions = options.history?.maxRevisions ?? DEFAULT_HISTORY_REVISIONS;
    const maxBytes = options.history?.maxBytes ?? DEFAULT_HISTORY_BYTES;
    const history: WatchBatch[] = [];
    let bytes = 0;
    for (const { key, value } of log.getRange({ reverse: true })) {
      const batch = { revision: key, events: value.map((e) => decodeEvent(e, key)) };
      bytes += batchBytes(batch);
      if (history.length > 0 && (history.length >= maxRevisions || bytes > maxBytes)) break;
      history.push(batch);
    }
    history.reverse();
    let logFrom = revision + 1;
    for (const first of log.getKeys({ limit: 1 })) logFrom = first;
    const leaseList: [LeaseId, number][] = [];
    for (const { key, value } of leases.getRange()) leaseList.push([key, value]);
    return new DiskStore(root, {
      ...(options.now ? { now: options.now } : {}),
      ...(options.history ? { history: options.history } : {}),
      journal: new LmdbJournal(root, kvs, log, leases, logFrom),
      initial: { revision, kvs: loaded, leases: leaseList, history, nextLease },
    });
  }

  override async close(): Promise<void> {
    await super.close();
    await this.#root.close();
  }
}
