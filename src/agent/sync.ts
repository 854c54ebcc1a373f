/**
 * Anti-entropy (Consul agent/ae/ae.go + local/state.go SyncChanges/SyncFull): local services and
 * checks are pushed into the catalog. A change schedules a partial sync at once (statuses reach
 * the catalog immediately); a full sync every interval compares the catalog's view of this node
 * with local state and repairs drift — entries removed behind the agent's back come back,
 * entries the agent does not know are removed.
 *
 * States: idle → syncing → idle, with `pending` remembering changes that arrived mid-sync.
 *
 * @module
 */
import type { Catalog } from "../catalog/catalog.js";
import { keys, sameRecord, type CheckRecord, type NodeRecord } from "../catalog/records.js";
import type { LocalState } from "./local-state.js";
import { CONSUL_SERVICE_ID } from "./server-identity.js";

export interface AntiEntropyOptions {
  readonly catalog: Catalog;
  readonly local: LocalState;
  readonly node: () => NodeRecord;
  readonly fullSyncIntervalMs: number;
  readonly onError: (err: unknown) => void;
  readonly now?: () => number;
}

type SyncState =
  { kind: "stopped" } | { kind: "idle" } | { kind: "syncing"; pending: boolean; full: boolean };

export class AntiEntropy {
  #state: SyncState = { kind: "stopped" };
  #timer: NodeJS.Timeout | undefined;
  #deferTimer: NodeJS.Timeout | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(private readonly options: AntiEntropyOptions) {}

  start(): void {
    this.#state = { kind: "idle" };
    this.#timer = setInterval(() => this.trigger(true), this.options.fullSyncIntervalMs);
    this.#timer.unref();
    this.trigger(true);
  }

  async stop(): Promise<void> {
    this.#state = { kind: "stopped" };
    clearInterval(this.#timer);
    clearTimeout(this.#deferTimer);
    await this.#done;
  }

  /** Resolves after a sync that started after this call has finished. */
  async flush(): Promise<void> {
    this.trigger(false);
    await this.#done;
    if (this.#state.kind === "syncing") await this.#done;
  }

  trigger(full: boolean): void {
    switch (this.#state.kind) {
      case "stopped":
        return;
      case "syncing":
        this.#state.pending = true;
        this.#state.full ||= full;
        return;
      case "idle":
        this.#state = { kind: "syncing", pending: false, full };
        this.#done = this.#run(full);
    }
  }

  async #run(full: boolean): Promise<void> {
    try {
      if (full) this.#detectDrift();
      await this.#syncChanges();
    } catch (err) {
      this.options.local.markAllOutOfSync();
      this.options.onError(err);
    }
    const state = this.#state;
    if (state.kind !== "syncing") return;
    this.#state = { kind: "idle" };
    if (state.pending) this.trigger(state.full);
    else this.#scheduleDeferred();
  }

  /** Output-only changes wait for their deadline; wake up for the earliest. */
  #scheduleDeferred(): void {
    clearTimeout(this.#deferTimer);
    const now = (this.options.now ?? Date.now)();
    let next = Infinity;
    for (const e of this.options.local.checks().values())
      if (!e.inSync && e.deferredUntil !== undefined) next = Math.min(next, e.deferredUntil);
    if (next === Infinity) return;
    // Capped at Node's longest timer (2^31-1 ms); past it setTimeout fires at once, in a loop.
    this.#deferTimer = setTimeout(
      () => this.trigger(false),
      Math.min(Math.max(0, next - now), 2 ** 31 - 1),
    );
    this.#deferTimer.unref();
  }

  /** SyncFull: mark entries whose catalog copy differs (or is gone) out of sync; queue strays. */
  #detectDrift(): void {
    const { catalog, local } = this.options;
    const node = this.options.node();
    const {
      node: nodeStored,
      services: remoteServices,
      checks: remoteChecks,
    } = catalog.nodeEntries(node.Node);
    if (!nodeStored || !sameRecord(nodeStored.value, node)) local.markAllOutOfSync();
    for (const e of local.services().values()) {
      const remote = remoteServices.get(keys.service(node.Node, e.service.ID));
      if (!remote || !sameRecord(remote.value, { ...serviceRecord(e.service), Node: node.Node }))
        e.inSync = false;
    }
    for (const e of local.checks().values()) {
      const remote = remoteChecks.get(keys.check(node.Node, e.check.CheckID));
      if (!remote || !sameRecord(remote.value, checkRecord(e.check, node.Node))) e.inSync = false;
    }
    const strays = { services: [] as string[], checks: [] as string[] };
    for (const s of remoteServices.values())
      // Consul's local state never deregisters the consul service: servers own it, not the agent.
      if (!local.service(s.value.ID) && s.value.ID !== CONSUL_SERVICE_ID)
        strays.services.push(s.value.ID);
    for (const c of remoteChecks.values())
      if (!local.check(c.value.CheckID)) strays.checks.push(c.value.CheckID);
    local.restoreRemoved(strays);
  }

  /** SyncChanges: deletions first, then every out-of-sync service and check. */
  async #syncChanges(): Promise<void> {
    const { catalog, local } = this.options;
    const node = this.options.node();
    const removed = local.takeRemoved();
    try {
      for (const id of removed.services)
        await catalog.deregister({ node: node.Node, serviceId: id });
      for (const id of removed.checks) await catalog.deregister({ node: node.Node, checkId: id });
    } catch (err) {
      local.restoreRemoved(removed);
      throw err;
    }
    const now = (this.options.now ?? Date.now)();
    await catalog.register({ node });
    for (const e of local.services().values()) {
      if (e.inSync) continue;
      const checks = [...local.checks().values()].filter(
        (c) =>
          c.check.ServiceID === e.service.ID &&
          (c.deferredUntil === undefined || c.deferredUntil <= now),
      );
      await catalog.register({
        node,
        service: serviceRecord(e.service),
        checks: checks.map((c) => checkRecord(c.check, node.Node)),
      });
      e.inSync = true;
      for (const c of checks) {
        c.inSync = true;
        c.deferredUntil = undefined;
      }
    }
    for (const e of local.checks().values()) {
      if (e.inSync || (e.deferredUntil !== undefined && e.deferredUntil > now)) continue;
      await catalog.register({ node, checks: [checkRecord(e.check, node.Node)] });
      e.inSync = true;
      e.deferredUntil = undefined;
    }
  }
}

function serviceRecord(
  s: import("../catalog/types.js").NodeService,
): Omit<import("../catalog/records.js").ServiceRecord, "Node"> {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = s;
  return rest;
}

function checkRecord(c: import("../catalog/types.js").HealthCheck, node: string): CheckRecord {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = c;
  return { ...rest, Node: node };
}
