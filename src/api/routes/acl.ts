/**
 * `/v1/acl/*` and `/v1/agent/token/*` while ACLs are off: Consul answers every ACL endpoint with 401 `ACL support
 * disabled` (agent/acl_endpoint.go `checkACLDisabled`), which clients recognise (python-consul
 * raises `ACLDisabled`). ACLs themselves are issue #14; until then this is all of them.
 *
 * @module
 */
import { AugurError } from "../../lib/errors.js";
import { route, type Route, type RouteHandler } from "../router.js";

export function aclRoutes(): Route[] {
  const disabled: RouteHandler = () => {
    throw new AugurError("ACL_DISABLED", "ACL support disabled");
  };
  return [
    route("/v1/acl/", { GET: disabled, PUT: disabled, POST: disabled, DELETE: disabled }),
    // Setting the agent's own tokens is an ACL operation too (AgentToken checks the same).
    route("/v1/agent/token/", { PUT: disabled }),
  ];
}
