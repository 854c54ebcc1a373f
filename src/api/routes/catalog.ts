/**
 * `/v1/catalog/*` (Consul agent/catalog_endpoint.go). Reads block on their own scope; register
 * and deregister answer `true`. Consul validates catalog writes in its RPC layer, so their
 * errors are 500s.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import type { CheckRecord, NodeRecord } from "../../catalog/records.js";
import {
  CHECK_STATUSES,
  type CheckStatus,
  type HealthCheckDefinitionJson,
  type TaggedAddress,
} from "../../catalog/types.js";
import { hasTags, matchesNodeMeta } from "../../catalog/health.js";
import { scope } from "../../catalog/scopes.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import {
  asObject,
  optBool,
  optNumber,
  optString,
  optStringList,
  optStringMap,
  pick,
  type JsonObject,
} from "../../lib/json-fields.js";
import { blockingRead, checkScopeParams } from "../blocking.js";
import type { ApiRequest } from "../request.js";
import { aclFilter, filteredJson, FILTERED_HEADER } from "../acl-filter.js";
import { json, type ApiResult } from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";
import { compileRequestFilter, filterList, filterMap } from "../filtering.js";

export function catalogRoutes(catalog: Catalog): Route[] {
  return [
    route("/v1/catalog/register", { PUT: (req) => register(catalog, req) }),
    route("/v1/catalog/deregister", { PUT: (req) => deregister(catalog, req) }),
    route("/v1/catalog/datacenters", { GET: () => json([catalog.datacenter]) }),
    route("/v1/catalog/nodes", { GET: (req, ctx) => nodes(catalog, req, ctx) }),
    route("/v1/catalog/services", { GET: (req, ctx) => services(catalog, req, ctx) }),
    route("/v1/catalog/service/", { GET: (req, ctx) => service(catalog, req, ctx) }),
    route("/v1/catalog/node/", { GET: (req, ctx) => node(catalog, req, ctx) }),
    route("/v1/catalog/node-services/", { GET: (req, ctx) => nodeServiceList(catalog, req, ctx) }),
  ];
}

/** `node-meta=key:value`, repeatable, split at the first colon. */
export function nodeMetaParams(req: ApiRequest): [string, string][] {
  return req.params("node-meta").map((p) => {
    const at = p.indexOf(":");
    return at < 0 ? [p, ""] : [p.slice(0, at), p.slice(at + 1)];
  });
}

async function nodes(catalog: Catalog, req: ApiRequest, ctx: HandlerContext): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const meta = nodeMetaParams(req);
  const filter = compileRequestFilter(req.param("filter"), "Node");
  const result = await blockingRead(req, ctx, catalog, scope.nodes, () => {
    const r = catalog.nodes();
    return { index: r.index, value: r.value.filter((n) => matchesNodeMeta(n.Meta, meta)) };
  });
  const f = aclFilter(req, result.value, (a, n) => a.allows("node", n.Node, "read"));
  return filteredJson({ ...f, value: await filterList(f.value, filter) }, result.meta);
}

async function services(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const meta = nodeMetaParams(req);
  const filter = compileRequestFilter(req.param("filter"), "ServiceNode");
  if (!filter && meta.length === 0) {
    const plain = await blockingRead(req, ctx, catalog, scope.services, () =>
      catalog.serviceTags(),
    );
    if (!req.aclEnabled) return json(plain.value, plain.meta);
    const names = aclFilter(req, Object.keys(plain.value), (a, n) =>
      a.allows("service", n, "read"),
    );
    const visible = Object.fromEntries(names.value.map((n) => [n, plain.value[n] ?? []]));
    return json(visible, plain.meta, names.filtered ? { ...FILTERED_HEADER } : undefined);
  }
  const result = await blockingRead(req, ctx, catalog, scope.services, () => {
    const r = catalog.serviceNodesAll();
    return { index: r.index, value: r.value.filter((s) => matchesNodeMeta(s.NodeMeta, meta)) };
  });
  const f = aclFilter(
    req,
    result.value,
    (a, s) => a.allows("service", s.ServiceName, "read") && a.allows("node", s.Node, "read"),
  );
  const list = await filterList(f.value, filter);
  const grouped: Record<string, string[]> = {};
  for (const s of list.sort((a, b) =>
    a.ServiceName < b.ServiceName ? -1 : a.ServiceName > b.ServiceName ? 1 : 0,
  )) {
    const tags = (grouped[s.ServiceName] ??= []);
    for (const t of s.ServiceTags) if (!tags.includes(t)) tags.push(t);
  }
  return json(grouped, result.meta, f.filtered ? { ...FILTERED_HEADER } : undefined);
}

