/**
 * `/v1/coordinate/*`. Consul's network coordinates come from Serf's gossip round trips; augur has
 * no gossip, so it has none to give: the datacenter list names this one with no coordinates, the
 * node list is empty (blocking on the node list, as Consul's does), a node's coordinate is a 404
 * as for a node Consul has none for, and an update is accepted and dropped (docs/api.md).
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { scope } from "../../catalog/scopes.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { blockingRead, checkScopeParams } from "../blocking.js";
import { empty, json } from "../response.js";
import { route, type Route, type RouteHandler } from "../router.js";

export function coordinateRoutes(catalog: Catalog, options: { disabled?: boolean } = {}): Route[] {
  if (options.disabled) {
    // `disable_coordinates`: Consul's checkCoordinateDisabled answers every one of them so.
    const off: RouteHandler = () => {
      throw new AugurError("INVALID_STATE", "Coordinate support disabled", { status: 401 });
    };
    return ["datacenters", "nodes", "node/", "update"].map((p) =>
      route(`/v1/coordinate/${p}`, { GET: off, PUT: off }),
    );
  }
  return [
    route("/v1/coordinate/datacenters", {
      GET: () => json([{ Datacenter: catalog.datacenter, AreaID: "wan", Coordinates: [] }]),
    }),
    route("/v1/coordinate/nodes", {
      GET: async (req, ctx) => {
        checkScopeParams(req, catalog.datacenter);
        const r = await blockingRead(req, ctx, catalog, scope.nodes, () => ({
          index: catalog.nodes().index,
          value: [],
        }));
        return json(r.value, r.meta);
      },
    }),
    route("/v1/coordinate/node/", {
      GET: async (req, ctx) => {
        checkScopeParams(req, catalog.datacenter);
        if (req.rest === "") throw badRequest("Missing node name");
        if (req.aclEnabled) req.authorizer().require("node", req.rest, "read");
        const r = await blockingRead(req, ctx, catalog, scope.node(req.rest), () => ({
          index: catalog.node(req.rest).index,
          value: [],
        }));
        return empty(r.meta, 404);
      },
    }),
    route("/v1/coordinate/update", {
      PUT: (req) => {
        checkScopeParams(req, catalog.datacenter);
        const body = req.json(); // a body that is not JSON is still Consul's 400
        if (req.aclEnabled) {
          const node =
            typeof body === "object" && body !== null ? (body as { Node?: unknown }).Node : "";
          req.authorizer().require("node", typeof node === "string" ? node : "", "write");
        }
        return empty();
      },
    }),
  ];
}
