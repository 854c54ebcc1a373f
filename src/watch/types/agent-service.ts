/**
 * `type = "agent_service"` (`service_id`): one service instance registered with the agent being
 * watched (`GET /v1/agent/service/<id>`); the handler gets the api.AgentService. The state is
 * agent-local and has no Raft index, so, as Consul's agentServiceWatch, the watch blocks on the
 * answer's `ContentHash` (`?hash=`) instead of an index. The one entity is the instance keyed by
 * its ID; any change to its definition is a change.
 *
 * An unknown ID is an error (404 `unknown service ID`), retried with the plan's backoff, as the
 * Go client's `agent.Service` fails on it.
 *
 * @module
 */
import { escapePath } from "../../lib/url-path.js";
import { entity, isObj, str } from "../entities.js";
import { QUERY_BASE, passThrough, type WatchTypeSpec } from "./spec.js";

export const agentService: WatchTypeSpec = {
  parse(p) {
    // Consul reads only service_id (no stale: agent-local data has no consistency modes), and an
    // empty one is not refused: it asks for `agent/service/` and fails there.
    const serviceId = p.string("service_id") ?? "";
    return { ...QUERY_BASE, serviceId };
  },
  request: (q) => ({
    path: `/v1/agent/service/${escapePath(q.serviceId ?? "")}`,
    query: {},
    notFoundIsEmpty: false,
  }),
  losslessJson: false,
  shape: passThrough,
  entities: (result) => (isObj(result) ? [entity(str(result["ID"]), result)] : []),
  model: "state",
  indexOrdered: false,
  blockOn: "hash",
};
