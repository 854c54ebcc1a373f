/**
 * `/v1/health/*` (Consul agent/health_endpoint.go). All block on their own scope; lists are `[]`,
 * never null. `passing` drops any entry with a non-passing check, node checks included.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import type { HealthCheck } from "../../catalog/types.js";
import { hasTags, matchesNodeMeta } from "../../catalog/health.js";
import { scope } from "../../catalog/scopes.js";
import { badRequest } from "../../lib/errors.js";
import { blockingRead, checkScopeParams } from "../blocking.js";
import { aclFilter, filteredJson } from "../acl-filter.js";
import type { Authorizer } from "../../lib/acl-authorizer.js";
import type { ApiRequest } from "../request.js";
import type { ApiResult } from "../response.js";
import type { ServiceHealthEntry } from "../../catalog/health.js";
import { route, type HandlerContext, type Route } from "../router.js";
import { compileRequestFilter, filterList } from "../filtering.js";
import { nodeMetaParams } from "./catalog.js";

const STATES = new Set(["any", "passing", "warning", "critical"]);

export function healthRoutes(catalog: Catalog): Route[] {
  return [
    route("/v1/health/node/", { GET: (req, ctx) => nodeHealth(catalog, req, ctx) }),
    route("/v1/health/checks/", { GET: (req, ctx) => serviceChecks(catalog, req, ctx) }),
    route("/v1/health/state/", { GET: (req, ctx) => stateChecks(catalog, req, ctx) }),
    route("/v1/health/service/", { GET: (req, ctx) => serviceHealth(catalog, req, ctx) }),
  ];
}

async function nodeHealth(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing node name");
  const filter = compileRequestFilter(req.param("filter"), "HealthCheck");
  const r = await blockingRead(req, ctx, catalog, scope.node(req.rest), () =>
    catalog.nodeChecks(req.rest),
  );
  const f = aclFilter(req, r.value, checkVisible);
  return filteredJson({ ...f, value: await filterList(f.value, filter) }, r.meta);
}

async function serviceChecks(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing service name");
  const filter = compileRequestFilter(req.param("filter"), "HealthCheck");
  const meta = nodeMetaParams(req);
  const r = await blockingRead(req, ctx, catalog, scope.service(req.rest), () => {
    const res = catalog.serviceChecks(req.rest);
    return { index: res.index, value: onMatchingNodes(catalog, res.value, meta) };
  });
  const f = aclFilter(req, r.value, checkVisible);
  return filteredJson({ ...f, value: await filterList(f.value, filter) }, r.meta);
}

/** `?node-meta=`: the checks whose node carries every given pair (all of them when none given). */
function onMatchingNodes(
  catalog: Catalog,
  checks: HealthCheck[],
  meta: readonly [string, string][],
): HealthCheck[] {
  if (meta.length === 0) return checks;
  return checks.filter((c) => matchesNodeMeta(catalog.nodeRecord(c.Node)?.Meta ?? null, meta));
}

async function stateChecks(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing check state");
  if (!STATES.has(req.rest)) throw badRequest(`Invalid check state: ${JSON.stringify(req.rest)}`);
  const filter = compileRequestFilter(req.param("filter"), "HealthCheck");
  const meta = nodeMetaParams(req);
  const r = await blockingRead(req, ctx, catalog, scope.checks, () => {
    const res = catalog.checksInState(req.rest);
    return { index: res.index, value: onMatchingNodes(catalog, res.value, meta) };
  });
  const f = aclFilter(req, r.value, checkVisible);
  return filteredJson({ ...f, value: await filterList(f.value, filter) }, r.meta);
}

/**
 * The last answer per distinct health/service query, reused while the scope's index is unchanged:
 * a change that releases thousands of watchers of one service computes (and encodes) it once.
 */
const lastServiceHealthByCatalog = new WeakMap<
  Catalog,
  Map<string, { index: number; value: unknown[] }>
>();

async function serviceHealth(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing service name");
  const passing = req.bool("passing", () => "Invalid value for ?passing", true) ?? false;
  const tags = req.params("tag");
  const meta = nodeMetaParams(req);
  const filter = compileRequestFilter(req.param("filter"), "ServiceHealth");
  let lastServiceHealth = lastServiceHealthByCatalog.get(catalog);
  if (!lastServiceHealth) lastServiceHealthByCatalog.set(catalog, (lastServiceHealth = new Map()));
  const memo = lastServiceHealth;
  const memoKey = JSON.stringify([req.rest.toLowerCase(), passing, tags, meta]);
  const r = await blockingRead(req, ctx, catalog, scope.service(req.rest), () => {
    const index = catalog.scopeIndex(scope.service(req.rest));
    const hit = memo.get(memoKey);
    if (hit && index > 0 && hit.index === index) return hit;
    const res = catalog.serviceHealth(req.rest);
    let list =
      tags.length === 0 && meta.length === 0
        ? res.value
        : res.value.filter(
            (e) => hasTags(e.Service.Tags, tags) && matchesNodeMeta(e.Node.Meta, meta),
          );
    if (passing) list = list.filter((e) => e.Checks.every((c) => c.Status === "passing"));
    if (index > 0 && res.index === index) {
      if (memo.size > 1000) memo.clear();
      memo.set(memoKey, { index, value: list });
    }
    return { index: res.index, value: list };
  });
  const f = aclFilter(
    req,
    r.value as ServiceHealthEntry[],
    (a, e) =>
      a.allows("node", e.Node.Node, "read") && a.allows("service", e.Service.Service, "read"),
  );
  return filteredJson({ ...f, value: await filterList(f.value, filter) }, r.meta);
}

/** Consul's check filter: a service's check by `service` read, a node's by `node` read. */
function checkVisible(a: Authorizer, c: { Node: string; ServiceName: string }): boolean {
  return c.ServiceName
    ? a.allows("service", c.ServiceName, "read")
    : a.allows("node", c.Node, "read");
}
