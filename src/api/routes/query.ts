/**
 * `/v1/query` (Consul agent/prepared_query_endpoint.go): prepared queries. The list and a read
 * block on the queries table; execute and explain do not block, as in Consul. Errors Consul's
 * RPC layer raises are 500s with its text; a query that is not there is a 404 `Query not found`.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { scope } from "../../catalog/scopes.js";
import { isUuid } from "../../catalog/prepared-queries.js";
import { filterQueryNodes, orderQueryNodes } from "../../catalog/prepared-query-execute.js";
import type { PreparedQuery } from "../../catalog/prepared-query-types.js";
import { AugurError, badRequest, notFound } from "../../lib/errors.js";
import { blockingRead, checkScopeParams, readConsistency } from "../blocking.js";
import { decodePreparedQuery } from "../prepared-query-body.js";
import type { ApiRequest } from "../request.js";
import {
  empty,
  encodesInChunks,
  goJson,
  goJsonChunks,
  json,
  raw,
  type ApiResult,
  type QueryMeta,
} from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";
import { aclFilter, filteredJson } from "../acl-filter.js";

/**
 * The largest definition accepted. A query is a few short fields; the bound keeps what many
 * queries can hold in the store and in every agent's view small (docs/api.md).
 */
export const MAX_QUERY_BODY_BYTES = 16 * 1024;
/** Consul CE has no network segments: `${agent.segment}` renders empty. */
const AGENT_SEGMENT = "";

export function queryRoutes(catalog: Catalog, nodeName: string): Route[] {
  return [
    route("/v1/query", {
      GET: (req, ctx) => list(catalog, req, ctx),
      POST: (req) => create(catalog, req),
    }),
    route("/v1/query/", {
      GET: (req, ctx) => {
        const sub = subResource(req);
        if (sub.kind === "execute") return execute(catalog, req, sub.id, nodeName);
        if (sub.kind === "explain") return explain(catalog, req, sub.id);
        return get(catalog, req, ctx, sub.id);
      },
      PUT: (req) => withoutSubResource(req, () => update(catalog, req)),
      DELETE: (req) => withoutSubResource(req, () => remove(catalog, req)),
    }),
  ];
}

type SubResource = { kind: "execute" | "explain" | "query"; id: string };

function subResource(req: ApiRequest): SubResource {
  for (const kind of ["execute", "explain"] as const)
    if (req.rest.endsWith(`/${kind}`)) return { kind, id: req.rest.slice(0, -kind.length - 1) };
  return { kind: "query", id: req.rest };
}

/** `/execute` and `/explain` take only GET, as Consul answers them. */
function withoutSubResource(req: ApiRequest, handle: () => Promise<ApiResult>): Promise<ApiResult> {
  if (subResource(req).kind !== "query")
    throw new AugurError("METHOD_NOT_ALLOWED", `method ${req.method} not allowed`, {
      headers: { Allow: "OPTIONS,GET" },
    });
  return handle();
}

function definition(req: ApiRequest): ReturnType<typeof decodePreparedQuery> {
  if (req.body.length > MAX_QUERY_BODY_BYTES)
    throw badRequest(
      `Request decode failed: a prepared query definition is limited to ${MAX_QUERY_BODY_BYTES} bytes`,
    );
  return decodePreparedQuery(req.json());
}

/** memdb's UUID index refuses anything else before a lookup: Consul's 500 for such an ID. */
function lookupError(id: string): string | undefined {
  if (isUuid(id)) return undefined;
  return id.length !== 36
    ? "failed prepared query lookup: index error: UUID must be 36 characters"
    : "failed prepared query lookup: index error: invalid UUID";
}

async function create(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const def = definition(req);
  // Consul's PreparedQuery.Apply: `query` write on the name (an unnamed query needs none).
  if (req.aclEnabled && def.Name !== "") req.authorizer().require("query", def.Name, "write");
  const id = await catalog.queries.create(def);
  return json({ ID: id });
}

async function update(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const def = definition(req);
  const bad = lookupError(req.rest);
  if (bad) throw new AugurError("INVALID_STATE", `Prepared Query lookup failed: ${bad}`);
  requireQueryWrite(catalog, req, req.rest);
  if (req.aclEnabled && def.Name !== "") req.authorizer().require("query", def.Name, "write");
  await catalog.queries.update(req.rest, def);
  return empty();
}

async function remove(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const bad = lookupError(req.rest);
  if (bad) throw new AugurError("INVALID_STATE", `Prepared Query lookup failed: ${bad}`);
  requireQueryWrite(catalog, req, req.rest);
  await catalog.queries.delete(req.rest);
  return empty();
}

async function list(catalog: Catalog, req: ApiRequest, ctx: HandlerContext): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const r = await blockingRead(req, ctx, catalog, scope.queries, () => catalog.queries.list());
  const f = aclFilter(req, r.value, (a, q) => q.Name !== "" && a.allows("query", q.Name, "read"));
  return filteredJson({ ...f, value: redactTokens(req, f.value) }, r.meta);
}

/** Consul's redactPreparedQueryTokens: a query's `Token` is `<hidden>` without `acl = "write"`. */
function redactTokens(req: ApiRequest, queries: PreparedQuery[]): PreparedQuery[] {
  if (!req.aclEnabled || req.authorizer().allowsGlobal("acl", "write")) return queries;
  return queries.map((q) => (q.Token ? { ...q, Token: "<hidden>" } : q));
}

