/**
 * Consul's KV semantics (state/kvs.go, state/txn.go) on the store: every KV write — a plain PUT,
 * `?cas`, `?acquire`, `?release`, DELETE, and each verb of `/v1/txn` — runs through one engine.
 * The engine reads the keys it needs from the store, applies the operations in order to a working
 * copy exactly as Consul would, and commits the result as one store transaction guarded by the
 * mod revisions it read. A concurrent writer makes the guard fail and the engine retries, so the
 * semantics hold on the embedded store and on etcd alike.
 *
 * @module
 */
import type { Compare, Store, TxnOp } from "../store/store.js";
import { AugurError } from "../lib/errors.js";
import type { KVPair } from "./types.js";
import {
  PREFIX,
  decodeRecord,
  encodeRecord,
  keys,
  type KvRecord,
  type SessionRecord,
} from "./records.js";
import type { Stored } from "./view.js";
import { INTERNAL_KV_PREFIX, isInternalKey } from "./kv-internal.js";

export type KvVerb =
  | "set"
  | "cas"
  | "lock"
  | "unlock"
  | "get"
  | "get-or-empty"
  | "get-tree"
  | "check-index"
  | "check-session"
  | "check-not-exists"
  | "delete"
  | "delete-tree"
  | "delete-cas";

export const KV_VERBS: readonly KvVerb[] = [
  "set",
  "cas",
  "lock",
  "unlock",
  "get",
  "get-or-empty",
  "get-tree",
  "check-index",
  "check-session",
  "check-not-exists",
  "delete",
  "delete-tree",
  "delete-cas",
];

export interface KvOp {
  readonly verb: KvVerb;
  readonly key: string;
  /** Raw value bytes for set/cas/lock/unlock; null stores Consul's null value. */
  readonly value?: Uint8Array | null;
  readonly flags?: KvFlags;
  /** ModifyIndex for cas / check-index / delete-cas. */
  readonly index?: number;
  readonly session?: string;
}

export interface KvOpsOptions {
  /** Consul checks lock-delay for `PUT ?acquire` only, not inside `/v1/txn`. */
  readonly enforceLockDelay?: boolean;
  readonly now?: () => number;
  /**
   * The agent's local view: the first attempt reads keys and sessions from it instead of from the
   * store (one consensus round trip fewer per write). Safe because every key read is compared by
   * ModifyIndex in the write's transaction; an outcome the view alone decided — a failed check, a
   * `cas` that did not apply, no write at all — is recomputed from the store before it is answered.
   */
  readonly view?: LocalKv;
  /**
   * True for the agent's own writes: a recursive delete may then remove `_augur/` keys too.
   * Clients' recursive deletes skip them (kv-internal.ts).
   */
  readonly internal?: boolean;
  /** The most compares, or writes, one store transaction may carry (etcd: `--max-txn-ops`, 128). */
  readonly maxTxnOps?: number;
}

export interface LocalKv {
  readonly kv: ReadonlyMap<string, Stored<KvRecord>>;
  readonly sessions: ReadonlyMap<string, Stored<SessionRecord>>;
}

export interface KvOpsResult {
  /** Entries Consul returns per op (gets keep values; writes and checks blank them). */
  readonly results: KVPair[];
  /** Per-op failures; when non-empty nothing was written. */
  readonly errors: { OpIndex: number; What: string }[];
  /** False for ops like cas/lock that "did not apply" (the single-op PUT answers `false`). */
  readonly applied: boolean;
  readonly revision: number;
}

/** One key in an attempt's working copy: as read, then as the ops so far left it. */
export interface Slot {
  rec: KvRecord | null;
  createRevision: number;
  modRevision: number;
  dirty: boolean;
}

const MAX_ATTEMPTS = 20;

/** KV `Flags`: an opaque uint64, exact to 2^64-1 — a bigint when past 2^53. */
export type KvFlags = number | bigint;

export const MAX_UINT64 = 0xffffffffffffffffn;

/**
 * Go's strconv.ParseUint(text, 10, 64), as `PUT /v1/kv/:key?flags=` runs it: the value, or the
 * error text Consul answers with.
 */
