/**
 * `type = "checks"`: health checks in one state (`GET /v1/health/state/<state>`, `any` by
 * default) or of one service (`GET /v1/health/checks/<svc>`); the handler gets `[HealthCheck]`.
 * Entities are checks keyed `<node>/<check id>`, their state the check's status.
 *
 * `tag` (a string or a list, Consul 1.17's checksWatch): with a state, only the checks of service
 * instances carrying every tag (Consul's health.StateTags); ignored with `service`, as Consul
 * ignores it there. The tags go to the agent as `filter` terms on `ServiceTags`, so the agent
 * (augur or Consul) does the filtering and the index still blocks.
 *
 * @module
 */
import { escapePath } from "../../lib/url-path.js";
import { checkEntities, isObj, list } from "../entities.js";
import { bad } from "../params.js";
import { QUERY_BASE, filterQuery, passThrough, readFilter, type WatchTypeSpec } from "./spec.js";

export const checks: WatchTypeSpec = {
  parse(p) {
    const stale = p.bool("stale") ?? false;
    const service = p.string("service") ?? "";
    let state = p.string("state") ?? "";
    if (service !== "" && state !== "") throw bad("Cannot specify service and state");
    if (service === "" && state === "") state = "any";
    const tags = p.stringSlice("tag") ?? [];
    return {
      ...QUERY_BASE,
      stale,
      tags,
      ...(service !== "" ? { service } : { state }),
      ...readFilter(p),
    };
  },
  request: (q) =>
    q.service !== undefined
      ? {
          path: `/v1/health/checks/${escapePath(q.service)}`,
          query: filterQuery(q),
          notFoundIsEmpty: false,
        }
      : {
          path: `/v1/health/state/${escapePath(q.state ?? "any")}`,
          query: stateFilter(q.filter, q.tags),
          notFoundIsEmpty: false,
        },
  losslessJson: false,
  shape: passThrough,
  entities: (result, maintenanceAware) =>
    checkEntities(list(result).filter(isObj), maintenanceAware),
  model: "state",
  indexOrdered: true,
};

/** The watch's own `filter` and one `"<tag>" in ServiceTags` term per tag, all required. */
function stateFilter(filter: string | undefined, tags: readonly string[]): { filter?: string } {
  // A bexpr string literal: backslash and double quote escaped, as strconv.Unquote reads it.
  const quote = (t: string): string => `"${t.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const terms = [
    ...(filter !== undefined ? [`(${filter})`] : []),
    ...tags.map((t) => `${quote(t)} in ServiceTags`),
  ];
  return terms.length > 0 ? { filter: terms.join(" and ") } : {};
}