/** Changing or deleting a stored query needs `query` write on its current name. */
function requireQueryWrite(catalog: Catalog, req: ApiRequest, id: string): void {
  if (!req.aclEnabled) return;
  const existing = catalog.queries.get(id).value;
  if (existing && existing.Name !== "") req.authorizer().require("query", existing.Name, "write");
}

async function get(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
  id: string,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const bad = lookupError(id);
  if (bad) throw new AugurError("INVALID_STATE", bad);
  // A query deleted while a read is parked answers 404 when it wakes, as Consul's does.
  const r = await blockingRead(req, ctx, catalog, scope.queries, () => {
    const one = catalog.queries.get(id);
    if (!one.value) throw notFound("Query not found");
    return { index: one.index, value: [one.value] };
  });
  const f = aclFilter(req, r.value, (a, q) => q.Name !== "" && a.allows("query", q.Name, "read"));
  if (f.filtered) throw new AugurError("PERMISSION_DENIED", "Permission denied");
  return json(redactTokens(req, r.value), r.meta);
}

/** The QueryMeta Consul embeds in execute and explain answers (Index 0: neither blocks). */
function queryMetaFields(consistency: QueryMeta["consistency"]): Record<string, unknown> {
  return {
    Index: 0,
    LastContact: 0,
    KnownLeader: true,
    ConsistencyLevel: consistency ?? "leader",
    NotModified: false,
    Backend: 0,
    ResultsFilteredByACLs: false,
  };
}

/** Consul's parseLimit (strconv.Atoi): "Bad limit: ..." as a 500. */
function parseLimit(req: ApiRequest): number {
  const raw = req.param("limit");
  if (raw === undefined || raw === "") return 0;
  if (!/^[+-]?\d+$/.test(raw))
    throw new AugurError(
      "INVALID_STATE",
      `Bad limit: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`,
    );
  const n = Number(raw);
  if (!Number.isSafeInteger(n))
    throw new AugurError(
      "INVALID_STATE",
      `Bad limit: strconv.Atoi: parsing ${JSON.stringify(raw)}: value out of range`,
    );
  return n;
}

/** Resolves the query for execute/explain after Consul's checks; 404 when nothing matches. */
async function resolveFor(
  catalog: Catalog,
  req: ApiRequest,
  idOrName: string,
): Promise<{ query: PreparedQuery; consistency: QueryMeta["consistency"]; limit: number }> {
  checkScopeParams(req, catalog.datacenter);
  const consistency = readConsistency(req);
  const limit = parseLimit(req);
  if (consistency === "consistent") await catalog.catchUp();
  const { value } = catalog.queries.resolve(idOrName, AGENT_SEGMENT);
  if (!value) throw notFound("Query not found");
  return { query: value, consistency, limit };
}

async function execute(
  catalog: Catalog,
  req: ApiRequest,
  idOrName: string,
  nodeName: string,
): Promise<ApiResult> {
  const { query, consistency, limit } = await resolveFor(catalog, req, idOrName);
  const svc = query.Service;
  // Consul filters an execution's nodes by the query's own `Token` when it has one, else by the
  // caller's.
  const all = filterQueryNodes(catalog.serviceHealth(svc.Service).value, svc);
  const authz = !req.aclEnabled
    ? undefined
    : query.Token
      ? req.authorizerFor(query.Token)
      : req.authorizer();
  const entries =
    authz === undefined || authz.isManagement
      ? all
      : all.filter(
          (e) =>
            authz.allows("service", e.Service.Service, "read") &&
            authz.allows("node", e.Node.Node, "read"),
        );
  // The client's `near` wins over the query's; `_agent` is this agent. Without coordinates Consul
  // only shuffles and moves that node first; `_ip` needs the client's address, which augur does
  // not match against nodes, so it sorts nothing (docs/api.md).
  let near = req.param("near") || svc.Near;
  if (near === "_agent") near = nodeName;
  if (near === "_ip") near = "";
  const nodes = orderQueryNodes(entries, near, limit);
  const rest = {
    DNS: query.DNS,
    Datacenter: catalog.datacenter,
    PeerName: "",
    Failovers: 0,
    ...queryMetaFields(consistency),
  };
  const meta = { index: 0, consistency };
  if (req.flag("pretty") || !encodesInChunks(nodes))
    return json({ Service: svc.Service, Nodes: nodes, ...rest }, meta);
  // The answer is one object, which the server encodes in one go; a service with thousands of
  // instances would hold the event loop for it. Its Nodes are encoded as health/service's list
  // is, in slices that yield, and the few other members around them: the same bytes.
  const head = `{"Service":${goJson(svc.Service)},"Nodes":`;
  const tail = `,${goJson(rest).slice(1)}`;
  const chunks = await goJsonChunks(nodes);
  return raw(
    Buffer.concat([Buffer.from(head), ...chunks, Buffer.from(tail)]),
    "application/json",
    meta,
  );
}

async function explain(catalog: Catalog, req: ApiRequest, idOrName: string): Promise<ApiResult> {
  const { query, consistency } = await resolveFor(catalog, req, idOrName);
  return json({ Query: query, ...queryMetaFields(consistency) }, { index: 0, consistency });
}
