/**
 * What executing a prepared query does to the service's health entries (Consul
 * agent/consul/prepared_query_endpoint.go execute, CheckServiceNodes.FilterIgnore): drop unhealthy
 * instances, then keep those matching the node meta, service meta and tag filters; shuffle, put
 * the `near` node first when it is among the first ten, and apply the limit.
 *
 * @module
 */
import type { ServiceHealthEntry } from "./health.js";
import type { ServiceQuery } from "./prepared-query-types.js";
import type { HealthCheck, Node } from "./types.js";

/** What filtering and ordering read of an entry: health/service's, or the DNS interface's. */
export interface QueryEntry {
  readonly Node: Pick<Node, "Node" | "Meta">;
  readonly Service: {
    readonly Tags?: readonly string[] | null;
    readonly Meta?: Readonly<Record<string, string>> | null;
  };
  readonly Checks: readonly Pick<HealthCheck, "CheckID" | "Status">[];
}

/** Consul's FilterIgnore, then its node-meta, service-meta and tag filters, in that order. */
export function filterQueryNodes<E extends QueryEntry = ServiceHealthEntry>(
  entries: readonly E[],
  svc: ServiceQuery,
): E[] {
  const ignore = new Set(svc.IgnoreCheckIDs ?? []);
  let out = entries.filter((e) =>
    e.Checks.every(
      (c) =>
        ignore.has(c.CheckID) ||
        !(c.Status === "critical" || (svc.OnlyPassing && c.Status !== "passing")),
    ),
  );
  const nodeMeta = Object.entries(svc.NodeMeta ?? {});
  if (nodeMeta.length > 0) out = out.filter((e) => satisfies(e.Node.Meta, nodeMeta));
  const serviceMeta = Object.entries(svc.ServiceMeta ?? {});
  if (serviceMeta.length > 0) out = out.filter((e) => satisfies(e.Service.Meta, serviceMeta));
  if ((svc.Tags ?? []).length > 0) out = tagFilter(svc.Tags ?? [], out);
  return out;
}

/** Consul's SatisfiesMetaFilters: every pair present with the same value. */
function satisfies(
  meta: Readonly<Record<string, string>> | null | undefined,
  wanted: readonly [string, string][],
): boolean {
  return wanted.every(([k, v]) => meta?.[k] === v);
}

/** Every plain tag must be on the instance and no `!tag` may be, case-insensitively. */
function tagFilter<E extends QueryEntry>(tags: readonly string[], entries: E[]): E[] {
  const must: string[] = [];
  const not: string[] = [];
  for (const raw of tags) {
    const tag = raw.toLowerCase();
    if (tag.startsWith("!")) not.push(tag.slice(1));
    else must.push(tag);
  }
  return entries.filter((e) => {
    const have = new Set((e.Service.Tags ?? []).map((t) => t.toLowerCase()));
    return must.every((t) => have.has(t)) && !not.some((t) => have.has(t));
  });
}

/**
 * Consul's ordering without network coordinates: a shuffle, then the `near` node swapped to the
 * front if it is among the first ten (Consul only looks that deep), then the limit.
 */
export function orderQueryNodes<E extends QueryEntry = ServiceHealthEntry>(
  entries: E[],
  near: string,
  limit: number,
  random: () => number = Math.random,
): E[] {
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j] as E, entries[i] as E];
  }
  if (near !== "") {
    const depth = Math.min(entries.length, 10);
    for (let i = 0; i < depth; i++) {
      if ((entries[i] as E).Node.Node.toLowerCase() === near.toLowerCase()) {
        [entries[0], entries[i]] = [entries[i] as E, entries[0] as E];
        break;
      }
    }
  }
  return limit > 0 && entries.length > limit ? entries.slice(0, limit) : entries;
}
