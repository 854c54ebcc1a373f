/**
 * `type = "checks"`: health checks in one state (`GET /v1/health/state/<state>`, `any` by
 * default) or of one service (`GET /v1/health/checks/<svc>`); the handler gets `[HealthCheck]`.
 * Entities are checks keyed `<node>/<check id>`, their state the check's status.
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
    return {
      ...QUERY_BASE,
      stale,
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
          query: filterQuery(q),
          notFoundIsEmpty: false,
        },
  losslessJson: false,
  shape: passThrough,
  entities: (result, maintenanceAware) =>
    checkEntities(list(result).filter(isObj), maintenanceAware),
  model: "state",
  indexOrdered: true,
};
