/**
 * `type = "service"`: the healthy-or-not instances of one service
 * (`GET /v1/health/service/<svc>`); the handler gets `[{Node, Service, Checks}]`. Entities are
 * instances keyed `<node>/<service id>`, their state the worst of their checks.
 *
 * @module
 */
import { escapePath } from "../../lib/url-path.js";
import { isObj, list, serviceInstanceEntity } from "../entities.js";
import {
  QUERY_BASE,
  requiredString,
  filterQuery,
  passThrough,
  readFilter,
  type WatchTypeSpec,
} from "./spec.js";

export const service: WatchTypeSpec = {
  parse(p) {
    const stale = p.bool("stale") ?? false;
    const service = requiredString(p, "service");
    const tags = p.stringSlice("tag") ?? [];
    const passingOnly = p.bool("passingonly") ?? false;
    return { ...QUERY_BASE, stale, service, tags, passingOnly, ...readFilter(p) };
  },
  // api.Health.ServiceMultipleTags: one `tag` per tag, `passing=1` for passingonly.
  request: (q) => ({
    path: `/v1/health/service/${escapePath(q.service ?? "")}`,
    query: {
      ...(q.tags.length > 0 ? { tag: [...q.tags] } : {}),
      ...(q.passingOnly ? { passing: "1" } : {}),
      ...filterQuery(q),
    },
    notFoundIsEmpty: false,
  }),
  losslessJson: false,
  shape: passThrough,
  entities: (result, maintenanceAware) =>
    list(result)
      .filter(isObj)
      .map((e) => serviceInstanceEntity(e, maintenanceAware)),
  model: "state",
  indexOrdered: true,
};
