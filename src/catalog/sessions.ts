/**
 * Sessions (Consul agent/session_endpoint.go, state/session.go). A session with a TTL rides on
 * a store lease of twice the TTL — Consul invalidates "up to 2× TTL" after the last renew — so
 * expiry works the same on the embedded store and on etcd. Invalidation (destroy, lease expiry,
 * a critical check, node deregistration) releases or deletes the session's locks, with
 * lock-delay for `release`.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";
import { AugurError, isAugurError } from "../lib/errors.js";
import { formatGoDuration } from "../lib/duration.js";
import type { Session, SessionBehavior } from "./types.js";
import { PREFIX, decodeRecord, encodeRecord, keys, type KvRecord, type SessionRecord } from "./records.js";
import type { AppliedChange, CatalogView, Stored } from "./view.js";
import { serfHealth } from "./health.js";

export const DEFAULT_LOCK_DELAY_MS = 15_000;
const MIN_TTL_MS = 10_000;
const MAX_TTL_MS = 24 * 3600_000;
/** Consul's SessionTTLMultiplier: a session lives up to twice its TTL after the last renew. */
const TTL_MULTIPLIER = 2;

export interface SessionRequest {
  name?: string;
  node: string;
  lockDelayMs?: number;
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
  ) {}

  async create(req: SessionRequest): Promise<string> {
    const behavior = req.behavior ?? "release";
    if (behavior !== "release" && behavior !== "delete") throw new AugurError("INVALID_STATE", `Invalid Behavior setting '${behavior}'`);
    const ttlMs = req.ttlMs ?? 0;
    if (ttlMs !== 0 && (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS)) {
      throw new AugurError("INVALID_STATE", `Invalid Session TTL '${ttlMs * 1e6}', must be between [10s=24h0m0s]`);
    }
    const nodeLower = req.node.toLowerCase();
    if (!this.view.nodes.has(nodeLower)) throw new AugurError("INVALID_STATE", `Failed to create session: node ${JSON.stringify(req.node)} not found`);
    const nodeChecks = req.nodeChecks ?? ["serfHealth"];
    for (const id of nodeChecks) this.#requireHealthy(nodeLower, id);
    const id = randomUUID();
    const record: SessionRecord = {
      ID: id,
      Name: req.name ?? "",
      Node: this.view.nodes.get(nodeLower)?.value.Node ?? req.node,
      LockDelay: (req.lockDelayMs ?? DEFAULT_LOCK_DELAY_MS) * 1e6,
      Behavior: behavior as SessionBehavior,
      TTL: ttlMs ? formatGoDuration(ttlMs) : "",
      NodeChecks: nodeChecks,
      ServiceChecks: req.serviceChecks ?? null,
    };
    if (ttlMs) record.Lease = await this.store.grant(Math.ceil((ttlMs * TTL_MULTIPLIER) / 1000));
    const { revision } = await this.store.put(keys.session(id), encodeRecord(record), record.Lease ? { lease: record.Lease } : {});
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
        if (isAugurError(err, "NOT_FOUND")) throw new AugurError("NOT_FOUND", `Session id '${id}' not found`);
        throw err;
      }
    }
    return [toSession(s)];
  }

  /** Destroys a session (idempotent) and releases or deletes its locks before answering. */
  async destroy(id: string): Promise<void> {
    const kv = await this.store.get(keys.session(id));
    if (!kv) return;
    const record = decodeRecord<SessionRecord>(kv.value);
    if (record.Lease) await this.store.revoke(record.Lease);
    const { revision } = await this.store.delete(keys.session(id));
    await this.view.waitFor(revision);
    await this.releaseLocks(record);
  }

  /** Releases (or, for `delete` sessions, deletes) every key locked by the session. */
  async releaseLocks(record: SessionRecord): Promise<void> {
    await this.view.waitFor(await this.store.revision());
    const delayMs = record.LockDelay / 1e6;
    let last = 0;
    for (const stored of [...this.view.kv.values()]) {
      if (stored.value.Session !== record.ID) continue;
      const { Session: _s, ...unlocked } = stored.value;
      const next: KvRecord = { ...unlocked, ...(delayMs > 0 ? { LockDelayUntil: this.now() + delayMs } : {}) };
      const op = record.Behavior === "delete" ? { type: "delete" as const, key: stored.key } : { type: "put" as const, key: stored.key, value: encodeRecord(next) };
      const res = await this.store.txn({ compare: [{ key: stored.key, target: "modRevision", op: "=", value: stored.modRevision }], success: [op] });
      if (res.succeeded) last = res.revision;
    }
    if (last) await this.view.waitFor(last);
  }

  /** Invalidates sessions whose node went away or whose checks turned critical. */
  async invalidateAffected(changes: readonly AppliedChange[]): Promise<void> {
    const victims = new Set<string>();
    for (const change of changes) {
      if (change.kind === "sessions" && change.prev && !change.next) {
        // Lease expiry (or a destroy elsewhere): the locks still need releasing.
        await this.releaseLocks(change.prev.value as SessionRecord);
        continue;
      }
      if (!["checks", "nodes", "alive", "agents"].includes(change.kind)) continue;
      for (const s of this.view.sessions.values()) if (this.#shouldInvalidate(s.value)) victims.add(s.value.ID);
    }
    for (const id of victims) await this.destroy(id);
  }

  #shouldInvalidate(session: SessionRecord): boolean {
    const node = session.Node.toLowerCase();
    if (!this.view.nodes.has(node)) return true;
    for (const id of session.NodeChecks) if (this.#status(node, id) !== "passing" && this.#status(node, id) !== "warning") return true;
    for (const sc of session.ServiceChecks ?? []) if (this.#status(node, sc.ID) === "critical" || this.#status(node, sc.ID) === undefined) return true;
    return false;
  }

  #status(node: string, checkId: string): string | undefined {
    if (checkId === "serfHealth") return serfHealth(this.view, node)?.Status ?? (this.view.agents.has(node) ? "critical" : undefined);
    for (const c of this.view.checksByNode.get(node)?.values() ?? []) if (c.value.CheckID === checkId) return c.value.Status;
    return undefined;
  }

  #requireHealthy(node: string, checkId: string): void {
    const status = this.#status(node, checkId);
    if (status === undefined) throw new AugurError("INVALID_STATE", `Missing check '${checkId}' registration`);
    if (status === "critical") throw new AugurError("INVALID_STATE", `Check '${checkId}' is in critical state`);
  }
}

export function isSessionKey(key: string): boolean {
  return key.startsWith(PREFIX.sessions);
}