async function service(catalog: Catalog, req: ApiRequest, ctx: HandlerContext): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing service name");
  const tags = req.params("tag");
  const meta = nodeMetaParams(req);
  const filter = compileRequestFilter(req.param("filter"), "ServiceNode");
  const result = await blockingRead(req, ctx, catalog, scope.service(req.rest), () => {
    const r = catalog.serviceNodes(req.rest);
    return {
      index: r.index,
      value:
        tags.length === 0 && meta.length === 0
          ? r.value
          : r.value.filter(
              (s) => hasTags(s.ServiceTags, tags) && matchesNodeMeta(s.NodeMeta, meta),
            ),
    };
  });
  const f = aclFilter(
    req,
    result.value,
    (a, s) => a.allows("service", s.ServiceName, "read") && a.allows("node", s.Node, "read"),
  );
  return filteredJson({ ...f, value: await filterList(f.value, filter) }, result.meta);
}

/**
 * What `catalog/node/:node` and `catalog/node-services/:node` both read: the node with its
 * services (blocking on the node's scope), and the compiled `?filter` for its NodeServices.
 */
async function readNode(catalog: Catalog, req: ApiRequest, ctx: HandlerContext) {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing node name");
  const filter = compileRequestFilter(req.param("filter"), "NodeService");
  const result = await blockingRead(req, ctx, catalog, scope.node(req.rest), () =>
    catalog.node(req.rest),
  );
  let found = result.value;
  // Consul filters a node the token may not read to nothing, and its services to those it may.
  if (found && req.aclEnabled) {
    const authz = req.authorizer();
    if (!authz.allows("node", found.Node.Node, "read")) found = null;
    else
      found = {
        ...found,
        Services: Object.fromEntries(
          Object.entries(found.Services).filter(([, s]) =>
            authz.allows("service", s.Service, "read"),
          ),
        ),
      };
  }
  return { found, meta: result.meta, filter };
}

async function node(catalog: Catalog, req: ApiRequest, ctx: HandlerContext): Promise<ApiResult> {
  const { found, meta, filter } = await readNode(catalog, req, ctx);
  return json(
    found ? { ...found, Services: await filterMap(found.Services, filter) } : found,
    meta,
  );
}

/**
 * `catalog/node-services/:node` (Consul 1.7+): the node and its services as a list in service-ID
 * order, `?filter` on each NodeService. An unknown node is `{"Node": null, "Services": null}`,
 * Go's zero NodeServiceList, as Consul answers it.
 */
async function nodeServiceList(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): Promise<ApiResult> {
  const { found, meta, filter } = await readNode(catalog, req, ctx);
  if (!found) return json({ Node: null, Services: null }, meta);
  const services = Object.values(found.Services).sort((a, b) =>
    a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0,
  );
  return json({ Node: found.Node, Services: await filterList(services, filter) }, meta);
}

/** Node TaggedAddresses are strings in Consul; node-consul may send `{Address, Port}` objects. */
function nodeTaggedAddresses(obj: JsonObject): Record<string, string> | null {
  const v = pick(obj, "TaggedAddresses");
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v))
    throw badRequest("Request decode failed: TaggedAddresses must be an object");
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as JsonObject)) {
    if (typeof val === "string") out[k] = val;
    else if (typeof val === "object" && val !== null)
      out[k] = String(pick(val as JsonObject, "Address") ?? "");
  }
  return out;
}

async function register(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const body = asObject(req.json() ?? {}, "structs.RegisterRequest");
  bodyDatacenter(body, catalog.datacenter);
  const nodeName = optString(body, "Node");
  if (!nodeName) throw new AugurError("INVALID_STATE", "Must provide node");
  const skipNodeUpdate = optBool(body, "SkipNodeUpdate") ?? false;
  const address = optString(body, "Address") ?? "";
  if (!address && !skipNodeUpdate)
    throw new AugurError("INVALID_STATE", "Must provide address if SkipNodeUpdate is not set");
  const existing = catalog.nodeRecord(nodeName);
  const nodeRecord: NodeRecord = {
    ID: optString(body, "ID") ?? existing?.ID ?? "",
    Node: nodeName,
    Address: address || existing?.Address || "",
    Datacenter: catalog.datacenter,
    TaggedAddresses: nodeTaggedAddresses(body),
    Meta: optStringMap(body, "NodeMeta") ?? null,
  };
  const svcRaw = pick(body, "Service");
  const svc =
    svcRaw === undefined || svcRaw === null
      ? undefined
      : decodeCatalogService(asObject(svcRaw, "structs.NodeService"));
  const checksRaw = [
    pick(body, "Check"),
    ...((pick(body, "Checks") as unknown[] | undefined) ?? []),
  ].filter((c) => c !== undefined && c !== null);
  const checks = checksRaw.map((c) =>
    decodeCatalogCheck(asObject(c, "structs.HealthCheck"), nodeName),
  );
  if (req.aclEnabled) vetRegister(catalog, req, nodeRecord, skipNodeUpdate, svc?.Service, checks);
  await catalog.register({
    node: nodeRecord,
    skipNodeUpdate,
    ...(svc ? { service: svc } : {}),
    checks,
  });
  return json(true);
}

