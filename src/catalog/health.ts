/**
 * Read models built from the view: Consul's Node, ServiceNode, NodeService and HealthCheck
 * shapes, and the derived `serfHealth` check of every agent node (design.md: present liveness
 * key → passing, gone → critical; no leader has to write it).
 *
 * @module
 */
import type { HealthCheck, Node, NodeService, ServiceNode } from "./types.js";
import type { CatalogView, Stored } from "./view.js";
import { scope } from "./scopes.js";
import type { CheckRecord, NodeRecord, ServiceRecord } from "./records.js";

export const SERF_CHECK_ID = "serfHealth";
export const SERF_CHECK_NAME = "Serf Health Status";
export const SERF_ALIVE_OUTPUT = "Agent alive and reachable";
export const SERF_DEAD_OUTPUT = "Agent not live or unreachable";

export interface ServiceHealthEntry {
  readonly Node: Node;
  readonly Service: NodeService;
  readonly Checks: readonly HealthCheck[];
}

export function toNode(s: Stored<NodeRecord>): Node {
  return { ...s.value, CreateIndex: s.createRevision, ModifyIndex: s.modRevision };
}

export function toNodeService(s: Stored<ServiceRecord>): NodeService {
  // Built key by key in the record's order (the JSON's order), leaving out what Consul omits
  // when empty, instead of a copy with keys deleted afterwards: deleting turns an object into a
  // slow dictionary, which made this 20 to 40 times slower (10,000 instances: 50 to 130 ms).
  const v = s.value as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in v) {
    const x = v[key];
    if (
      key === "Node" ||
      ((key === "Kind" || key === "Port") && !x) ||
      (key === "TaggedAddresses" && x && Object.keys(x).length === 0)
    )
      continue;
    out[key] = x;
  }
  out["CreateIndex"] = s.createRevision;
  out["ModifyIndex"] = s.modRevision;
  return out as unknown as NodeService;
}

export function toServiceNode(
  node: Stored<NodeRecord> | undefined,
  s: Stored<ServiceRecord>,
): ServiceNode {
  const n = node?.value;
  const v = s.value;
  const out: ServiceNode = {
    ID: n?.ID ?? "",
    Node: n?.Node ?? v.Node,
    Address: n?.Address ?? "",
    Datacenter: n?.Datacenter ?? "",
    TaggedAddresses: n?.TaggedAddresses ?? null,
    NodeMeta: n?.Meta ?? null,
    ServiceKind: v.Kind ?? "",
    ServiceID: v.ID,
    ServiceName: v.Service,
    ServiceTags: v.Tags,
    ServiceAddress: v.Address,
    ServiceWeights: v.Weights,
    ServiceMeta: v.Meta,
    ServicePort: v.Port ?? 0,
    ServiceSocketPath: "",
    ServiceEnableTagOverride: v.EnableTagOverride,
    ServiceProxy: v.Proxy,
    ServiceConnect: v.Connect,
    CreateIndex: s.createRevision,
    ModifyIndex: s.modRevision,
  };
  if (v.TaggedAddresses && Object.keys(v.TaggedAddresses).length > 0)
    out.ServiceTaggedAddresses = v.TaggedAddresses;
  return out;
}

/**
 * HealthChecks by stored record. The view replaces a record on every write and never changes
 * one, so each record's read model is built once and shared by every read; it is frozen so no
 * reader can change it under the others, which also lets the HTTP layer cache its JSON
 * (health/state/any on a 10,000-check catalog otherwise rebuilds 10,000 objects per request).
 */
const healthChecks = new WeakMap<Stored<CheckRecord>, HealthCheck>();

export function toHealthCheck(s: Stored<CheckRecord>): HealthCheck {
  let check = healthChecks.get(s);
  if (!check) {
    check = Object.freeze({
      ...s.value,
      CreateIndex: s.createRevision,
      ModifyIndex: s.modRevision,
    });
    healthChecks.set(s, check);
  }
  return check;
}

