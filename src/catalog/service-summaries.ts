/**
 * `internal/ui/services` (Consul's ServiceListingSummary), kept per service name between reads:
 * a read recomputes only the names whose scope moved since it last summarised them, and hands
 * back the other summaries as the same frozen objects, which the HTTP layer encodes once (frozen
 * items are cached by identity, api/response.ts). With 10,000 services a check flip used to
 * recount every service and re-encode 3 MB; now it recounts one service.
 *
 * Every input of a service's summary bumps its `service:<name>` scope in the view: its
 * instances, their checks, its nodes' own checks, their records and liveness (view.ts
 * `#touchNodeHealth`). A name whose scope index is what it was when summarised is unchanged.
 *
 * @module
 */
import { serfHealth } from "./health.js";
import { scope } from "./scopes.js";
import type { ServiceRecord } from "./records.js";
import type { ServiceSummary } from "./types.js";
import type { CatalogView, Stored } from "./view.js";

interface Summarised {
  /** The `service:<lowercased name>` scope index the summaries were made at. */
  readonly index: number;
  /** One per exact name in the group (names that differ only by case share a scope). */
  readonly summaries: readonly ServiceSummary[];
}

export class ServiceSummaryCache {
  readonly #byName = new Map<string, Summarised>();
  #last: { readonly index: number; readonly value: ServiceSummary[] } | undefined;

  /**
   * The summaries in name order. `index` is the summary's own index (its tables' newest
   * revision): the same index answers the same array, so parked readers woken together share it.
   */
  read(view: CatalogView, datacenter: string, index: number): ServiceSummary[] {
    if (this.#last?.index === index) return this.#last.value;
    const nodeStatuses = new Map<string, readonly string[]>();
    const statusesOfNode = (nodeLower: string): readonly string[] => {
      let list = nodeStatuses.get(nodeLower);
      if (!list) {
        const out: string[] = [];
        const serf = serfHealth(view, nodeLower);
        if (serf) out.push(serf.Status);
        for (const c of view.checksByNode.get(nodeLower)?.values() ?? [])
          if (c.value.ServiceID === "") out.push(c.value.Status);
        nodeStatuses.set(nodeLower, (list = out));
      }
      return list;
    };
    const value: ServiceSummary[] = [];
    for (const [lower, instances] of view.servicesByName) {
      if (instances.size === 0) continue;
      const at = view.scopes.get(scope.service(lower));
      let entry = this.#byName.get(lower);
      if (entry?.index !== at) {
        entry = { index: at, summaries: summarise(view, instances, datacenter, statusesOfNode) };
        this.#byName.set(lower, entry);
      }
      for (const s of entry.summaries) value.push(s);
    }
    for (const lower of this.#byName.keys())
      if (!view.servicesByName.get(lower)?.size) this.#byName.delete(lower);
    value.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    this.#last = { index, value };
    return value;
  }
}

/** The summaries of one name group: tags, nodes, instances, and check statuses counted once per instance. */
function summarise(
  view: CatalogView,
  instances: ReadonlyMap<string, Stored<ServiceRecord>>,
  datacenter: string,
  statusesOfNode: (nodeLower: string) => readonly string[],
): ServiceSummary[] {
  interface Sum {
    kind: string;
    instances: number;
    tags: Set<string>;
    nodes: Set<string>;
    counts: [number, number, number];
  }
  const count = (sum: Sum, statuses: Iterable<string>): void => {
    for (const status of statuses)
      sum.counts[status === "passing" ? 0 : status === "warning" ? 1 : 2]++;
  };
  const byName = new Map<string, Sum>();
  for (const s of instances.values()) {
    const v = s.value;
    let sum = byName.get(v.Service);
    if (!sum) {
      sum = {
        kind: v.Kind ?? "",
        instances: 0,
        tags: new Set(),
        nodes: new Set(),
        counts: [0, 0, 0],
      };
      byName.set(v.Service, sum);
    }
    sum.instances++;
    for (const t of v.Tags ?? []) sum.tags.add(t);
    // A node's own checks count once per service (Consul keys them by node and check ID); a
    // service check once per instance.
    const nodeLower = v.Node.toLowerCase();
    if (!sum.nodes.has(v.Node)) count(sum, statusesOfNode(nodeLower));
    sum.nodes.add(v.Node);
    for (const c of view.checksByNode.get(nodeLower)?.values() ?? [])
      if (c.value.ServiceID !== "" && c.value.ServiceID === v.ID) count(sum, [c.value.Status]);
  }
  return [...byName].map(([name, sum]) =>
    Object.freeze<ServiceSummary>({
      ...(sum.kind ? { Kind: sum.kind } : {}),
      Name: name,
      Datacenter: datacenter,
      Tags: sum.tags.size ? [...sum.tags] : null,
      Nodes: [...sum.nodes].sort(),
      ExternalSources: null,
      InstanceCount: sum.instances,
      ChecksPassing: sum.counts[0],
      ChecksWarning: sum.counts[1],
      ChecksCritical: sum.counts[2],
      GatewayConfig: {},
      TransparentProxy: false,
      ConnectNative: false,
      ConnectedWithProxy: false,
      ConnectedWithGateway: false,
    }),
  );
}
