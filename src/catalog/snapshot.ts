/**
 * Snapshots (Consul's `/v1/snapshot`): save the whole catalog at one store revision into an
 * archive, and restore one by replacing the store's contents with it.
 *
 * Save is one `range("")`: every key at one revision, so the archive is consistent. Cluster
 * membership (`MEMBERSHIP_PREFIXES`) is left out, as Consul's snapshots hold no Serf state.
 *
 * Restore checks the whole archive first (gzip, tar, SHA256SUMS, augur's state encoding), so a
 * corrupt or foreign file changes nothing. It then writes the difference between the store and
 * the snapshot: keys the snapshot has are put (unchanged ones are left alone), keys it lacks are
 * deleted. Every write is a new revision, so indexes only grow and blocking queries and watches
 * wake as for any other write; restored records get the restore's revision as their
 * CreateIndex/ModifyIndex (Consul keeps the snapshot's indexes instead, and may go backwards).
 *
 * - On the embedded stores it is one transaction, guarded by compares on every key it replaces or
 *   keeps, retried if a concurrent write got in between: a concurrent write lands wholly before or
 *   after the restore.
 * - etcd caps a transaction (`--max-txn-ops`, 128; about 1.5 MiB a request). A restore that fits
 *   is one guarded transaction as above. A larger one is written in batches, in an order that keeps
 *   the catalog's invariants at every step (nodes, checks, services, sessions before the keys that
 *   name them; deletions in reverse); readers may see a mix of old and new state until the last
 *   batch, and a failure part-way leaves that mix: restoring the same archive again converges.
 *
 * Sessions: each TTL session rides on a store lease. The restore grants a fresh lease per lease
 * the snapshot names (with the TTL it had), so restored sessions' TTLs start over, as Consul's
 * timers restart; the sessions' records and locks come back as saved. The leases of sessions the
 * restore replaced or removed are revoked once the new state is in, so no key is ever attached
 * to a lease that does not exist.
 *
 * @module
 */
import type { Catalog } from "./catalog.js";
import type { KeyValue, LeaseId, Store, TxnOp, Compare } from "../store/store.js";
import { AugurError } from "../lib/errors.js";
import { parseGoDuration } from "../lib/duration.js";
import { PREFIX, decodeRecord, encodeRecord, type SessionRecord } from "./records.js";
import { sessionLeaseSeconds } from "./sessions.js";
import {
  SNAPSHOT_MAX_BYTES,
  packArchive,
  unpackArchive,
  type SnapshotMeta,
} from "./snapshot-archive.js";
import { decodeState, encodeState, inSnapshotScope, type StateEntry } from "./snapshot-state.js";

/** Raft's snapshot format version, which Consul's meta.json carries. */
const RAFT_SNAPSHOT_VERSION = 1;
/** augur has no Raft term of its own; every snapshot says 1. */
const TERM = 1;
/** etcd refuses requests over `--max-request-bytes` (1.5 MiB by default): batches stay below. */
const ETCD_BATCH_BYTES = 1024 * 1024;
/** Attempts of the guarded transaction before a restore that keeps meeting writes gives up. */
const MAX_ATTEMPTS = 10;

export interface SavedSnapshot {
  /** The gzip'd archive. */
  readonly archive: Buffer;
  /** The store revision it was read at (`X-Consul-Index`). */
  readonly index: number;
}

