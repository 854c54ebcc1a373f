/**
 * `/v1/status/leader` and `/v1/status/peers`. augur has no Raft of its own; in embedded mode the
 * agent is its own leader, and in cluster mode the store's leader is reported (Consul answers with
 * the server RPC address, `<ip>:8300`).
 *
 * @module
 */
import { json } from "../response.js";
import { route, type Route } from "../router.js";

export interface StatusSource {
  /** `host:port` of the current leader, or "" when there is none. */
  leader(): string;
  peers(): string[];
}

export function statusRoutes(source: StatusSource): Route[] {
  return [
    route("/v1/status/leader", { GET: () => json(source.leader()) }),
    route("/v1/status/peers", { GET: () => json(source.peers()) }),
  ];
}
