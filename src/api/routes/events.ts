/**
 * `/v1/event/fire/:name` and `/v1/event/list` (Consul agent/event_endpoint.go). The list's index
 * is the last event's UUID folded to 64 bits — not monotonic — so it is carried as a bigint and
 * a blocking list waits while it equals the requested one.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { eventIndex } from "../../catalog/events.js";
import { scope } from "../../catalog/scopes.js";
import type { UserEvent } from "../../catalog/types.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { checkScopeParams } from "../blocking.js";
import { compileGoRegexp, GoRegexpError } from "../../lib/go-regexp.js";
import type { ApiRequest } from "../request.js";
import { json, type ApiResult } from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";

export function eventRoutes(catalog: Catalog): Route[] {
  return [
    route("/v1/event/fire/", { PUT: (req) => fire(catalog, req) }),
    route("/v1/event/list", { GET: (req, ctx) => list(catalog, req, ctx) }),
  ];
}

/** The node/service/tag filters are Go regexes (Consul's validateUserEventParams), compiled by RE2. */
function checkRegex(value: string | undefined, what: string): void {
  if (!value) return;
  try {
    compileGoRegexp(value);
  } catch (err) {
    // Consul's EventFire answers every UserEvent error but a permission denial with a 500.
    if (err instanceof GoRegexpError)
      throw new AugurError("BAD_REQUEST", `Invalid ${what} filter: ${err.message}`, {
        status: 500,
        cause: err,
      });
    throw err;
  }
}

async function fire(catalog: Catalog, req: ApiRequest): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing name");
  if (req.rest.startsWith("_"))
    throw badRequest("Event names starting with '_' are reserved for internal use");
  const node = req.param("node");
  const service = req.param("service");
  const tag = req.param("tag");
  if (tag && !service) throw badRequest("Cannot provide tag filter without service filter");
  checkRegex(node, "node");
  checkRegex(service, "service");
  checkRegex(tag, "tag");
  const event = await catalog.fireEvent({
    name: req.rest,
    payload: req.body.length > 0 ? new Uint8Array(req.body) : null,
    ...(node ? { nodeFilter: node } : {}),
    ...(service ? { serviceFilter: service } : {}),
    ...(tag ? { tagFilter: tag } : {}),
  });
  return json(event);
}

function parseIndex(raw: string | undefined): bigint {
  if (raw === undefined || raw === "") return 0n;
  if (!/^\d{1,20}$/.test(raw) || BigInt(raw) > 0xffffffffffffffffn)
    throw badRequest("Invalid index");
  return BigInt(raw);
}

async function list(catalog: Catalog, req: ApiRequest, ctx: HandlerContext): Promise<ApiResult> {
  const name = req.param("name") ?? "";
  const requested = parseIndex(req.param("index"));
  const { waitMs } = req.blocking();
  const read = (): { events: UserEvent[]; index: bigint } => {
    const all = catalog.events();
    return { events: name ? all.filter((e) => e.Name === name) : all, index: eventIndex(all) };
  };
  let r = read();
  if (requested !== 0n && r.index === requested) {
    // The request context's deadline: no controller, timer or listener of this request's own.
    const deadline = ctx.deadline(waitMs + Math.random() * (waitMs / 16));
    while (r.index === requested && !deadline.aborted) {
      await catalog.wait(scope.events, catalog.scopeIndex(scope.events), deadline);
      r = read();
    }
  }
  return json(r.events, undefined, { "X-Consul-Index": r.index.toString() });
}
