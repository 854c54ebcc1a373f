/**
 * `/v1/session/*` (Consul agent/session_endpoint.go).
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { scope } from "../../catalog/scopes.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { parseGoDuration } from "../../lib/duration.js";
import {
  asObject,
  optString,
  optStringList,
  pick,
  type JsonObject,
} from "../../lib/json-fields.js";
import { blockingRead, checkScopeParams } from "../blocking.js";
import type { ApiRequest } from "../request.js";
import { aclFilter, filteredJson } from "../acl-filter.js";
import { json, type ApiResult } from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";
import type { Session } from "../../catalog/types.js";

export function sessionRoutes(catalog: Catalog, nodeName: string): Route[] {
  return [
    route("/v1/session/create", { PUT: (req) => create(catalog, req, nodeName) }),
    route("/v1/session/destroy/", { PUT: (req) => destroy(catalog, req) }),
    route("/v1/session/renew/", { PUT: (req) => renew(catalog, req) }),
    route("/v1/session/info/", {
      GET: (req, ctx) => list(catalog, req, ctx, (s) => s.ID === req.rest, "Missing session"),
    }),
    route("/v1/session/node/", {
      GET: (req, ctx) =>
        list(
          catalog,
          req,
          ctx,
          (s) => s.Node.toLowerCase() === req.rest.toLowerCase(),
          "Missing node name",
        ),
    }),
    route("/v1/session/list", { GET: (req, ctx) => list(catalog, req, ctx, () => true) }),
  ];
}

/** Go's time.Duration holds int64 nanoseconds. */
const DURATION_MAX_NS = 2 ** 63;

/**
 * Consul's FixupLockDelay, in whole nanoseconds: a number is truncated to an integer as Go
 * converts a float64 to a Duration, a string is a Go duration; either, below 1000 ns, is taken
 * as seconds (15 and "15ns" both mean 15 s). Held as an integer because clients decode the
 * session's `LockDelay` into an int64 (Go's `time.Duration`): a fraction left by a conversion
 * through milliseconds (1000001 came back as 1000000.9999999999) made Go clients fail on every
 * session list that held it. A value past the int64 range is refused; Consul would wrap it.
 */
function lockDelayNs(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  let ns: number;
  if (typeof v === "number") ns = Math.trunc(v);
  else if (typeof v === "string") {
    const ms = parseGoDuration(v);
    if (ms === undefined)
      throw badRequest(`Request decode failed: time: invalid duration ${JSON.stringify(v)}`);
    ns = Math.round(ms * 1e6);
  } else throw badRequest("Request decode failed: LockDelay must be a duration");
  if (ns < 1000) ns *= 1e9;
  if (!Number.isFinite(ns) || Math.abs(ns) >= DURATION_MAX_NS)
    throw badRequest(
      `Request decode failed: LockDelay ${typeof v === "string" ? JSON.stringify(v) : String(v)} is out of range for a duration`,
    );
  return ns;
}

function ttlMs(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const ms = parseGoDuration(v);
  if (ms === undefined)
    throw new AugurError(
      "INVALID_STATE",
      `Invalid Session TTL '${v}': time: invalid duration ${JSON.stringify(v)}`,
    );
  return ms;
}

async function create(catalog: Catalog, req: ApiRequest, nodeName: string): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const body: JsonObject =
    req.body.length === 0 ? {} : asObject(req.json() ?? {}, "structs.Session");
  const nodeChecks = optStringList(body, "NodeChecks") ?? optStringList(body, "Checks");
  const serviceChecks = pick(body, "ServiceChecks");
  const delay = lockDelayNs(pick(body, "LockDelay"));
  const ttl = ttlMs(optString(body, "TTL"));
  const behavior = optString(body, "Behavior");
  const name = optString(body, "Name");
  const node = optString(body, "Node") || nodeName;
  // Consul's Session.Apply: a session is created on a node with `session` write on its name.
  if (req.aclEnabled) req.authorizer().require("session", node, "write");
  const id = await catalog.sessions.create({
    node,
    ...(name !== undefined ? { name } : {}),
    ...(behavior ? { behavior } : {}),
    ...(delay !== undefined ? { lockDelayNs: delay } : {}),
    ...(ttl !== undefined ? { ttlMs: ttl } : {}),
    ...(nodeChecks ? { nodeChecks } : {}),
    ...(Array.isArray(serviceChecks)
      ? { serviceChecks: serviceChecks as { ID: string; Namespace: string }[] }
      : {}),
  });
  return json({ ID: id });
}

async function destroy(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing session");
  requireSessionWrite(catalog, req);
  await catalog.sessions.destroy(req.rest);
  return json(true);
}

async function renew(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing session");
  requireSessionWrite(catalog, req);
  return json(await catalog.sessions.renew(req.rest));
}

/** Destroy and renew need `session` write on the session's node (an unknown one is left to 404). */
function requireSessionWrite(catalog: Catalog, req: ApiRequest): void {
  if (!req.aclEnabled) return;
  const session = catalog.sessionList().value.find((s) => s.ID === req.rest);
  if (session) req.authorizer().require("session", session.Node, "write");
}

async function list(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
  keep: (s: Session) => boolean,
  /** Consul's 400 text when the path's argument (a session ID, a node name) is empty. */
  missing?: string,
): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (missing !== undefined && req.rest === "") throw badRequest(missing);
  const r = await blockingRead(req, ctx, catalog, scope.sessions, () => {
    const all = catalog.sessionList();
    return { index: all.index, value: all.value.filter(keep) };
  });
  return filteredJson(
    aclFilter(req, r.value, (a, s) => a.allows("session", s.Node, "read")),
    r.meta,
  );
}