export function parseFlagsText(text: string): KvFlags | { error: string } {
  if (!/^\d+$/.test(text))
    return { error: `strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax` };
  const n = BigInt(text);
  if (n > MAX_UINT64)
    return { error: `strconv.ParseUint: parsing ${JSON.stringify(text)}: value out of range` };
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** Records are JSON in the store: flags past 2^53 are kept as decimal text. */
function storedFlags(flags: KvFlags | undefined): number | string {
  if (flags === undefined) return 0;
  if (typeof flags === "number") return flags;
  return flags <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(flags) : flags.toString();
}

export function kvRecordToPair(
  rec: KvRecord,
  createRevision: number,
  modRevision: number,
  withValue = true,
): KVPair {
  const pair: KVPair = {
    LockIndex: rec.LockIndex,
    Key: rec.Key,
    Flags: typeof rec.Flags === "string" ? BigInt(rec.Flags) : rec.Flags,
    Value: withValue ? rec.Value : null,
    CreateIndex: createRevision,
    ModifyIndex: modRevision,
  };
  if (rec.Session) pair.Session = rec.Session;
  return pair;
}

/** Runs KV ops atomically with Consul's semantics; retries on concurrent modification. */
export async function runKvOps(
  store: Store,
  ops: readonly KvOp[],
  options: KvOpsOptions = {},
): Promise<KvOpsResult> {
  const [only] = ops;
  if (
    ops.length === 1 &&
    only?.verb === "delete-tree" &&
    (options.internal || !isInternalKey(only.key))
  ) {
    // `DELETE ?recurse` alone: one range delete, atomic on every store and one operation on etcd
    // however large the tree (a delete and a compare per key would pass etcd's 128 per
    // transaction). Consul's delete-tree checks nothing either; it removes what is there. A
    // client's delete of a prefix enclosing `_augur/` (the whole KV, `_`...) leaves that range.
    const encloses = !options.internal && INTERNAL_KV_PREFIX.startsWith(only.key);
    const response = await store.txn({
      compare: [],
      success: [
        {
          type: "deleteRange",
          prefix: keys.kv(only.key),
          ...(encloses ? { keep: keys.kv(INTERNAL_KV_PREFIX) } : {}),
        },
      ],
    });
    return { results: [], errors: [], applied: true, revision: response.revision };
  }
  if (options.view) {
    const fromView = await attemptKvOps(
      store,
      ops,
      options,
      await readInputs(store, viewReader(options.view), ops),
    );
    if (fromView && fromView.revision > 0 && fromView.applied && fromView.errors.length === 0)
      return fromView;
  }
  const reader = storeReader(store);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const outcome = await attemptKvOps(store, ops, options, await readInputs(store, reader, ops));
    if (outcome) return outcome;
  }
  throw new AugurError(
    "CONTENDED",
    "KV transaction kept conflicting with concurrent writes; try again",
  );
}

export interface Inputs {
  readonly slots: Map<string, Slot>;
  readonly sessions: Map<string, SessionRecord | null>;
  readonly compare: Compare[];
  readonly fromView: boolean;
}

/** Where an attempt reads single keys and sessions: the store, or (first attempt) the local view. */
export interface KvReader {
  readonly fromView: boolean;
  key(
    key: string,
  ): Promise<{ value: KvRecord; createRevision: number; modRevision: number } | undefined>;
  session(id: string): Promise<{ value: SessionRecord; modRevision: number } | undefined>;
}

function storeReader(store: Store): KvReader {
  return {
    fromView: false,
    key: async (key) => {
      const kv = await store.get(keys.kv(key));
      return (
        kv && {
          value: decodeRecord<KvRecord>(kv.value),
          createRevision: kv.createRevision,
          modRevision: kv.modRevision,
        }
      );
    },
    session: async (id) => {
      const kv = await store.get(keys.session(id));
      return kv && { value: decodeRecord<SessionRecord>(kv.value), modRevision: kv.modRevision };
    },
  };
}

export function viewReader(view: LocalKv): KvReader {
  return {
    fromView: true,
    key: async (key) => view.kv.get(key),
    session: async (id) => view.sessions.get(id),
  };
}