/** Saves every key in scope at one revision. */
export async function saveSnapshot(catalog: Catalog): Promise<SavedSnapshot> {
  const { kvs, revision } = await catalog.store.range("");
  const entries: StateEntry[] = [];
  for (const kv of kvs) {
    if (!inSnapshotScope(kv.key)) continue;
    if (!kv.lease) {
      entries.push({ key: kv.key, value: kv.value });
      continue;
    }
    const ttlSeconds = leaseTtlOf(kv);
    // Only sessions ride on leases in the catalog; a key on a lease whose TTL is unknown could not
    // be given one back, and restored without it would outlive its owner: it is left out.
    if (ttlSeconds !== undefined)
      entries.push({ key: kv.key, value: kv.value, lease: { id: kv.lease, ttlSeconds } });
  }
  // The state lists keys in JavaScript's string order (etcd answers in byte order, which differs
  // past U+FFFF), the order its decoder checks.
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const state = await encodeState(revision, entries);
  // A snapshot a restore would refuse is not a backup: said now, not at the restore.
  if (state.length > SNAPSHOT_MAX_BYTES - 64 * 1024)
    throw new AugurError(
      "TOO_LARGE",
      `snapshot state is ${state.length} bytes, more than the ${SNAPSHOT_MAX_BYTES} a restore accepts`,
    );
  const meta: SnapshotMeta = {
    Version: RAFT_SNAPSHOT_VERSION,
    ID: `${TERM}-${revision}-${Date.now()}`,
    Index: revision,
    Term: TERM,
    Peers: null,
    Configuration: { Servers: [] },
    ConfigurationIndex: 0,
    Size: state.length,
  };
  return { archive: await packArchive(meta, state), index: revision };
}

/** The TTL of a session's lease, from its record. */
function leaseTtlOf(kv: KeyValue): number | undefined {
  if (!kv.key.startsWith(PREFIX.sessions)) return undefined;
  try {
    const ttlMs = parseGoDuration(decodeRecord<SessionRecord>(kv.value).TTL);
    return ttlMs ? sessionLeaseSeconds(ttlMs) : undefined;
  } catch {
    return undefined;
  }
}

export interface RestoreOptions {
  /** The most the archive may inflate to (default {@link SNAPSHOT_MAX_BYTES}). */
  readonly maxBytes?: number;
}

/**
 * Restores an archive; resolves once the catalog's reads see the restored state, with the
 * revision that made it (the current one when nothing differed).
 */
export async function restoreSnapshot(
  catalog: Catalog,
  body: Uint8Array,
  options: RestoreOptions = {},
): Promise<number> {
  const { state } = await unpackArchive(body, options.maxBytes ?? SNAPSHOT_MAX_BYTES);
  const { entries } = await decodeState(state);
  const store = catalog.store;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = new Map<string, KeyValue>();
    for (const kv of (await store.range("")).kvs)
      if (inSnapshotScope(kv.key)) current.set(kv.key, kv);
    const granted = await grantLeases(store, entries);
    let committed = false;
    try {
      const plan = await planRestore(entries, current, granted);
      if (plan.ops.length === 0) {
        await revokeAll(store, granted.values());
        return await store.revision();
      }
      const outcome = await apply(store, plan, catalog.maxTxnOps, () => (committed = true));
      if (outcome === "conflict") {
        await revokeAll(store, granted.values());
        continue;
      }
      await revokeAll(store, plan.replacedLeases);
      await catalog.catchUp();
      return outcome;
    } catch (err) {
      // Leases nothing was written with yet expire on their own too; revoking is tidiness.
      if (!committed) await revokeAll(store, granted.values());
      throw err;
    }
  }
  throw new AugurError(
    "CONTENDED",
    "Restoring the snapshot kept conflicting with concurrent writes; try again",
  );
}

/** A fresh lease for each lease the snapshot names: old id → new id. */
async function grantLeases(
  store: Store,
  entries: readonly StateEntry[],
): Promise<Map<string, LeaseId>> {
  const granted = new Map<string, LeaseId>();
  try {
    for (const e of entries)
      if (e.lease && !granted.has(e.lease.id))
        granted.set(e.lease.id, await store.grant(e.lease.ttlSeconds));
  } catch (err) {
    await revokeAll(store, granted.values());
    throw err;
  }
  return granted;
}

async function revokeAll(store: Store, leases: Iterable<LeaseId>): Promise<void> {
  for (const lease of leases) await store.revoke(lease).catch(() => undefined);
}

interface RestorePlan {
  /** Puts then deletes, each in the order that keeps references valid (see RANK). */
  readonly ops: TxnOp[];
  /** Guards for the one-transaction form: every key in scope is as it was read. */
  readonly compares: Compare[];
  /** The leases of the session records the restore overwrites or deletes. */
  readonly replacedLeases: LeaseId[];
}

/**
 * Which keys go first: what other records name (nodes; checks a session may list) before what
 * names them (services, sessions, then KV keys locked by sessions). Deletions run in reverse.
 */
