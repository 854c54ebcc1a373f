/**
 * `/v1/agent/*` (Consul agent/agent_endpoint.go): this agent's own services and checks, TTL
 * updates, maintenance, members, self, reload, leave and metrics. Agent-local endpoints send no
 * `X-Consul-Index`; `GET /agent/service/:id` sends `X-Consul-ContentHash` and blocks on `hash`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Agent } from "../../agent/agent.js";
import type { Catalog } from "../../catalog/catalog.js";
import { scope } from "../../catalog/scopes.js";
import { CHECK_STATUSES, type CheckStatus, type NodeService } from "../../catalog/types.js";
import { decodeCheckDefinition, decodeServiceDefinition } from "../../config/definitions.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { asObject, optString } from "../../lib/json-fields.js";
import type { ApiRequest } from "../request.js";
import { empty, json, raw, type ApiResult } from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";
import { compileRequestFilter, filterMap } from "../filtering.js";
import {
  aclFilter,
  aclFilterMap,
  FILTERED_HEADER,
  guardAll,
  type AclCheck,
} from "../acl-filter.js";
import type { Authorizer } from "../../lib/acl-authorizer.js";
import { membersOf, selfOf, versionOf, wanMembersOf, type ClusterInfo } from "./members.js";

export interface AgentControl {
  /** Re-reads the config files; rejects with the reason when they are invalid. */
  reload(): Promise<void>;
  /** Leaves the cluster and shuts the agent down (after the response is sent). */
  leave(): Promise<void>;
  /** Prometheus text exposition of every metric. */
  prometheus(): Promise<{ contentType: string; body: string }>;
  /** Consul's JSON metrics summary. */
  metricsJson(): Promise<unknown>;
  /** `status/leader`: the leader's server RPC address, or "" while none is known. */
  leader(): string;
  /**
   * `agent/join/:address`: resolves when the agent at `address` already shares this agent's
   * catalog; rejects (JOIN_FAILED) saying why not and how to start this agent on its etcd.
   */
  join(address: string): Promise<void>;
  /** Where the catalog lives, shown in `/v1/agent/self` for joining agents. */
  cluster(): ClusterInfo;
  /** `agent/host`: the host's memory, CPUs, OS and the data dir's disk (debug.HostInfo). */
  host(): Promise<unknown>;
}