/** `revision` is 0 when nothing was written (then the reads were not verified by a transaction). */
async function attemptKvOps(
  store: Store,
  ops: readonly KvOp[],
  options: KvOpsOptions,
  inputs: Inputs,
): Promise<KvOpsResult | undefined> {
  const { slots, sessions, compare } = inputs;
  const now = (options.now ?? Date.now)();
  const results: { pair: KVPair; key: string; written: boolean }[] = [];
  const errors: { OpIndex: number; What: string }[] = [];
  let applied = true;
  ops.forEach((op, i) => {
    const outcome = applyOp(op, slots, sessions, now, options);
    if (outcome.error) errors.push({ OpIndex: i, What: outcome.error });
    if (outcome.notApplied) applied = false;
    results.push(...outcome.results);
  });
  if (errors.length > 0) return { results: [], errors, applied: false, revision: 0 };
  const writes: TxnOp[] = [];
  for (const [key, slot] of slots) {
    if (!slot.dirty) continue;
    writes.push(
      slot.rec
        ? { type: "put", key: keys.kv(key), value: encodeRecord(slot.rec) }
        : { type: "delete", key: keys.kv(key) },
    );
  }
  if (writes.length === 0)
    return inputs.fromView
      ? { results: [], errors, applied, revision: 0 }
      : { results: results.map((r) => r.pair), errors, applied, revision: await store.revision() };
  const max = options.maxTxnOps ?? Number.POSITIVE_INFINITY;
  if (compare.length > max || writes.length > max)
    throw new AugurError(
      "TOO_LARGE",
      `the transaction reads ${compare.length} and writes ${writes.length} keys; the store takes at most ${max} of each in one transaction (etcd's --max-txn-ops): split it, or delete narrower prefixes`,
    );
  const response = await store.txn({ compare, success: writes });
  if (!response.succeeded) return undefined;
  const revision = response.revision;
  const pairs = results.map((r) => {
    if (!r.written) return r.pair;
    const slot = slots.get(r.key);
    return {
      ...r.pair,
      CreateIndex: slot && slot.createRevision > 0 ? slot.createRevision : revision,
      ModifyIndex: revision,
    };
  });
  return { results: pairs, errors, applied, revision };
}

/**
 * The most entries a transaction's `get-tree` results may hold, all its trees together. A
 * transaction's answer is built and encoded in one piece: 128 `get-tree`s of a 20,000-key
 * prefix (2.5 million entries) ended the agent (its JSON past V8's longest string), and one of
 * them held every other request 0.4 s. `GET /v1/kv/<prefix>?recurse` reads a large tree in
 * slices. On etcd a transaction touches at most 128 keys anyway (its `--max-txn-ops`).
 */
export const TXN_TREE_RESULTS_MAX = 1_000;

/** An attempt's inputs: every key and session it touches, each compared by ModifyIndex in its transaction. */
export async function readInputs(
  store: Store,
  reader: KvReader,
  ops: readonly KvOp[],
): Promise<Inputs> {
  const slots = new Map<string, Slot>();
  const compare: Compare[] = [];
  const put = (
    key: string,
    e: { value: KvRecord; createRevision: number; modRevision: number },
  ): void => {
    if (slots.has(key)) return;
    slots.set(key, {
      rec: e.value,
      createRevision: e.createRevision,
      modRevision: e.modRevision,
      dirty: false,
    });
    compare.push({ key: keys.kv(key), target: "modRevision", op: "=", value: e.modRevision });
  };
  // Trees come from the store, not the view: a key the view has not applied yet would be left
  // out of the tree with no compare to notice it.
  let results = 0;
  for (const op of ops) {
    if (op.verb === "get-tree" || op.verb === "delete-tree") {
      const { kvs } = await store.range(keys.kv(op.key));
      if (op.verb === "get-tree" && (results += kvs.length) > TXN_TREE_RESULTS_MAX)
        throw new AugurError(
          "TOO_LARGE",
          `Transaction results would hold more than ${TXN_TREE_RESULTS_MAX} entries; read a large tree with GET /v1/kv/<prefix>?recurse`,
        );
      for (const kv of kvs)
        put(kv.key.slice(PREFIX.kv.length), {
          value: decodeRecord<KvRecord>(kv.value),
          createRevision: kv.createRevision,
          modRevision: kv.modRevision,
        });
    }
  }
  for (const op of ops) {
    if (slots.has(op.key) || op.verb === "get-tree" || op.verb === "delete-tree") continue;
    const found = await reader.key(op.key);
    if (found) put(op.key, found);
    else {
      slots.set(op.key, { rec: null, createRevision: 0, modRevision: 0, dirty: false });
      compare.push({ key: keys.kv(op.key), target: "exists", exists: false });
    }
  }
  const sessions = new Map<string, SessionRecord | null>();
  for (const op of ops) {
    if (!op.session || sessions.has(op.session) || (op.verb !== "lock" && op.verb !== "unlock"))
      continue;
    const found = await reader.session(op.session);
    sessions.set(op.session, found ? found.value : null);
    compare.push(
      found
        ? {
            key: keys.session(op.session),
            target: "modRevision",
            op: "=",
            value: found.modRevision,
          }
        : { key: keys.session(op.session), target: "exists", exists: false },
    );
  }
  return { slots, sessions, compare, fromView: reader.fromView };
}

