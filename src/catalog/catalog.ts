/**
 * The catalog: Consul's data model over the store. Reads come from the watch-fed view; writes are
 * store transactions, and a write resolves only once the view has applied it, so a client that
 * writes and then reads sees its write.
 *
 * @module
 */
import type { Compare, LeaseId, Store, TxnOp } from "../store/store.js";
import { AugurError } from "../lib/errors.js";
import type {
  HealthCheck,
  Indexed,
  KVPair,
  Node,
  NodeService,
  ServiceNode,
  ServiceSummary,
  Session,
  UserEvent,
} from "./types.js";
import {
  decodeRecord,
  encodeRecord,
  FAILED_PREFIX,
  keys,
  sameRecord,
  type AgentRecord,
  type FailedMark,
  type CheckRecord,
  type KvRecord,
  type NodeRecord,
  type ServiceRecord,
} from "./records.js";
import { CatalogView, type Stored } from "./view.js";
import { scope, type WaitSignal } from "./scopes.js";
import { ServiceSummaryCache } from "./service-summaries.js";
import {
  checksOfNode,
  ServiceHealthCache,
  sharedServiceNode,
  toHealthCheck,
  toNode,
  toNodeService,
  type ServiceHealthEntry,
} from "./health.js";
import { Sessions, toSession } from "./sessions.js";
import { kvRecordToPair, runKvOps, type KvOp, type KvOpsResult } from "./kv.js";
import { fireEvent, listEvents, type FireRequest } from "./events.js";
import { KvSetBatcher } from "./kv-batch.js";
import { runCatalogTxn, type CatalogTxnOp, type CatalogTxnResult } from "./txn.js";
import { PreparedQueries } from "./prepared-queries.js";
import { AclStore } from "./acl-store.js";

export interface RegisterRequest {
  readonly node: NodeRecord;
  /** Consul's SkipNodeUpdate: leave an existing node record as it is. */
  readonly skipNodeUpdate?: boolean;
  readonly service?: Omit<ServiceRecord, "Node">;
  readonly checks?: readonly CheckRecord[];
}

export interface DeregisterRequest {
  readonly node: string;
  readonly serviceId?: string;
  readonly checkId?: string;
}

export interface CatalogOptions {
  readonly datacenter: string;
  readonly now?: () => number;
  /** The most operations the store takes in one transaction (etcd's `--max-txn-ops`); unlimited if unset. */
  readonly maxTxnOps?: number;
  /** `session_ttl_min` (Consul's default 10 s). */
  readonly sessionTtlMinMs?: number;
  /** The most prepared queries that may exist (5,000 unless a test lowers it). */
  readonly maxPreparedQueries?: number;
}

/**
 * A KV record's pair, built once per record (kept as the record's `derived`): a recursive read of
 * 100,000 keys built 100,000 pairs on every read, 60-100 ms of the event loop (most of it
 * young-generation GC); now it collects them. A pair shares its record's strings: what it adds
 * is its own object, about 100 bytes per key read recursively, gone with the record.
 */
function pairOf(s: Stored<KvRecord>): KVPair {
  return (s.derived ??= kvRecordToPair(s.value, s.createRevision, s.modRevision)) as KVPair;
}

/** Keys whose answers are kept, and the largest value (base64 characters) kept. */
const KEY_ANSWERS_MAX = 1024;
const KEY_ANSWER_VALUE_MAX = 4096;

/**
 * The views of catalogs, for tests that look inside one ({@link inspectView}). Outside
 * src/catalog/ nothing may import that function (a lint rule), so the view stays the catalog's.
 */
const views = new WeakMap<Catalog, CatalogView>();

/** The catalog's view, for tests only: the rest of augur reads through Catalog's methods. */
/** One service instance for DNS answers (see Catalog.serviceInstances); shared, read-only. */
export interface InstanceEntry {
  readonly Node: Node;
  readonly Service: Readonly<ServiceRecord>;
  readonly Checks: readonly HealthCheck[];
}

export function inspectView(catalog: Catalog): CatalogView {
  return views.get(catalog) as CatalogView;
}

