/**
 * `GET /v1/internal/ui/services`: Consul's endpoint for its UI's services list, which augur's UI
 * reads too — each service's tags, nodes, instance count and check counts in one answer, a
 * fraction of the size of `health/state/any` on a big catalog. A blocking query wakes on any
 * change to services, checks, nodes or member liveness.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { scope } from "../../catalog/scopes.js";
import { blockingRead, checkScopeParams } from "../blocking.js";
import { aclFilter, filteredJson } from "../acl-filter.js";
import { route, type Route } from "../router.js";

export function internalUiRoutes(catalog: Catalog): Route[] {
  return [
    route("/v1/internal/ui/services", {
      GET: async (req, ctx) => {
        checkScopeParams(req, catalog.datacenter);
        const r = await blockingRead(req, ctx, catalog, scope.serviceSummaries, () =>
          catalog.serviceSummaries(),
        );
        return filteredJson(
          aclFilter(req, r.value, (a, s) => a.allows("service", s.Name, "read")),
          r.meta,
        );
      },
    }),
  ];
}