export interface OpOutcome {
  error?: string;
  notApplied?: boolean;
  results: { pair: KVPair; key: string; written: boolean }[];
}

const toBase64 = (v: Uint8Array | null | undefined): string | null =>
  v && v.length > 0 ? Buffer.from(v).toString("base64") : null;

function written(key: string, rec: KvRecord): OpOutcome {
  return { results: [{ key, written: true, pair: kvRecordToPair(rec, 0, 0, false) }] };
}

export function applyOp(
  op: KvOp,
  slots: Map<string, Slot>,
  sessions: Map<string, SessionRecord | null>,
  now: number,
  options: KvOpsOptions,
): OpOutcome {
  const slot = slots.get(op.key);
  const current = slot?.rec ?? null;
  const write = (rec: KvRecord | null): void => {
    const s = slots.get(op.key) ?? { rec: null, createRevision: 0, modRevision: 0, dirty: false };
    s.rec = rec;
    s.dirty = true;
    if (!rec) s.createRevision = 0;
    slots.set(op.key, s);
  };
  const fresh = (): KvRecord => ({
    Key: op.key,
    Flags: storedFlags(op.flags),
    Value: toBase64(op.value),
    LockIndex: current?.LockIndex ?? 0,
    ...(current?.Session ? lockFields(current) : {}),
  });
  const read = (withValue: boolean): OpOutcome => ({
    results:
      current && slot
        ? [
            {
              key: op.key,
              // Written earlier in this txn: its indexes are the txn's, known once it commits.
              written: slot.dirty,
              pair: kvRecordToPair(current, slot.createRevision, slot.modRevision, withValue),
            },
          ]
        : [],
  });
  switch (op.verb) {
    case "set": {
      const rec = fresh();
      write(rec);
      return written(op.key, rec);
    }
    case "cas": {
      const index = op.index ?? 0;
      const ok =
        index === 0
          ? current === null
          : current !== null && slot?.modRevision === index && !slot.dirty;
      if (!ok)
        return {
          error: `failed to set key ${JSON.stringify(op.key)}, index is stale`,
          notApplied: true,
          results: [],
        };
      const rec = fresh();
      write(rec);
      return written(op.key, rec);
    }
    case "lock":
      return lockOp(op, current, sessions, now, options, write);
    case "unlock": {
      if (!current || current.Session !== op.session) {
        return {
          error: `failed to unlock key ${JSON.stringify(op.key)}, lock isn't held, or is held by another session`,
          notApplied: true,
          results: [],
        };
      }
      const { Session: _s, LockBehavior: _b, LockDelayNs: _d, ...rest } = fresh();
      const rec: KvRecord = { ...rest };
      write(rec);
      return written(op.key, rec);
    }
    case "get":
      if (!current) return { error: `key ${JSON.stringify(op.key)} doesn't exist`, results: [] };
      return read(true);
    case "get-or-empty":
      if (current) return read(true);
      // Consul answers the op's own entry with no value (state/txn.go): the key, and the flags,
      // session and index the op carried.
      return {
        results: [
          {
            key: op.key,
            written: false,
            pair: kvRecordToPair(
              {
                Key: op.key,
                Flags: storedFlags(op.flags),
                Value: null,
                LockIndex: 0,
                ...(op.session ? { Session: op.session } : {}),
              },
              0,
              op.index ?? 0,
            ),
          },
        ],
      };
    case "get-tree":
      return {
        results: treeOf(slots, op.key).map(([key, s]) => ({
          key,
          written: s.dirty,
          pair: kvRecordToPair(s.rec as KvRecord, s.createRevision, s.modRevision),
        })),
      };
    case "check-index":
      // A key written earlier in this transaction has the transaction's own index in Consul (one
      // no client can have asked for), so it fails the check as it does there.
      if (!current || slot?.dirty || slot?.modRevision !== op.index) {
        const currentIndex = slot?.dirty
          ? "(written earlier in this transaction)"
          : String(slot?.modRevision ?? 0);
        return {
          error: `failed index check for key ${JSON.stringify(op.key)}, current modify index ${currentIndex} != ${op.index ?? 0}`,
          results: [],
        };
      }
      return read(false);
    case "check-session":
      if (!current || (current.Session ?? "") !== (op.session ?? "")) {
        return {
          error: `failed session check for key ${JSON.stringify(op.key)}, current session ${JSON.stringify(current?.Session ?? "")} != ${JSON.stringify(op.session ?? "")}`,
          results: [],
        };
      }
      return read(false);
    case "check-not-exists":
      if (current) return { error: `key ${JSON.stringify(op.key)} exists`, results: [] };
      return { results: [] };
    case "delete":
      if (current) write(null);
      return { results: [] };
    case "delete-cas": {
      // Consul's kvsDeleteCASTxn: a missing key is deleted already, whatever the index; a key
      // written earlier in this transaction has the transaction's index, which no client sent.
      const ok = current === null || (slot?.modRevision === op.index && !slot?.dirty);
      if (!ok)
        return {
          error: `failed to delete key ${JSON.stringify(op.key)}, index is stale`,
          notApplied: true,
          results: [],
        };
      if (current) write(null);
      return { results: [] };
    }
    case "delete-tree":
      for (const [key, s] of treeOf(slots, op.key)) {
        if (!options.internal && isInternalKey(key)) continue;
        s.rec = null;
        s.dirty = true;
        slots.set(key, s);
      }
      return { results: [] };
  }
}