export class Catalog {
  /** The store-fed read model. Only the catalog reads it: everything else calls the methods below. */
  readonly #view: CatalogView;
  /** `internal/ui/services`, recomputed per changed service name (service-summaries.ts). */
  readonly #summaries = new ServiceSummaryCache();
  readonly #serviceHealth = new ServiceHealthCache();
  readonly sessions: Sessions;
  /** Prepared queries (`/v1/query`). */
  readonly queries: PreparedQueries;
  /** ACL tokens, policies and roles (`/v1/acl/*`), and request token resolution. */
  readonly acl: AclStore;
  readonly datacenter: string;
  /** The most operations one store transaction may carry (unlimited on the embedded stores). */
  readonly maxTxnOps: number;
  /** Plain KV writes, group-committed under load. */
  readonly #kvWrites: KvSetBatcher;
  /**
   * Recently read small keys' answers, by key, with the stored record they were built from. A
   * record is replaced, never changed, on every write, so while it is the key's record the same
   * array is answered and the HTTP server encodes it once (its encoding cache is by object)
   * instead of building and stringifying the pair on every GET. Bounded in count and value size,
   * so a read of every key of a large KV keeps no second copy of it.
   */
  readonly #keyAnswers = new Map<
    string,
    { readonly stored: Stored<KvRecord>; readonly value: KVPair[] }
  >();

  constructor(
    readonly store: Store,
    options: CatalogOptions,
  ) {
    this.#view = new CatalogView(store);
    views.set(this, this.#view);
    this.datacenter = options.datacenter;
    this.maxTxnOps = options.maxTxnOps ?? Number.POSITIVE_INFINITY;
    this.sessions = new Sessions(
      store,
      this.#view,
      options.now,
      options.maxTxnOps,
      options.sessionTtlMinMs,
    );
    this.#kvWrites = new KvSetBatcher(store, this.#view);
    this.queries = new PreparedQueries(store, this.#view, options.maxPreparedQueries);
    this.acl = new AclStore(store, this.#view);
  }

  /** `onResync` hears each time the view had to reload from a snapshot (history compacted). */
  async start(
    onFailure?: (err: unknown) => void,
    onResync?: (reason: string) => void,
  ): Promise<void> {
    await this.#view.start(onFailure, onResync);
    // A crash mid-destroy (or an etcd lease expiring with no agent up) may have left locks naming
    // sessions that are gone: free them before answering anyone.
    // A failure here (the store went away meanwhile) is reported, not fatal: every agent that sees
    // a session go repairs its locks anyway, and the next start tries again.
    await this.sessions.recover().catch((err: unknown) => onFailure?.(err));
    // Consul deletes a session's prepared queries with it; a crash may have left some behind.
    await this.queries.dropOrphans().catch((err: unknown) => onFailure?.(err));
    this.#view.onApplied((_rev, changes) => {
      this.sessions.invalidateAffected(changes).catch((err: unknown) => onFailure?.(err));
      const gone = PreparedQueries.sessionsGone(changes);
      if (gone.size > 0) this.queries.dropOrphans(gone).catch((err: unknown) => onFailure?.(err));
      // Build each changed check's shared read model as it lands, a few at a time, so the first
      // health/state/any after many registrations does not build ten thousand of them at once.
      for (const c of changes)
        if (c.kind === "checks" && c.next) toHealthCheck(c.next as Stored<CheckRecord>);
    });
  }

  async stop(): Promise<void> {
    await this.#view.stop();
  }

  /** Parks a blocking query on a scope (see ScopeIndex). */
  wait(name: string, afterIndex: number, signal: WaitSignal): Promise<void> {
    return this.#view.scopes.wait(name, afterIndex, signal);
  }

  /** Blocking queries parked now (a gauge for the metrics endpoint). */
  parked(): number {
    return this.#view.scopes.parked();
  }

  /** Parked queries woken so far. */
  woken(): number {
    return this.#view.scopes.woken();
  }

  scopeIndex(name: string): number {
    return this.#view.scopes.get(name);
  }

  /** A table's change index, without building its list: for readers that keep derived data. */
  tableIndex(table: "nodes" | "services"): number {
    return this.#view.tableIndex(table);
  }

  /** Waits until the view has applied everything the store holds now (for `?consistent` reads). */
  async catchUp(): Promise<void> {
    await this.#view.waitFor(await this.store.revision());
  }

  #index(name: string, table: Parameters<CatalogView["tableIndex"]>[0]): number {
    return this.#view.scopes.get(name) || this.#view.tableIndex(table);
  }

