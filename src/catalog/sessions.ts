/**
 * Sessions (Consul agent/session_endpoint.go, state/session.go). A session with a TTL rides on
 * a store lease of twice the TTL — Consul invalidates "up to 2× TTL" after the last renew — so
 * expiry works the same on the embedded store and on etcd. Invalidation (destroy, lease expiry,
 * a critical check, node deregistration) releases or deletes the session's locks, with
 * lock-delay for `release`.
 *
 * The invariant: no key names a session that does not exist. A destroy removes the record and
 * the locks in one transaction. What removes a record without us — an expiring lease — is
 * followed by a sweep in every agent that sees it go, and `recover()` at start repairs what a
 * crash left between the two.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Compare, Store, TxnOp } from "../store/store.js";
import { AugurError, isAugurError } from "../lib/errors.js";
import { formatGoDuration } from "../lib/duration.js";
import type { Session, SessionBehavior } from "./types.js";
import {
  PREFIX,
  decodeRecord,
  encodeRecord,
  keys,
  type KvRecord,
  type SessionRecord,
} from "./records.js";
import type { AppliedChange, CatalogView, Stored } from "./view.js";
import { serfHealth } from "./health.js";

export const DEFAULT_LOCK_DELAY_MS = 15_000;
/**
 * Consul's `structs.MaxLockDelay`: a session keeps the `LockDelay` it was given, but no lock is
 * held back longer than this once the session is gone (one client's `LockDelay = "8760h"` would
 * otherwise keep a lock key from everyone for a year).
 */
export const MAX_LOCK_DELAY_MS = 60_000;
/** Consul's default `session_ttl_min`. */
export const DEFAULT_SESSION_TTL_MIN_MS = 10_000;
const MAX_TTL_MS = 24 * 3600_000;
/** Consul's SessionTTLMultiplier: a session lives up to twice its TTL after the last renew. */
const TTL_MULTIPLIER = 2;
/** Attempts before a destroy or a lock sweep that keeps meeting concurrent writes gives up. */
const MAX_ATTEMPTS = 20;

/** The store lease a session with this TTL rides on, in whole seconds (2× TTL, rounded up). */
export function sessionLeaseSeconds(ttlMs: number): number {
  return Math.ceil((ttlMs * TTL_MULTIPLIER) / 1000);
}

/** A compare that holds while the key is as the view last saw it. */
function unchanged(stored: Stored<unknown>): Compare {
  return { key: stored.key, target: "modRevision", op: "=", value: stored.modRevision };
}

export interface SessionRequest {
  name?: string;
  node: string;
  /** Whole nanoseconds (shown to clients as an int64, Go's `time.Duration`). */
  lockDelayNs?: number;
  behavior?: string;
  ttlMs?: number;
  nodeChecks?: string[];
  serviceChecks?: { ID: string; Namespace: string }[] | null;
}

export function toSession(s: Stored<SessionRecord>): Session {
  const { Lease: _lease, ...rest } = s.value;
  return { ...rest, CreateIndex: s.createRevision, ModifyIndex: s.modRevision };
}

export class Sessions {
  constructor(
    private readonly store: Store,
    private readonly view: CatalogView,
    private readonly now: () => number = Date.now,
    /** The most operations one store transaction may carry (etcd: `--max-txn-ops`, 128 by default). */
    private readonly maxTxnOps: number = Number.POSITIVE_INFINITY,
    /** `session_ttl_min`: the shortest TTL a session may ask for. */
    private readonly ttlMinMs: number = DEFAULT_SESSION_TTL_MIN_MS,
  ) {}

  async create(req: SessionRequest): Promise<string> {
    const behavior = req.behavior ?? "release";
    if (behavior !== "release" && behavior !== "delete")
      throw new AugurError("INVALID_STATE", `Invalid Behavior setting '${behavior}'`);
    const ttlMs = req.ttlMs ?? 0;
    if (ttlMs !== 0 && (ttlMs < this.ttlMinMs || ttlMs > MAX_TTL_MS)) {
      throw new AugurError(
        "INVALID_STATE",
        `Invalid Session TTL '${Math.round(ttlMs * 1e6)}', must be between [${formatGoDuration(this.ttlMinMs)}=${formatGoDuration(MAX_TTL_MS)}]`,
      );
    }
    const nodeLower = req.node.toLowerCase();
    if (!this.view.nodes.has(nodeLower))
      throw new AugurError(
        "INVALID_STATE",
        `Failed to create session: node ${JSON.stringify(req.node)} not found`,
      );
    const nodeChecks = req.nodeChecks ?? ["serfHealth"];
    for (const id of nodeChecks) this.#requireHealthy(nodeLower, id);
    const id = randomUUID();
    const record: SessionRecord = {
      ID: id,
      Name: req.name ?? "",
      Node: this.view.nodes.get(nodeLower)?.value.Node ?? req.node,
      LockDelay: req.lockDelayNs ?? DEFAULT_LOCK_DELAY_MS * 1e6,
      Behavior: behavior as SessionBehavior,
      TTL: ttlMs ? formatGoDuration(ttlMs) : "",
      NodeChecks: nodeChecks,
      ServiceChecks: req.serviceChecks ?? null,
    };
    if (ttlMs) record.Lease = await this.store.grant(sessionLeaseSeconds(ttlMs));
    const { revision } = await this.store.put(
      keys.session(id),
      encodeRecord(record),
      record.Lease ? { lease: record.Lease } : {},
    );
    await this.view.waitFor(revision);
    return id;
  }