export function agentRoutes(agent: Agent, catalog: Catalog, control: AgentControl): Route[] {
  const enableParam = (req: ApiRequest): boolean => {
    const raw = req.param("enable");
    if (raw === undefined) throw badRequest("Missing value for enable");
    const v = req.bool("enable", (r) => `Invalid value for enable: "${r}"`);
    return v ?? false;
  };
  const ttl =
    (status: CheckStatus) =>
    async (req: ApiRequest): Promise<ApiResult> => {
      await agent.updateTtlCheck(req.rest, status, req.param("note") ?? "");
      return empty();
    };
  return guardAll(
    [
      route("/v1/agent/self", {
        GET: () => json(selfOf(agent, catalog, control.cluster(), control.leader())),
      }),
      route("/v1/agent/version", { GET: () => json(versionOf(agent)) }),
      route("/v1/agent/host", { GET: async () => json(await control.host()) }),
      route("/v1/agent/members", {
        GET: (req) => {
          // Consul: any non-empty value asks for the WAN pool (agent_endpoint.go AgentMembers).
          const all = req.param("wan") ? wanMembersOf(agent, catalog) : membersOf(catalog);
          const f = aclFilter(req, all, (a, m) => a.allows("node", m.Name, "read"));
          return json(f.value, undefined, f.filtered ? { ...FILTERED_HEADER } : undefined);
        },
      }),
      route("/v1/agent/services", {
        GET: async (req) => {
          const f = aclFilterMap(req, agentServices(agent), (a, s) =>
            a.allows("service", String(s["Service"]), "read"),
          );
          return json(
            await filterMap(f.value, compileRequestFilter(req.param("filter"), "AgentService")),
            undefined,
            f.filtered ? { ...FILTERED_HEADER } : undefined,
          );
        },
      }),
      route("/v1/agent/checks", {
        GET: async (req) => {
          const f = aclFilterMap(req, agent.checks(), (a, c) =>
            c.ServiceName
              ? a.allows("service", c.ServiceName, "read")
              : a.allows("node", c.Node, "read"),
          );
          return json(
            await filterMap(f.value, compileRequestFilter(req.param("filter"), "HealthCheck")),
            undefined,
            f.filtered ? { ...FILTERED_HEADER } : undefined,
          );
        },
      }),
      route("/v1/agent/service/register", { PUT: (req) => registerService(agent, req) }),
      route(
        "/v1/agent/service/deregister/",
        legacyGet(async (req) => (await agent.deregisterService(req.rest), empty())),
      ),
      route("/v1/agent/service/maintenance/", {
        PUT: async (req) => {
          if (req.rest === "") throw badRequest("Missing service ID");
          await agent.setServiceMaintenance(req.rest, enableParam(req), req.param("reason"));
          return empty();
        },
      }),
      route("/v1/agent/service/", { GET: (req, ctx) => agentService(agent, catalog, req, ctx) }),
      route("/v1/agent/check/register", { PUT: (req) => registerCheck(agent, req) }),
      route(
        "/v1/agent/check/deregister/",
        legacyGet(async (req) => (await agent.deregisterCheck(req.rest), empty())),
      ),
      route("/v1/agent/check/pass/", legacyGet(ttl("passing"))),
      route("/v1/agent/check/warn/", legacyGet(ttl("warning"))),
      route("/v1/agent/check/fail/", legacyGet(ttl("critical"))),
      route("/v1/agent/check/update/", { PUT: (req) => updateCheck(agent, req) }),
      route("/v1/agent/maintenance", {
        PUT: async (req) => {
          await agent.setNodeMaintenance(enableParam(req), req.param("reason"));
          return empty();
        },
      }),
      route("/v1/agent/reload", { PUT: async () => (await control.reload(), empty()) }),
      route("/v1/agent/leave", { PUT: async () => (await control.leave(), empty()) }),
      route("/v1/agent/join/", {
        PUT: async (req) => {
          if (req.flag("wan"))
            throw new AugurError(
              "INVALID_STATE",
              "augur has no WAN pool to join: each datacenter is its own etcd cluster",
            );
          await control.join(req.rest);
          return empty();
        },
      }),
      route("/v1/agent/force-leave/", {
        PUT: async (req) => {
          const member = catalog.member(req.rest);
          if (!member)
            throw new AugurError("INVALID_STATE", `agent: No node found with name '${req.rest}'`);
          await catalog.leaveAgent(member.record);
          return empty();
        },
      }),
      route("/v1/agent/metrics", {
        GET: async (req) => {
          if (req.param("format") === "prometheus") {
            const m = await control.prometheus();
            return raw(m.body, m.contentType);
          }
          return json(await control.metricsJson());
        },
      }),
    ],
    agentAclChecks(agent),
  );
}

/**
 * Consul's permission per agent endpoint (agent_endpoint.go): the agent's own node for self,
 * metrics, reload, leave, join and maintenance; a service's name for its writes and reads; a
 * check by its service, or the node for a node check; `operator` for host and force-leave.
 * Registration is checked in its handler, once the definition is decoded.
 */
function agentAclChecks(agent: Agent): Record<string, AclCheck> {
  const node = agent.identity.nodeName;
  const agentRead: AclCheck = (a) => a.require("agent", node, "read");
  const agentWrite: AclCheck = (a) => a.require("agent", node, "write");
  const serviceOf =
    (level: "read" | "write"): AclCheck =>
    (a, req) => {
      const s = agent.services()[req.rest];
      if (s) a.require("service", s.Service, level);
    };
  const checkWrite: AclCheck = (a, req) => {
    const c = agent.checks()[req.rest];
    if (c) requireCheckWrite(a, c.ServiceName, node);
  };
  return {
    "/v1/agent/self": agentRead,
    "/v1/agent/metrics": agentRead,
    "/v1/agent/reload": agentWrite,
    "/v1/agent/leave": agentWrite,
    "/v1/agent/join/": agentWrite,
    "/v1/agent/host": (a) => a.requireGlobal("operator", "read"),
    "/v1/agent/force-leave/": (a) => a.requireGlobal("operator", "write"),
    "/v1/agent/maintenance": (a) => a.require("node", node, "write"),
    "/v1/agent/service/deregister/": serviceOf("write"),
    "/v1/agent/service/maintenance/": serviceOf("write"),
    "/v1/agent/service/": serviceOf("read"),
    "/v1/agent/check/deregister/": checkWrite,
    "/v1/agent/check/pass/": checkWrite,
    "/v1/agent/check/warn/": checkWrite,
    "/v1/agent/check/fail/": checkWrite,
    "/v1/agent/check/update/": checkWrite,
  };
}