  // ---- reads -------------------------------------------------------------------------------

  nodes(): Indexed<Node[]> {
    const list = [...this.#view.nodes.values()]
      .map(toNode)
      .sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
    return { index: this.#view.tableIndex("nodes"), value: list };
  }

  /** Every service instance as a ServiceNode (catalog/services groups these by name). */
  serviceNodesAll(): Indexed<ServiceNode[]> {
    const out: ServiceNode[] = [];
    for (const s of this.#view.services.values())
      out.push(sharedServiceNode(this.#view.nodes.get(s.value.Node.toLowerCase()), s));
    return { index: this.#view.tableIndex("services"), value: out };
  }

  /**
   * `catalog/services` without filters: each service name with its instances' distinct tags, in
   * name order (Go encodes a map sorted by key). Read straight from the records: building 10,000
   * ServiceNode objects just to group them held the event loop for tens of milliseconds.
   */
  serviceTags(): Indexed<Record<string, string[]>> {
    const byName = new Map<string, Set<string>>();
    for (const s of this.#view.services.values()) {
      let tags = byName.get(s.value.Service);
      if (!tags) byName.set(s.value.Service, (tags = new Set()));
      for (const t of s.value.Tags ?? []) tags.add(t);
    }
    const value: Record<string, string[]> = {};
    for (const name of [...byName.keys()].sort())
      value[name] = [...(byName.get(name) as Set<string>)];
    return { index: this.#view.tableIndex("services"), value };
  }

  serviceNodes(service: string): Indexed<ServiceNode[]> {
    const value = this.#view
      .instancesOf(service)
      .map((s) => sharedServiceNode(this.#view.nodes.get(s.value.Node.toLowerCase()), s));
    return { index: this.#index(scope.service(service), "services"), value };
  }

  node(name: string): Indexed<{ Node: Node; Services: Record<string, NodeService> } | null> {
    const lower = name.toLowerCase();
    const node = this.#view.nodes.get(lower);
    const index = this.#index(scope.node(name), "nodes");
    if (!node) return { index, value: null };
    const services: Record<string, NodeService> = {};
    for (const s of this.#view.servicesByNode.get(lower)?.values() ?? [])
      services[s.value.ID] = toNodeService(s);
    return { index, value: { Node: toNode(node), Services: services } };
  }

  nodeChecks(name: string): Indexed<HealthCheck[]> {
    return {
      index: this.#index(scope.node(name), "nodes"),
      value: checksOfNode(this.#view, name.toLowerCase()),
    };
  }

  serviceChecks(service: string): Indexed<HealthCheck[]> {
    const value = this.#allChecks().filter(
      (c) => c.ServiceName.toLowerCase() === service.toLowerCase(),
    );
    return { index: this.#index(scope.service(service), "checks"), value };
  }

  checksInState(state: string): Indexed<HealthCheck[]> {
    const all = this.#allChecks();
    return {
      // The checks scope, not the checks table: a node's liveness (its serfHealth) changes no
      // check record, and a parked health/state query must still answer it with a new index.
      index: this.#index(scope.checks, "checks"),
      value: state === "any" ? all : all.filter((c) => c.Status === state),
    };
  }

  serviceHealth(service: string): Indexed<ServiceHealthEntry[]> {
    const value = this.#serviceHealth.read(this.#view, service, (name) => this.#missingNode(name));
    return { index: this.#index(scope.service(service), "services"), value };
  }

  /**
   * A service's instances for the DNS interface, built for speed: the stored service records
   * themselves (no NodeService copies), and each node's record and checks converted once for all
   * its instances, so entries share those objects: read them, never change them. 10,000
   * instances through serviceHealth held the event loop for 130 to 230 ms, mostly in copies.
   */
  serviceInstances(service: string): InstanceEntry[] {
    const perNode = new Map<string, { node: Node; checks: HealthCheck[] }>();
    return this.#view.instancesOf(service).map((s) => {
      const lower = s.value.Node.toLowerCase();
      let n = perNode.get(lower);
      if (!n) {
        const stored = this.#view.nodes.get(lower);
        n = {
          node: stored ? toNode(stored) : this.#missingNode(s.value.Node),
          checks: checksOfNode(this.#view, lower),
        };
        perNode.set(lower, n);
      }
      const id = s.value.ID;
      return {
        Node: n.node,
        Service: s.value,
        Checks: n.checks.some((c) => c.ServiceID !== "" && c.ServiceID !== id)
          ? n.checks.filter((c) => c.ServiceID === "" || c.ServiceID === id)
          : n.checks,
      };
    });
  }

  #missingNode(name: string): Node {
    return {
      ID: "",
      Node: name,
      Address: "",
      Datacenter: this.datacenter,
      TaggedAddresses: null,
      Meta: null,
      CreateIndex: 0,
      ModifyIndex: 0,
    };
  }

  /**
   * Consul's `internal/ui/services` (structs.ServiceListingSummary, non-Connect fields): per
   * service name its tags, nodes, instance count and the statuses of its instances' checks and
   * of their nodes' checks, counted once per instance, in name order.
   */
  serviceSummaries(): Indexed<ServiceSummary[]> {
    const index = Math.max(
      this.#view.tableIndex("services"),
      this.#view.tableIndex("checks"),
      this.#view.tableIndex("nodes"),
      this.#view.tableIndex("members"),
      this.#view.scopes.get(scope.serviceSummaries),
    );
    return { index, value: this.#summaries.read(this.#view, this.datacenter, index) };
  }

  #allChecks(): HealthCheck[] {
    const nodes = [...this.#view.nodes.keys()].sort();
    return nodes.flatMap((n) => checksOfNode(this.#view, n));
  }

  /** A node's stored record (register keeps its ID and address; node-meta filters read Meta). */
  nodeRecord(name: string): NodeRecord | undefined {
    return this.#view.nodes.get(name.toLowerCase())?.value;
  }

  /**
   * What the catalog holds for one node, by record key, for anti-entropy to compare with the
   * agent's local state. The maps are the view's own: read them, never change them.
   */
  nodeEntries(name: string): {
    node?: Stored<NodeRecord>;
    services: ReadonlyMap<string, Stored<ServiceRecord>>;
    checks: ReadonlyMap<string, Stored<CheckRecord>>;
  } {
    const lower = name.toLowerCase();
    const node = this.#view.nodes.get(lower);
    return {
      ...(node ? { node } : {}),
      services: this.#view.servicesByNode.get(lower) ?? new Map(),
      checks: this.#view.checksByNode.get(lower) ?? new Map(),
    };
  }

  /**
   * One key's pair (none when missing) and its index: the key's ModifyIndex, or the KV table's.
   * Small keys' answers are kept while their record is current (see #keyAnswers).
   */
  kvEntry(key: string): Indexed<KVPair[]> {
    const s = this.#view.kv.get(key);
    if (!s) return { index: this.#view.tableIndex("kv"), value: [] };
    const answers = this.#keyAnswers;
    const hit = answers.get(key);
    if (hit && hit.stored === s) return { index: s.modRevision, value: hit.value };
    const value = [kvRecordToPair(s.value, s.createRevision, s.modRevision)];
    if ((s.value.Value?.length ?? 0) <= KEY_ANSWER_VALUE_MAX) {
      if (hit) answers.delete(key);
      else if (answers.size >= KEY_ANSWERS_MAX)
        answers.delete(answers.keys().next().value as string);
      answers.set(key, { stored: s, value });
    } else if (hit) answers.delete(key);
    return { index: s.modRevision, value };
  }

  /** Pairs under `prefix` in key order, and the prefix's index (deletions included). */
  kvPrefix(prefix: string): Indexed<KVPair[]> {
    const view = this.#view;
    const out: KVPair[] = [];
    let index = 0;
    view.kvOrder.forEachWithPrefix(prefix, (key) => {
      const s = view.kv.get(key);
      if (!s) return;
      out.push(pairOf(s));
      index = Math.max(index, s.modRevision);
    });
    for (const [key, rev] of view.kvTombstones)
      if (rev > index && key.startsWith(prefix)) index = rev;
    // Deletions the view no longer knows one by one (reaped tombstones, and everything before the
    // snapshot it (re)loaded) stand in through their newest revision, so the index never goes back.
    return {
      index: Math.max(index || view.tableIndex("kv"), view.kvTombstoneFloor, view.loadedAt),
      value: out,
    };
  }

  /** Sessions in creation order, with the sessions table's index. */
  sessionList(): Indexed<Session[]> {
    const all = [...this.#view.sessions.values()].map(toSession);
    all.sort((a, b) => a.CreateIndex - b.CreateIndex);
    return { index: this.#view.tableIndex("sessions"), value: all };
  }

  /** Every agent that joined, and whether its liveness lease is held (Serf's members). */
  members(): { record: AgentRecord; alive: boolean }[] {
    return [...this.#view.agents.entries()].map(([lower, s]) => ({
      record: s.value,
      alive: this.#view.alive.has(lower),
    }));
  }

  /** One member by node name (any case). */
  member(name: string): { record: AgentRecord; alive: boolean } | undefined {
    const lower = name.toLowerCase();
    const s = this.#view.agents.get(lower);
    return s ? { record: s.value, alive: this.#view.alive.has(lower) } : undefined;
  }

  /** User events, oldest first (the last 256). */
  events(): UserEvent[] {
    return listEvents(this.#view);
  }

  // ---- writes ------------------------------------------------------------------------------

  /** A plain KV set (group-committed under load); resolves once reads see it. */
  async kvSet(op: KvOp & { verb: "set" }): Promise<void> {
    await this.#view.waitFor(await this.#kvWrites.set(op));
  }

  /**
   * KV operations as one transaction (KVS.Apply, Txn.Apply); once they applied, resolves after
   * reads see them. `internal`: the agent's own caller, which may write `_augur/` keys.
   */
  async kvApply(
    ops: readonly KvOp[],
    options: { enforceLockDelay?: boolean; internal?: boolean } = {},
  ): Promise<KvOpsResult> {
    const result = await runKvOps(this.store, ops, {
      ...options,
      view: this.#view,
      maxTxnOps: this.maxTxnOps,
    });
    if (result.errors.length === 0 && result.revision) await this.#view.waitFor(result.revision);
    return result;
  }

  /**
   * `/v1/txn` with catalog ops (Node, Service, Check, Session next to KV) as one transaction;
   * once it applied, resolves after reads see it. `internal` as for {@link kvApply}.
   */
  async txnApply(
    ops: readonly CatalogTxnOp[],
    options: { internal?: boolean } = {},
  ): Promise<CatalogTxnResult> {
    const result = await runCatalogTxn(this.store, this.#view, ops, options);
    if (result.revision > 0) await this.#view.waitFor(result.revision);
    // The records are gone with their locks; their leases only carried them (as session/destroy).
    for (const s of result.deletedSessions)
      if (s.Lease) await this.store.revoke(s.Lease).catch(() => undefined);
    return result;
  }

  /** event/fire: stores the event (keeping the last 256) and answers as Consul does. */
  fireEvent(req: FireRequest): Promise<UserEvent> {
    return fireEvent(this.store, this.#view, req);
  }

  /** catalog/register: node, optionally a service and checks, in one transaction. */
  async register(req: RegisterRequest): Promise<void> {
    // The write is planned from the view; the compares make it fail, rather than land next to a
    // deregister that committed meanwhile (a service on a deleted node, a check on a deleted
    // service). Then the view catches up to the store and the plan is made again.
    for (let attempt = 1; ; attempt++) {
      const { ops, compare } = this.#registerPlan(req);
      if (ops.length === 0) return;
      const res = await this.store.txn({ compare, success: ops });
      await this.#view.waitFor(res.revision);
      if (res.succeeded) return;
      if (attempt >= MAX_REGISTER_ATTEMPTS)
        throw new AugurError(
          "CONTENDED",
          `catalog register of node '${req.node.Node}': its records kept changing (${attempt} attempts)`,
        );
    }
  }

  #registerPlan(req: RegisterRequest): { ops: TxnOp[]; compare: Compare[] } {
    const nodeName = req.node.Node;
    const lower = nodeName.toLowerCase();
    const existing = this.#view.nodes.get(lower);
    const ops: TxnOp[] = [];
    const compare: Compare[] = [];
    const unchanged = (stored: Stored<unknown>): void =>
      void compare.push({
        key: stored.key,
        target: "modRevision",
        op: "=",
        value: stored.modRevision,
      });
    const nodeRecord =
      req.skipNodeUpdate && existing
        ? existing.value
        : { ...req.node, Node: existing?.value.Node ?? nodeName };
    if (!existing && req.skipNodeUpdate && !req.node.Address)
      throw new AugurError("INVALID_STATE", "Must provide address if SkipNodeUpdate is not set");
    if (!existing || !sameRecord(existing.value, nodeRecord))
      ops.push({ type: "put", key: keys.node(nodeRecord.Node), value: encodeRecord(nodeRecord) });
    else unchanged(existing);
    let service: ServiceRecord | undefined;
    if (req.service) {
      service = { ...req.service, Node: nodeRecord.Node };
      const key = keys.service(nodeRecord.Node, service.ID);
      const prev = this.#view.services.get(key);
      if (!prev || !sameRecord(prev.value, service))
        ops.push({ type: "put", key, value: encodeRecord(service) });
    }
    for (const check of req.checks ?? []) {
      const record = this.#checkRecord(nodeRecord.Node, check, service);
      if (record.ServiceID && record.ServiceID !== service?.ID) {
        const owner = this.#view.services.get(keys.service(nodeRecord.Node, record.ServiceID));
        if (owner) unchanged(owner);
      }
      const key = keys.check(nodeRecord.Node, record.CheckID);
      const prev = this.#view.checks.get(key);
      if (!prev || !sameRecord(prev.value, record))
        ops.push({ type: "put", key, value: encodeRecord(record) });
    }
    return { ops, compare };
  }

  #checkRecord(node: string, check: CheckRecord, service: ServiceRecord | undefined): CheckRecord {
    if (!check.ServiceID) return { ...check, Node: node, ServiceName: "", ServiceTags: [] };
    const svc =
      service && service.ID === check.ServiceID
        ? service
        : this.#view.services.get(keys.service(node, check.ServiceID))?.value;
    if (!svc)
      throw new AugurError(
        "INVALID_STATE",
        `Unknown service ID '${check.ServiceID}' for check ID '${check.CheckID}'`,
      );
    return { ...check, Node: node, ServiceName: svc.Service, ServiceTags: [...svc.Tags] };
  }

  /** catalog/deregister: a check, a service (with its checks), or the whole node. */
  async deregister(req: DeregisterRequest): Promise<void> {
    const lower = req.node.toLowerCase();
    const node = this.#view.nodes.get(lower)?.value.Node ?? req.node;
    const ops: TxnOp[] = [];
    if (req.checkId !== undefined) {
      if (this.#view.checks.has(keys.check(node, req.checkId)))
        ops.push({ type: "delete", key: keys.check(node, req.checkId) });
    } else if (req.serviceId !== undefined) {
      if (this.#view.services.has(keys.service(node, req.serviceId)))
        ops.push({ type: "delete", key: keys.service(node, req.serviceId) });
      for (const c of this.#view.checksByNode.get(lower)?.values() ?? [])
        if (c.value.ServiceID === req.serviceId) ops.push({ type: "delete", key: c.key });
    } else if (this.#view.nodes.has(lower)) {
      ops.push(...nodeRemoval(node));
    }
    await this.#commit(ops);
  }

  /** An agent joins: its member record and its liveness key on the agent's lease; any failure mark goes. */
  async joinAgent(agent: AgentRecord, lease: LeaseId): Promise<void> {
    const ops: TxnOp[] = [
      { type: "put", key: keys.agent(agent.Node), value: encodeRecord(agent) },
      { type: "put", key: keys.alive(agent.Node), value: encodeRecord({ ID: agent.ID }), lease },
      { type: "delete", key: keys.failed(agent.Node) },
    ];
    await this.#commit(ops);
  }

  /** A graceful leave: the node is deregistered and the member marked left. */
  async leaveAgent(agent: AgentRecord): Promise<void> {
    await this.deregister({ node: agent.Node });
    await this.#commit([
      {
        type: "put",
        key: keys.agent(agent.Node),
        value: encodeRecord({ ...agent, LeftAt: Date.now() }),
      },
      { type: "delete", key: keys.alive(agent.Node) },
    ]);
  }

  /**
   * Consul's reaping, run by every live agent (each step is a compare-and-swap, so agents racing
   * do it once): a member whose liveness key is gone gets a failure mark with the time it was
   * first seen failed; a mark older than `reconnectTimeoutMs` removes the member and its node,
   * services and checks; a member that left more than `tombstoneTimeoutMs` ago is forgotten
   * (Serf's tombstone timeout). A member that comes back clears its mark when it rejoins.
   * Returns the names of the nodes reaped.
   */
  async reapFailedMembers(
    now: number,
    reconnectTimeoutMs: number,
    tombstoneTimeoutMs: number,
  ): Promise<string[]> {
    const marks = new Map((await this.store.range(FAILED_PREFIX)).kvs.map((kv) => [kv.key, kv]));
    const reaped: string[] = [];
    let revision = 0;
    for (const member of [...this.#view.agents.values()]) {
      const name = member.value.Node;
      const markKey = keys.failed(name);
      const mark = marks.get(markKey);
      marks.delete(markKey);
      const aliveGone = { key: keys.alive(name), target: "exists", exists: false } as const;
      const unchanged = {
        key: keys.agent(name),
        target: "modRevision",
        op: "=",
        value: member.modRevision,
      } as const;
      if (member.value.LeftAt !== undefined) {
        if (now - member.value.LeftAt < tombstoneTimeoutMs) continue;
        const res = await this.store.txn({
          compare: [aliveGone, unchanged],
          success: [
            { type: "delete", key: keys.agent(name) },
            { type: "delete", key: markKey },
          ],
        });
        revision = Math.max(revision, res.revision);
      } else if (this.#view.alive.has(name.toLowerCase())) {
        if (mark)
          await this.store.txn({
            compare: [{ key: markKey, target: "modRevision", op: "=", value: mark.modRevision }],
            success: [{ type: "delete", key: markKey }],
          });
      } else if (!mark) {
        const first: FailedMark = { FailedAt: now };
        await this.store.txn({
          compare: [aliveGone, { key: markKey, target: "exists", exists: false }],
          success: [{ type: "put", key: markKey, value: encodeRecord(first) }],
        });
      } else if (now - decodeRecord<FailedMark>(mark.value).FailedAt >= reconnectTimeoutMs) {
        const res = await this.store.txn({
          compare: [
            aliveGone,
            unchanged,
            { key: markKey, target: "modRevision", op: "=", value: mark.modRevision },
          ],
          success: [
            ...nodeRemoval(name),
            { type: "delete", key: keys.agent(name) },
            { type: "delete", key: markKey },
          ],
        });
        if (res.succeeded) reaped.push(name);
        revision = Math.max(revision, res.revision);
      }
    }
    // Marks of members that are gone altogether (reaped elsewhere, or deregistered).
    for (const mark of marks.values())
      await this.store.txn({
        compare: [{ key: mark.key, target: "modRevision", op: "=", value: mark.modRevision }],
        success: [{ type: "delete", key: mark.key }],
      });
    if (revision > 0) await this.#view.waitFor(revision);
    return reaped;
  }

  async #commit(ops: TxnOp[]): Promise<void> {
    if (ops.length === 0) return;
    const res = await this.store.txn({ compare: [], success: ops });
    await this.#view.waitFor(res.revision);
  }
}

/** Register plans retried when a concurrent write changed what they were planned from. */
const MAX_REGISTER_ATTEMPTS = 10;

/** Deregistering a node: the node record with its services and checks. */
function nodeRemoval(node: string): TxnOp[] {
  return [
    { type: "delete", key: keys.node(node) },
    { type: "deleteRange", prefix: keys.servicesOf(node) },
    { type: "deleteRange", prefix: keys.checksOf(node) },
  ];
}
