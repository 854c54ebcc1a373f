/**
 * `GET /v1/operator/raft/configuration` (api.RaftConfiguration). augur has no Raft of its own:
 * in cluster mode the servers are etcd's members (the one etcd reports as leader is `Leader`);
 * on the embedded store the agent is its own single voter and leader, as a Consul `-dev` agent.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { checkScopeParams } from "../blocking.js";
import { json } from "../response.js";
import { route, type Route } from "../router.js";

/** structs.RaftServer, in its field order. */
export interface RaftServer {
  ID: string;
  Node: string;
  Address: string;
  Leader: boolean;
  ProtocolVersion: string;
  Voter: boolean;
}

export function operatorRoutes(catalog: Catalog, servers: () => Promise<RaftServer[]>): Route[] {
  return [
    route("/v1/operator/raft/configuration", {
      GET: async (req) => {
        checkScopeParams(req, catalog.datacenter);
        if (req.aclEnabled) req.authorizer().requireGlobal("operator", "read");
        const list = await servers();
        return json({ Servers: list, Index: catalog.scopeIndex("nodes") || 1 });
      },
    }),
  ];
}