function decodeCatalogService(o: JsonObject): Parameters<Catalog["register"]>[0]["service"] {
  const name = optString(o, "Service", "Name") ?? "";
  const weights = pick(o, "Weights") as JsonObject | undefined;
  const tagged = pick(o, "TaggedAddresses") as Record<string, TaggedAddress> | undefined;
  return {
    ...(optString(o, "Kind") ? { Kind: optString(o, "Kind") as string } : {}),
    ID: optString(o, "ID") || name,
    Service: name,
    Tags: optStringList(o, "Tags") ?? [],
    Address: optString(o, "Address") ?? "",
    ...(tagged && typeof tagged === "object" ? { TaggedAddresses: tagged } : {}),
    Meta: optStringMap(o, "Meta") ?? {},
    Port: optNumber(o, "Port") ?? 0,
    Weights: {
      Passing: Number(weights?.["Passing"] ?? 1),
      Warning: Number(weights?.["Warning"] ?? 1),
    },
    EnableTagOverride: optBool(o, "EnableTagOverride") ?? false,
    Proxy: {},
    Connect: {},
  };
}

function decodeCatalogCheck(o: JsonObject, node: string): CheckRecord {
  const name = optString(o, "Name") ?? "";
  const status = (optString(o, "Status") || "critical") as CheckStatus;
  if (!CHECK_STATUSES.includes(status)) throw badRequest(`Invalid check status: '${status}'`);
  const def = pick(o, "Definition");
  return {
    Node: node,
    CheckID: optString(o, "CheckID", "ID") || name,
    Name: name,
    Status: status,
    Notes: optString(o, "Notes") ?? "",
    Output: optString(o, "Output") ?? "",
    ServiceID: optString(o, "ServiceID") ?? "",
    ServiceName: "",
    ServiceTags: [],
    Type: optString(o, "Type") ?? "",
    Interval: optString(o, "Interval") ?? "",
    Timeout: optString(o, "Timeout") ?? "",
    ExposedPort: 0,
    Definition: (typeof def === "object" && def !== null ? def : {}) as HealthCheckDefinitionJson,
  };
}

async function deregister(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const body = asObject(req.json() ?? {}, "structs.DeregisterRequest");
  bodyDatacenter(body, catalog.datacenter);
  const nodeName = optString(body, "Node");
  if (!nodeName) throw new AugurError("INVALID_STATE", "Must provide node");
  const serviceId = optString(body, "ServiceID");
  const checkId = optString(body, "CheckID");
  if (req.aclEnabled) vetDeregister(catalog, req, nodeName, serviceId, checkId);
  await catalog.deregister({
    node: nodeName,
    ...(serviceId ? { serviceId } : {}),
    ...(checkId ? { checkId } : {}),
  });
  return json(true);
}

/**
 * The body's `Datacenter`: empty means this one. Consul forwards the RPC to the named datacenter
 * before validating anything, so another one is `No path to datacenter` (500) whatever else the
 * body holds; it must never act on the local catalog.
 */
function bodyDatacenter(body: Record<string, unknown>, datacenter: string): void {
  const dc = optString(body, "Datacenter");
  if (dc !== undefined && dc !== "" && dc !== datacenter)
    throw new AugurError("UNKNOWN_DATACENTER", "No path to datacenter");
}

/**
 * Consul's vetRegisterWithACL: changing the node needs `node` write, the service `service` write
 * on its name, a node check `node` write, a service check `service` write on its service.
 */
function vetRegister(
  catalog: Catalog,
  req: ApiRequest,
  node: NodeRecord,
  skipNodeUpdate: boolean,
  service: string | undefined,
  checks: readonly CheckRecord[],
): void {
  const authz = req.authorizer();
  if (!skipNodeUpdate) authz.require("node", node.Node, "write");
  if (service !== undefined) authz.require("service", service, "write");
  for (const c of checks) {
    if (!c.ServiceID) authz.require("node", node.Node, "write");
    else {
      const name =
        c.ServiceName ||
        [...catalog.nodeEntries(node.Node).services.values()].find(
          (s) => s.value.ID === c.ServiceID,
        )?.value.Service ||
        service ||
        "";
      authz.require("service", name, "write");
    }
  }
}

/** Consul's vetDeregisterWithACL: the node, or the service's or check's owner, needs write. */
function vetDeregister(
  catalog: Catalog,
  req: ApiRequest,
  node: string,
  serviceId: string | undefined,
  checkId: string | undefined,
): void {
  const authz = req.authorizer();
  const entries = catalog.nodeEntries(node);
  const serviceName = (id: string): string =>
    [...entries.services.values()].find((s) => s.value.ID === id)?.value.Service ?? "";
  if (serviceId) authz.require("service", serviceName(serviceId), "write");
  else if (checkId) {
    const check = [...entries.checks.values()].find((c) => c.value.CheckID === checkId)?.value;
    if (check?.ServiceID) authz.require("service", serviceName(check.ServiceID), "write");
    else authz.require("node", node, "write");
  } else authz.require("node", node, "write");
}