function lockOp(
  op: KvOp,
  current: KvRecord | null,
  sessions: Map<string, SessionRecord | null>,
  now: number,
  options: KvOpsOptions,
  write: (rec: KvRecord) => void,
): OpOutcome {
  const session = op.session ? sessions.get(op.session) : null;
  if (!op.session || !session)
    return { error: `invalid session ${JSON.stringify(op.session ?? "")}`, results: [] };
  if (current?.Session && current.Session !== op.session) {
    return {
      error: `failed to lock key ${JSON.stringify(op.key)}, lock is already held`,
      notApplied: true,
      results: [],
    };
  }
  if (
    options.enforceLockDelay &&
    current &&
    !current.Session &&
    (current.LockDelayUntil ?? 0) > now
  ) {
    return {
      error: `failed to lock key ${JSON.stringify(op.key)}, lock-delay in effect`,
      notApplied: true,
      results: [],
    };
  }
  const reacquire = current?.Session === op.session;
  const rec: KvRecord = {
    Key: op.key,
    Flags: storedFlags(op.flags),
    Value: toBase64(op.value),
    LockIndex: (current?.LockIndex ?? 0) + (reacquire ? 0 : 1),
    Session: op.session,
    LockBehavior: session.Behavior,
    LockDelayNs: session.LockDelay,
  };
  write(rec);
  return written(op.key, rec);
}

/** The fields a write to a locked key keeps: the holder, and how to release it if the holder goes. */
function lockFields(rec: KvRecord): Pick<KvRecord, "Session" | "LockBehavior" | "LockDelayNs"> {
  return {
    ...(rec.Session !== undefined ? { Session: rec.Session } : {}),
    ...(rec.LockBehavior !== undefined ? { LockBehavior: rec.LockBehavior } : {}),
    ...(rec.LockDelayNs !== undefined ? { LockDelayNs: rec.LockDelayNs } : {}),
  };
}

function treeOf(slots: Map<string, Slot>, prefix: string): [string, Slot][] {
  return [...slots.entries()]
    .filter(([key, s]) => s.rec !== null && key.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
