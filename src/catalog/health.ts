/**
 * Read models built from the view: Consul's Node, ServiceNode, NodeService and HealthCheck
 * shapes, and the derived `serfHealth` check of every agent node (design.md: present liveness
 * key → passing, gone → critical; no leader has to write it).
 *
 * @module
 */
import type { HealthCheck, Node, NodeService, ServiceNode } from "./types.js";
import type { CatalogView, Stored } from "./view.js";
import type { CheckRecord, NodeRecord, ServiceRecord } from "./records.js";

export const SERF_CHECK_ID = "serfHealth";
export const SERF_CHECK_NAME = "Serf Health Status";
export const SERF_ALIVE_OUTPUT = "Agent alive and reachable";
export const SERF_DEAD_OUTPUT = "Agent not live or unreachable";

export interface ServiceHealthEntry {
  Node: Node;
  Service: NodeService;
  Checks: HealthCheck[];
}

export function toNode(s: Stored<NodeRecord>): Node {
  return { ...s.value, CreateIndex: s.createRevision, ModifyIndex: s.modRevision };
}

export function toNodeService(s: Stored<ServiceRecord>): NodeService {
  const { Node: _node, ...rest } = s.value;
  const out: NodeService = { ...rest, CreateIndex: s.createRevision, ModifyIndex: s.modRevision };
  if (!out.Kind) delete out.Kind;
  if (!out.Port) delete out.Port;
  if (out.TaggedAddresses && Object.keys(out.TaggedAddresses).length === 0)
    delete out.TaggedAddresses;
  return out;
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

/** Node-level checks plus the checks of one service instance, for a health/service entry. */
export function checksForInstance(view: CatalogView, s: Stored<ServiceRecord>): HealthCheck[] {
  return checksOfNode(view, s.value.Node.toLowerCase()).filter(
    (c) => c.ServiceID === "" || c.ServiceID === s.value.ID,
  );
}

/** Instances of a service, ordered by node then id (Consul's index order). */
export function instancesOf(view: CatalogView, service: string): Stored<ServiceRecord>[] {
  const list = [...(view.servicesByName.get(service.toLowerCase())?.values() ?? [])];
  list.sort((a, b) => cmp(a.value.Node, b.value.Node) || cmp(a.value.ID, b.value.ID));
  return list;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Consul's tag filter: every requested tag must be on the instance, case-insensitively. */
export function hasTags(tags: readonly string[], wanted: readonly string[]): boolean {
  if (wanted.length === 0) return true;
  const lower = new Set(tags.map((t) => t.toLowerCase()));
  return wanted.every((t) => lower.has(t.toLowerCase()));
}

/** `node-meta=key:value` filters (all must match). */
export function matchesNodeMeta(
  meta: Record<string, string> | null,
  wanted: readonly [string, string][],
): boolean {
  return wanted.every(([k, v]) => meta?.[k] === v);
}
