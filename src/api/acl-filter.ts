/**
 * Filtering list answers to what the request's token may read, as Consul's aclFilter does, and
 * saying so with `X-Consul-Results-Filtered-By-ACLs: true` when something was left out.
 * With ACLs off nothing is looked at: the list is answered as it is.
 *
 * @module
 */
import type { Authorizer } from "../lib/acl-authorizer.js";
import type { ApiRequest } from "./request.js";
import { json, type ApiResult, type QueryMeta } from "./response.js";
import type { HttpMethod, Route, RouteHandler } from "./router.js";

export const FILTERED_HEADER: Readonly<Record<string, string>> = {
  "X-Consul-Results-Filtered-By-ACLs": "true",
};

export interface Filtered<T> {
  readonly value: T[];
  /** True when the token's rules removed at least one item. */
  readonly filtered: boolean;
}

export function aclFilter<T>(
  req: ApiRequest,
  items: readonly T[],
  allowed: (authz: Authorizer, item: T) => boolean,
): Filtered<T> {
  if (!req.aclEnabled) return { value: items as T[], filtered: false };
  const authz = req.authorizer();
  if (authz.isManagement) return { value: items as T[], filtered: false };
  const value = items.filter((item) => allowed(authz, item));
  return { value, filtered: value.length !== items.length };
}

/** A filtered list as JSON, with the header when something was removed. */
export function filteredJson<T>(f: Filtered<T>, meta?: QueryMeta): ApiResult {
  return f.filtered ? json(f.value, meta, { ...FILTERED_HEADER }) : json(f.value, meta);
}

/** A permission check run before a route's handler while ACLs are on. */
export type AclCheck = (authz: Authorizer, req: ApiRequest) => void;

/** The route with `check` run before each of its handlers (nothing is added while ACLs are off). */
export function guard(r: Route, check: AclCheck): Route {
  const methods: Route["methods"] = {};
  for (const [method, handler] of Object.entries(r.methods) as [HttpMethod, RouteHandler][])
    methods[method] = (req, ctx) => {
      if (req.aclEnabled) check(req.authorizer(), req);
      return handler(req, ctx);
    };
  return { ...r, methods };
}

/** Applies `checks` (by route path) to a family's routes. */
export function guardAll(
  routes: readonly Route[],
  checks: Readonly<Record<string, AclCheck>>,
): Route[] {
  return routes.map((r) => {
    const check = checks[r.path];
    return check ? guard(r, check) : r;
  });
}

/** Filters an object's values (agent services, checks) by `allowed`. */
export function aclFilterMap<T>(
  req: ApiRequest,
  map: Readonly<Record<string, T>>,
  allowed: (authz: Authorizer, item: T) => boolean,
): { value: Record<string, T>; filtered: boolean } {
  if (!req.aclEnabled) return { value: map as Record<string, T>, filtered: false };
  const f = aclFilter(req, Object.entries(map), (a, [, v]) => allowed(a, v));
  return { value: Object.fromEntries(f.value), filtered: f.filtered };
}
