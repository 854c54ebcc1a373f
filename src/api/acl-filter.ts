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
