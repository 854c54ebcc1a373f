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
import { compileGoRegexp, goRegexpMatches, GoRegexpError } from "../../lib/go-regexp.js";
import type { RE2JS } from "re2js";
import type { ApiRequest } from "../request.js";
import { aclFilter, FILTERED_HEADER } from "../acl-filter.js";
import { json, type ApiResult } from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";

/**
 * What decides whether this agent takes an event (Consul's shouldProcessUserEvent): its node
 * name, and its local services by ID with their tags.
 */
export interface EventTarget {
  nodeName(): string;
  services(): Iterable<{ readonly ID: string; readonly Tags: readonly string[] | null }>;
}

export function eventRoutes(catalog: Catalog, target: EventTarget): Route[] {
  const forMe = eventFilter(target);
  return [
    // A payload past the server's 1 MiB read limit is past serf's 512 bytes too: Consul's words.
    route(
      "/v1/event/fire/",
      { PUT: (req) => fire(catalog, req) },
      { tooLarge: () => tooLarge("before encoding") },
    ),
    route("/v1/event/list", { GET: (req, ctx) => list(catalog, req, ctx, forMe) }),
  ];
}

/**
 * Consul gossips an event to every agent and each keeps it only if its filters match: the node
 * filter against the node name, the service filter against a local service's ID, and the tag
 * filter against that service's tags. Every event is stored once here, so each agent applies
 * the same test when it lists them: an agent the event was not for never sees it, and its
 * `event` watches do not fire. Compiled patterns are kept per text (events are few: 256).
 */
function eventFilter(target: EventTarget): (e: UserEvent) => boolean {
  const compiled = new Map<string, RE2JS | null>();
  const re = (pattern: string): RE2JS | null => {
    let r = compiled.get(pattern);
    if (r === undefined) {
      try {
        r = compileGoRegexp(pattern);
      } catch {
        r = null; // Consul drops an event whose filter does not compile
      }
      if (compiled.size > 1024) compiled.clear();
      compiled.set(pattern, r);
    }
    return r;
  };
  return (e) => {
    if (e.NodeFilter) {
      const node = re(e.NodeFilter);
      if (!node || !goRegexpMatches(node, target.nodeName())) return false;
    }
    if (!e.ServiceFilter) return true;
    const service = re(e.ServiceFilter);
    const tag = e.TagFilter ? re(e.TagFilter) : undefined;
    if (!service || tag === null) return false;
    for (const s of target.services()) {
      if (!goRegexpMatches(service, s.ID)) continue;
      if (!tag || (s.Tags ?? []).some((t) => goRegexpMatches(tag, t))) return true;
    }
    return false;
  };
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

/** Serf's default `UserEventSizeLimit`, which Consul keeps: a user event's whole gossip message. */
const USER_EVENT_SIZE_LIMIT = 512;
/** The name Consul gives the event on serf (its `userEventName`). */
const SERF_EVENT_PREFIX = "consul:event:";

/** msgpack header bytes of a string (`str`) or a byte string (`bin`) of `n` bytes. */
const strHeader = (n: number): number => (n < 32 ? 1 : n < 256 ? 2 : n < 65_536 ? 3 : 5);
const binHeader = (n: number): number => (n < 256 ? 2 : n < 65_536 ? 3 : 5);
const strSize = (s: string): number => {
  const n = Buffer.byteLength(s);
  return strHeader(n) + n;
};

/**
 * Consul's limit on a fired event, which it does not document beyond "keep the payload very small
 * (< 100 bytes)": the agent msgpack-encodes the event (a map of its eight fields: ID, Name,
 * Payload, the three filters, Version, LTime), and serf refuses a user event whose name
 * (`consul:event:<name>`) and that encoding exceed 512 bytes, before and again after wrapping
 * them in its own message (a type byte and a map of LTime, Name, Payload, CC; a fresh cluster's
 * LTime is one byte). So `deploy` takes at most 344 bytes of payload. Without it a client could
 * fire 256 events of the largest body the server reads, all of which augur keeps.
 */
function checkUserEventSize(name: string, payload: number, filters: string[]): void {
  const KEYS = 65; // fixstr keys: ID, Name, Payload, NodeFilter, ServiceFilter, TagFilter, Version, LTime
  const encoded =
    1 + // fixmap of 8
    KEYS +
    strSize("00000000-0000-0000-0000-000000000000") +
    strSize(name) +
    (payload === 0 ? 1 : binHeader(payload) + payload) + // nil without a body
    filters.reduce((sum, f) => sum + strSize(f), 0) +
    1 + // Version 1
    1; // LTime 0
  const serfName = SERF_EVENT_PREFIX + name;
  if (Buffer.byteLength(serfName) + encoded > USER_EVENT_SIZE_LIMIT)
    throw tooLarge("before encoding");
  // 1 type byte + fixmap of 4 + "LTime" 1 + "Name" + "Payload" + "CC" false
  const message = 1 + 1 + 6 + 1 + 5 + strSize(serfName) + 8 + binHeader(encoded) + encoded + 3 + 1;
  if (message > USER_EVENT_SIZE_LIMIT) throw tooLarge("after encoding");
}

const tooLarge = (when: string): AugurError =>
  // Consul's EventFire answers every UserEvent error but a permission denial with a 500.
  new AugurError(
    "BAD_REQUEST",
    `user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes ${when}`,
    { status: 500 },
  );

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
  // Consul's EventFire: `event` write on the event's name (a 403, unlike its other errors).
  if (req.aclEnabled) req.authorizer().require("event", req.rest, "write");
  checkUserEventSize(req.rest, req.body.length, [node ?? "", service ?? "", tag ?? ""]);
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

async function list(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
  forMe: (e: UserEvent) => boolean,
): Promise<ApiResult> {
  const name = req.param("name") ?? "";
  const requested = parseIndex(req.param("index"));
  const { waitMs } = req.blocking();
  const read = (): { events: UserEvent[]; index: bigint } => {
    const all = catalog.events().filter(forMe);
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
  const f = aclFilter(req, r.events, (a, e) => a.allows("event", e.Name, "read"));
  return json(f.value, undefined, {
    "X-Consul-Index": r.index.toString(),
    ...(f.filtered ? FILTERED_HEADER : {}),
  });
}