/** The derived serfHealth check of an agent node, or undefined for nodes no agent runs on. */
export function serfHealth(view: CatalogView, nodeLower: string): HealthCheck | undefined {
  const agent = view.agents.get(nodeLower);
  const node = view.nodes.get(nodeLower);
  if (!agent || agent.value.LeftAt !== undefined || !node) return undefined;
  const alive = view.alive.has(nodeLower);
  return {
    Node: node.value.Node,
    CheckID: SERF_CHECK_ID,
    Name: SERF_CHECK_NAME,
    Status: alive ? "passing" : "critical",
    Notes: "",
    Output: alive ? SERF_ALIVE_OUTPUT : SERF_DEAD_OUTPUT,
    ServiceID: "",
    ServiceName: "",
    ServiceTags: [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
    CreateIndex: Math.max(agent.createRevision, node.createRevision),
    ModifyIndex: Math.max(
      view.aliveChanged.get(nodeLower) ?? 0,
      agent.modRevision,
      node.createRevision,
    ),
  };
}

/** Every check on a node, serfHealth first as Consul lists it. */
export function checksOfNode(view: CatalogView, nodeLower: string): HealthCheck[] {
  const out: HealthCheck[] = [];
  const serf = serfHealth(view, nodeLower);
  if (serf) out.push(serf);
  const stored = [...(view.checksByNode.get(nodeLower)?.values() ?? [])];
  stored.sort((a, b) =>
    a.value.CheckID < b.value.CheckID ? -1 : a.value.CheckID > b.value.CheckID ? 1 : 0,
  );
  for (const c of stored) out.push(toHealthCheck(c));
  return out;
}

/** Each instance's last ServiceNode, with the node record it was built from. */
const serviceNodes = new WeakMap<
  Stored<ServiceRecord>,
  { readonly node: Stored<NodeRecord> | undefined; readonly value: ServiceNode }
>();

/**
 * {@link toServiceNode}, kept (frozen, shared by every read) while the instance's record and its
 * node's record stay the same objects: a `catalog/service` read of 10,000 instances otherwise
 * builds 10,000 objects, and the HTTP layer encodes a frozen one once.
 */
export function sharedServiceNode(
  node: Stored<NodeRecord> | undefined,
  s: Stored<ServiceRecord>,
): ServiceNode {
  const kept = serviceNodes.get(s);
  if (kept !== undefined && kept.node === node) return kept.value;
  const value = Object.freeze(toServiceNode(node, s));
  serviceNodes.set(s, { node, value });
  return value;
}

/** Frozen read models by stored record, as {@link healthChecks}: see ServiceHealthCache. */
const frozenNodes = new WeakMap<Stored<NodeRecord>, Node>();
const frozenServices = new WeakMap<Stored<ServiceRecord>, NodeService>();

function frozen<K extends object, V extends object>(
  cache: WeakMap<K, V>,
  key: K,
  build: (key: K) => V,
): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = Object.freeze(build(key));
    cache.set(key, v);
  }
  return v;
}

/**
 * A service's health/service entries, kept per instance. The read is synchronous and a service
 * can have 10,000 instances: building each entry afresh on every read (a copy of the node, the
 * service and the node's sorted checks per instance) held the event loop for 130 to 210 ms. Here
 * an instance's entry is kept until its node's scope index moves — that index moves with every
 * change to the node's record, to any service or check on it, and to its liveness (view.ts),
 * which is everything an entry holds besides the instance's own record, the key it is kept
 * under. So after a check flip only that node's entries are built again, and each node's record
 * and checks are read once for all of its instances. Entries are frozen and shared by every read
 * (the HTTP layer encodes a frozen entry once, not once per request, and keeps that JSON — about
 * 1 KB an instance — as long as the entry); a record the view replaces drops its entry with it.
 */
export class ServiceHealthCache {
  readonly #entries = new WeakMap<
    Stored<ServiceRecord>,
    { readonly nodeIndex: number; readonly entry: ServiceHealthEntry }
  >();

  /** Entries in Consul's order (node, then ID); `missingNode` stands in for a node record that is gone. */
  read(
    view: CatalogView,
    service: string,
    missingNode: (name: string) => Node,
  ): ServiceHealthEntry[] {
    const perNode = new Map<string, NodeHealth>();
    return view.instancesOf(service).map((s) => {
      const lower = s.value.Node.toLowerCase();
      let n = perNode.get(lower);
      if (n === undefined) {
        n = { index: view.scopes.get(scope.node(lower)), built: undefined };
        perNode.set(lower, n);
      }
      const last = this.#entries.get(s);
      if (last !== undefined && last.nodeIndex === n.index) return last.entry;
      n.built ??= buildNodeHealth(view, lower, () => missingNode(s.value.Node));
      const id = s.value.ID;
      const entry: ServiceHealthEntry = Object.freeze({
        Node: n.built.node,
        Service: frozen(frozenServices, s, toNodeService),
        Checks: Object.freeze(
          n.built.checks.filter((c) => c.ServiceID === "" || c.ServiceID === id),
        ),
      });
      // A scope that never changed reads 0 whatever its node holds: nothing to tell entries apart by.
      if (n.index > 0) this.#entries.set(s, { nodeIndex: n.index, entry });
      return entry;
    });
  }
}

/** One node's part of a read: its scope index, and its record and checks once an entry needs them. */
interface NodeHealth {
  readonly index: number;
  built: { readonly node: Node; readonly checks: readonly HealthCheck[] } | undefined;
}

function buildNodeHealth(
  view: CatalogView,
  lower: string,
  missingNode: () => Node,
): NonNullable<NodeHealth["built"]> {
  const stored = view.nodes.get(lower);
  return {
    node: stored ? frozen(frozenNodes, stored, toNode) : missingNode(),
    checks: checksOfNode(view, lower),
  };
}

/** Consul's tag filter: every requested tag must be on the instance, case-insensitively. */
export function hasTags(tags: readonly string[], wanted: readonly string[]): boolean {
  // Loops, not a Set per call: a read of 10,000 instances calls this 10,000 times.
  for (const w of wanted) {
    const lw = w.toLowerCase();
    let found = false;
    for (const t of tags) {
      if (t === w || t.toLowerCase() === lw) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

/** `node-meta=key:value` filters (all must match). */
export function matchesNodeMeta(
  meta: Record<string, string> | null,
  wanted: readonly [string, string][],
): boolean {
  return wanted.every(([k, v]) => meta?.[k] === v);
}