/** A service's check needs `service` write on the service, a node's check `node` write. */
function requireCheckWrite(a: Authorizer, serviceName: string | undefined, node: string): void {
  if (serviceName) a.require("service", serviceName, "write");
  else a.require("node", node, "write");
}

/**
 * Consul before 1.0 took GET on these agent writes, and Debian's python3-consul 0.7.1 still
 * sends GET for service/check deregistration and TTL updates; augur accepts both.
 */
function legacyGet(handler: (req: ApiRequest) => Promise<ApiResult>): {
  PUT: typeof handler;
  GET: typeof handler;
} {
  return { PUT: handler, GET: handler };
}

/** AgentService: NodeService without indexes, plus the datacenter. */
export function toAgentService(s: NodeService, datacenter: string): Record<string, unknown> {
  const { CreateIndex: _c, ModifyIndex: _m, Proxy: _p, Connect: _x, ...rest } = s;
  return { ...rest, Port: s.Port ?? 0, Datacenter: datacenter };
}

function agentServices(agent: Agent): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, s] of Object.entries(agent.services()))
    out[id] = toAgentService(s, agent.identity.datacenter);
  return out;
}

function contentHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

async function agentService(
  agent: Agent,
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  const read = (): { body: Record<string, unknown>; hash: string } | undefined => {
    const s = agent.services()[req.rest];
    if (!s) return undefined;
    const body = toAgentService(s, agent.identity.datacenter);
    const hash = contentHash(body);
    return { body: { ...body, ContentHash: hash }, hash };
  };
  let current = read();
  const wanted = req.param("hash");
  if (current && wanted && current.hash === wanted) {
    const { waitMs } = req.blocking();
    const deadline = ctx.deadline(waitMs + Math.random() * (waitMs / 16));
    const nodeScope = scope.node(agent.identity.nodeName);
    while (current && current.hash === wanted && !deadline.aborted) {
      await catalog.wait(nodeScope, catalog.scopeIndex(nodeScope), deadline);
      current = read();
    }
  }
  if (!current) throw new AugurError("NOT_FOUND", `unknown service ID: ${req.rest}`);
  return json(current.body, undefined, { "X-Consul-ContentHash": current.hash });
}

async function registerService(agent: Agent, req: ApiRequest): Promise<ApiResult> {
  const def = decodeServiceDefinition(req.json() ?? {});
  // Consul's vetServiceRegister: `service` write on the name; its checks go with it.
  if (req.aclEnabled) req.authorizer().require("service", def.name, "write");
  const replace = req.param("replace-existing-checks");
  await agent.registerService(
    def,
    "api",
    replace !== undefined && replace !== "false" && replace !== "0",
  );
  return empty();
}

async function registerCheck(agent: Agent, req: ApiRequest): Promise<ApiResult> {
  const def = decodeCheckDefinition(req.json() ?? {});
  // Consul's vetCheckRegister: the service's write for a service check, the node's otherwise.
  if (req.aclEnabled) {
    const service = def.serviceId ? agent.services()[def.serviceId]?.Service : undefined;
    requireCheckWrite(
      req.authorizer(),
      def.serviceId ? (service ?? def.serviceId) : undefined,
      agent.identity.nodeName,
    );
  }
  await agent.registerCheck(def, "api");
  return empty();
}

async function updateCheck(agent: Agent, req: ApiRequest): Promise<ApiResult> {
  const body = asObject(req.json() ?? {}, "checkUpdate");
  const status = optString(body, "Status") ?? "";
  if (!CHECK_STATUSES.includes(status as CheckStatus))
    throw badRequest(`Invalid check status: '${status}'`);
  await agent.updateTtlCheck(req.rest, status as CheckStatus, optString(body, "Output") ?? "");
  return empty();
}
