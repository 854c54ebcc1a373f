/**
 * `/v1/agent/health/service/id/:id` and `/name/:name` (Consul agent_endpoint.go
 * `AgentHealthServiceByID` / `ByName`): a local service's health from this agent's own checks,
 * as load balancers poll it. The status code carries the verdict — 200 passing, 429 warning,
 * 503 critical or maintenance — and `?format=text` (or `Accept: text/plain`) answers only the
 * word. By name, every instance is listed and the code is the worst among them.
 *
 * @module
 */
import type { Agent } from "../../agent/agent.js";
import { NODE_MAINTENANCE_CHECK_ID, SERVICE_MAINTENANCE_PREFIX } from "../../agent/maintenance.js";
import type { HealthCheck } from "../../catalog/types.js";
import { badRequest } from "../../lib/errors.js";
import type { ApiRequest } from "../request.js";
import { raw, type ApiResult } from "../response.js";
import { route, type Route } from "../router.js";
import { guardAll } from "../acl-filter.js";
import { toAgentService } from "./agent.js";

/** api.AgentServiceChecksInfo, in the Go struct's field order. */
interface ServiceChecksInfo {
  AggregatedStatus: string;
  Service: Record<string, unknown> | null;
  Checks: HealthCheck[] | null;
}

export function agentHealthRoutes(agent: Agent): Route[] {
  return guardAll(
    [
      route("/v1/agent/health/service/id/", { GET: (req) => byId(agent, req) }),
      route("/v1/agent/health/service/name/", { GET: (req) => byName(agent, req) }),
    ],
    {
      // Consul: `service` read on the service (an unknown ID is left to its 404).
      "/v1/agent/health/service/id/": (a, req) => {
        const s = agent.services()[req.rest];
        if (s) a.require("service", s.Service, "read");
      },
      "/v1/agent/health/service/name/": (a, req) => a.require("service", req.rest, "read"),
    },
  );
}

function byId(agent: Agent, req: ApiRequest): ApiResult {
  const id = req.rest;
  if (id === "") throw badRequest("Missing serviceID");
  const service = agent.services()[id];
  if (!service) {
    const reason = `ServiceId ${id} not found`;
    if (wantsText(req)) return text(404, reason);
    return {
      kind: "json",
      status: 404,
      value: {
        AggregatedStatus: "critical",
        Service: null,
        Checks: null,
      } satisfies ServiceChecksInfo,
    };
  }
  const { code, status, checks } = serviceHealth(agent, id);
  if (wantsText(req)) return text(code, status);
  const value: ServiceChecksInfo = {
    AggregatedStatus: status,
    Service: toAgentService(service, agent.identity.datacenter),
    Checks: checks,
  };
  return { kind: "json", status: code, value };
}

function byName(agent: Agent, req: ApiRequest): ApiResult {
  const name = req.rest;
  if (name === "") throw badRequest("Missing service Name");
  let code = 404;
  let status = `ServiceName ${name} Not Found`;
  const out: ServiceChecksInfo[] = [];
  const services = Object.entries(agent.services()).filter(([, s]) => s.Service === name);
  for (const [id, service] of services) {
    const h = serviceHealth(agent, id);
    out.push({
      AggregatedStatus: h.status,
      Service: toAgentService(service, agent.identity.datacenter),
      Checks: h.checks,
    });
    // The worst of all instances: passing 200 < warning 429 < critical 503.
    if (code === 404 || code < h.code) {
      code = h.code;
      status = h.status;
    }
  }
  if (wantsText(req)) return text(code, status);
  return { kind: "json", status: code, value: out };
}

/** The service's checks and the node's (ChecksForService with node checks), and their verdict. */
function serviceHealth(
  agent: Agent,
  id: string,
): { code: number; status: string; checks: HealthCheck[] } {
  const checks = Object.values(agent.checks()).filter(
    (c) => c.ServiceID === id || c.ServiceID === "",
  );
  const status = aggregatedStatus(checks);
  const code = status === "passing" ? 200 : status === "warning" ? 429 : 503;
  return { code, status, checks };
}

/** api.HealthChecks.AggregatedStatus: maintenance beats critical beats warning beats passing. */
function aggregatedStatus(checks: readonly HealthCheck[]): string {
  let warning = false;
  let critical = false;
  let maintenance = false;
  for (const c of checks) {
    if (
      c.CheckID === NODE_MAINTENANCE_CHECK_ID ||
      c.CheckID.startsWith(SERVICE_MAINTENANCE_PREFIX)
    ) {
      maintenance = true;
      continue;
    }
    if (c.Status === "critical") critical = true;
    else if (c.Status === "warning") warning = true;
    else if (c.Status !== "passing") return "";
  }
  return maintenance ? "maintenance" : critical ? "critical" : warning ? "warning" : "passing";
}

/** Consul's returnTextPlain: `Accept: text/plain…`, else `?format=text`. */
function wantsText(req: ApiRequest): boolean {
  const accept = req.headers["accept"];
  if (typeof accept === "string" && accept.startsWith("text/plain")) return true;
  return req.param("format") === "text";
}

function text(status: number, body: string): ApiResult {
  return { ...raw(body, "text/plain"), status };
}