  /** Renews a TTL session; 404 `Session id '<id>' not found` when it is gone. */
  async renew(id: string): Promise<Session[]> {
    const s = this.view.sessions.get(id);
    if (!s) throw new AugurError("NOT_FOUND", `Session id '${id}' not found`);
    if (s.value.Lease) {
      try {
        await this.store.keepAlive(s.value.Lease);
      } catch (err) {
        // Only a lease the store no longer has means the session is gone. An unreachable store is
        // a 500 "No cluster leader", as Consul answers without a Raft leader: a 404 here would make
        // clients (Patroni) drop a session that is still valid and will be renewed once etcd is back.
        if (isAugurError(err, "NOT_FOUND"))
          throw new AugurError("NOT_FOUND", `Session id '${id}' not found`);
        throw err;
      }
    }
    return [toSession(s)];
  }

  /**
   * Destroys a session (idempotent). The session's record and its locks go in ONE store
   * transaction — released, or deleted for `Behavior: delete` — so a crash never leaves a key
   * naming a session that does not exist. On a store with a transaction size limit (etcd's
   * `--max-txn-ops`) the record goes with the first locks and the rest follow in further
   * transactions; a crash in between is repaired by {@link recover} at the next start, and any
   * running agent repairs it at once when it sees the record go (see {@link invalidateAffected}).
   */
  async destroy(id: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await this.view.waitFor(await this.store.revision());
      const kv = await this.store.get(keys.session(id));
      if (!kv) {
        // Gone already (another destroy, a lease expiry): its locks may still be held.
        await this.releaseOrphanedLocks(new Set([id]));
        return;
      }
      const record = decodeRecord<SessionRecord>(kv.value);
      const locked = this.view.locksOf(id);
      const first = locked.slice(0, this.maxTxnOps - 1);
      const res = await this.store.txn({
        compare: [
          { key: kv.key, target: "modRevision", op: "=", value: kv.modRevision },
          ...first.map((s) => unchanged(s)),
        ],
        success: [{ type: "delete", key: kv.key }, ...first.map((s) => this.#releaseOp(s, record))],
      });
      if (!res.succeeded) continue;
      await this.view.waitFor(res.revision);
      // The locks that did not fit (etcd), in further transactions that retry on their own.
      if (locked.length > first.length)
        await this.releaseOrphanedLocks(new Set([id]), new Map([[id, record]]));
      // The record is gone already; the lease only carried it. Revoking is tidiness, not safety.
      if (record.Lease) await this.store.revoke(record.Lease).catch(() => undefined);
      return;
    }
    throw new AugurError(
      "CONTENDED",
      `Destroying session '${id}' kept conflicting with concurrent writes; try again`,
    );
  }

  /**
   * Restores the invariant "no key names a session that does not exist": every key locked by a
   * session that is gone is released (or deleted, for a `delete` session), with lock-delay.
   * `ids` limits the sweep to those sessions. Each release is compared by ModifyIndex, so agents
   * racing to do it do it once. Keys carry their session's behavior and lock-delay from the
   * moment they were locked, so this works when no one remembers the session's record (an etcd
   * lease that expired while no agent was running, a crash after the record went).
   */
  async releaseOrphanedLocks(
    ids?: ReadonlySet<string>,
    known?: ReadonlyMap<string, SessionRecord>,
  ): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // A lock is only taken while its session exists (the lock compares the session's record),
      // so once the view has caught up with the store, every orphan is in it.
      await this.view.waitFor(await this.store.revision());
      const holders = ids ? [...ids] : this.view.lockHolders();
      const orphans = holders
        .filter((sid) => !this.view.sessions.has(sid))
        .flatMap((sid) => this.view.locksOf(sid));
      if (orphans.length === 0) return;
      const last = await this.#releaseAll(orphans, (sid) => known?.get(sid));
      if (last > 0) await this.view.waitFor(last);
    }
    throw new AugurError(
      "CONTENDED",
      "Releasing the locks of destroyed sessions kept conflicting with concurrent writes; try again",
    );
  }

  /**
   * Repairs what a crash (or an etcd lease expiring while no agent ran) can leave behind: locks
   * naming sessions that are gone, and sessions that should have been invalidated — their node
   * deregistered or a check of theirs critical — when no agent was there to see it. Run at start,
   * before the agent answers requests.
   */
  async recover(): Promise<void> {
    await this.releaseOrphanedLocks();
    for (const s of [...this.view.sessions.values()])
      if (this.#shouldInvalidate(s.value)) await this.destroy(s.value.ID);
  }

  /** Releases keys in transactions of at most `maxTxnOps`; returns the last revision written (0 if none). */
  async #releaseAll(
    locked: readonly Stored<KvRecord>[],
    recordOf: (session: string) => SessionRecord | undefined,
  ): Promise<number> {
    let last = 0;
    for (let i = 0; i < locked.length; i += this.maxTxnOps) {
      const chunk = locked.slice(i, i + this.maxTxnOps);
      const res = await this.store.txn({
        compare: chunk.map(unchanged),
        success: chunk.map((s) => this.#releaseOp(s, recordOf(s.value.Session ?? ""))),
      });
      // A key changed meanwhile (someone else released it, or it was written): the caller re-reads.
      if (res.succeeded) last = Math.max(last, res.revision);
    }
    return last;
  }

  /** The write that frees one locked key: Consul's release (with lock-delay), or its deletion. */
  #releaseOp(stored: Stored<KvRecord>, record: SessionRecord | undefined): TxnOp {
    const next = releasedLock(stored.value, record, this.now());
    return next
      ? { type: "put", key: stored.key, value: encodeRecord(next) }
      : { type: "delete", key: stored.key };
  }

  /** Invalidates sessions whose node went away or whose checks turned critical. */
  async invalidateAffected(changes: readonly AppliedChange[]): Promise<void> {
    const victims = new Set<string>();
    const gone = new Map<string, SessionRecord>();
    let recheck = false;
    for (const change of changes) {
      if (change.kind === "sessions" && change.prev && !change.next) {
        // A destroy here or elsewhere, or a lease expiry: any lock still naming it is released.
        const record = change.prev.value as SessionRecord;
        gone.set(record.ID, record);
      } else if (["checks", "nodes", "alive", "agents"].includes(change.kind)) recheck = true;
    }
    if (gone.size > 0) await this.releaseOrphanedLocks(new Set(gone.keys()), gone);
    if (recheck)
      for (const s of this.view.sessions.values())
        if (this.#shouldInvalidate(s.value)) victims.add(s.value.ID);
    for (const id of victims) await this.destroy(id);
  }

  #shouldInvalidate(session: SessionRecord): boolean {
    const node = session.Node.toLowerCase();
    if (!this.view.nodes.has(node)) return true;
    for (const id of session.NodeChecks)
      if (this.#status(node, id) !== "passing" && this.#status(node, id) !== "warning") return true;
    for (const sc of session.ServiceChecks ?? [])
      if (this.#status(node, sc.ID) === "critical" || this.#status(node, sc.ID) === undefined)
        return true;
    return false;
  }

  #status(node: string, checkId: string): string | undefined {
    if (checkId === "serfHealth")
      return (
        serfHealth(this.view, node)?.Status ?? (this.view.agents.has(node) ? "critical" : undefined)
      );
    for (const c of this.view.checksByNode.get(node)?.values() ?? [])
      if (c.value.CheckID === checkId) return c.value.Status;
    return undefined;
  }

  #requireHealthy(node: string, checkId: string): void {
    const status = this.#status(node, checkId);
    if (status === undefined)
      throw new AugurError("INVALID_STATE", `Missing check '${checkId}' registration`);
    if (status === "critical")
      throw new AugurError("INVALID_STATE", `Check '${checkId}' is in critical state`);
  }
}

/**
 * A locked key once its session is gone: unlocked with lock-delay (Consul's `release`), or null
 * when the session's behavior is `delete`. The key's own copy of the behavior and delay wins, so
 * this works when the session's record is already gone.
 */
export function releasedLock(
  rec: KvRecord,
  session: SessionRecord | undefined,
  now: number,
): KvRecord | null {
  const behavior = rec.LockBehavior ?? session?.Behavior ?? "release";
  if (behavior === "delete") return null;
  const delayMs = Math.min((rec.LockDelayNs ?? session?.LockDelay ?? 0) / 1e6, MAX_LOCK_DELAY_MS);
  const { Session: _s, LockBehavior: _b, LockDelayNs: _d, ...unlocked } = rec;
  return { ...unlocked, ...(delayMs > 0 ? { LockDelayUntil: now + delayMs } : {}) };
}

export function isSessionKey(key: string): boolean {
  return key.startsWith(PREFIX.sessions);
}