const RANK = [PREFIX.nodes, PREFIX.checks, PREFIX.services, PREFIX.sessions, PREFIX.kv];
const rankOf = (key: string): number => {
  const i = RANK.findIndex((p) => key.startsWith(p));
  return i < 0 ? RANK.length : i;
};

/** Entries planned between two yields to the event loop. */
const ENTRIES_PER_TURN = 2000;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function planRestore(
  entries: readonly StateEntry[],
  current: ReadonlyMap<string, KeyValue>,
  granted: ReadonlyMap<string, LeaseId>,
): Promise<RestorePlan> {
  const puts: TxnOp[] = [];
  const deletes: TxnOp[] = [];
  const compares: Compare[] = [];
  const replacedLeases: LeaseId[] = [];
  const target = new Set<string>();
  let n = 0;
  for (const e of entries) {
    if (++n % ENTRIES_PER_TURN === 0) await yieldToEventLoop();
    target.add(e.key);
    const cur = current.get(e.key);
    compares.push(
      cur
        ? { key: e.key, target: "modRevision", op: "=", value: cur.modRevision }
        : { key: e.key, target: "exists", exists: false },
    );
    if (cur && !cur.lease && !e.lease && Buffer.from(cur.value).equals(e.value)) continue;
    if (cur?.lease) replacedLeases.push(cur.lease);
    const lease = e.lease ? granted.get(e.lease.id) : undefined;
    puts.push({
      type: "put",
      key: e.key,
      value: lease ? withSessionLease(e, lease) : e.value,
      ...(lease ? { lease } : {}),
    });
  }
  for (const cur of current.values()) {
    if (target.has(cur.key)) continue;
    compares.push({ key: cur.key, target: "modRevision", op: "=", value: cur.modRevision });
    if (cur.lease) replacedLeases.push(cur.lease);
    deletes.push({ type: "delete", key: cur.key });
  }
  const byRank = (a: TxnOp, b: TxnOp): number => rankOf(opKey(a)) - rankOf(opKey(b));
  puts.sort(byRank);
  deletes.sort((a, b) => -byRank(a, b));
  return { ops: [...puts, ...deletes], compares, replacedLeases: [...new Set(replacedLeases)] };
}

const opKey = (op: TxnOp): string => ("key" in op ? op.key : op.prefix);

/** A session record names its lease: the restored record names the fresh one. */
function withSessionLease(e: StateEntry, lease: LeaseId): Uint8Array {
  if (!e.key.startsWith(PREFIX.sessions)) return e.value;
  let record: SessionRecord;
  try {
    record = decodeRecord<SessionRecord>(e.value);
  } catch {
    return e.value;
  }
  return encodeRecord({ ...record, Lease: lease });
}

const opBytes = (op: TxnOp): number =>
  opKey(op).length + (op.type === "put" ? op.value.length : 0) + 16;

/**
 * Writes the plan: one guarded transaction when it fits the store's limits ("conflict" when a
 * compare failed), else batches in plan order. Resolves with the last revision written.
 */
async function apply(
  store: Store,
  plan: RestorePlan,
  maxTxnOps: number,
  onCommit: () => void,
): Promise<number | "conflict"> {
  const bytes = plan.ops.reduce((n, op) => n + opBytes(op), 0);
  const fits =
    maxTxnOps === Number.POSITIVE_INFINITY ||
    (plan.ops.length <= maxTxnOps &&
      plan.compares.length <= maxTxnOps &&
      bytes <= ETCD_BATCH_BYTES);
  if (fits) {
    const res = await store.txn({ compare: plan.compares, success: plan.ops });
    if (!res.succeeded) return "conflict";
    onCommit();
    return res.revision;
  }
  let revision = 0;
  let batch: TxnOp[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    revision = (await store.txn({ compare: [], success: batch })).revision;
    onCommit();
    batch = [];
    batchBytes = 0;
  };
  for (const op of plan.ops) {
    const size = opBytes(op);
    if (batch.length >= maxTxnOps || (batch.length > 0 && batchBytes + size > ETCD_BATCH_BYTES))
      await flush();
    batch.push(op);
    batchBytes += size;
  }
  await flush();
  return revision;
}
