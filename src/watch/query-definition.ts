/**
 * The query half of a watch, read as Consul's api/watch does: the generic parameters first, then
 * the type's own through its spec's factory (`types/<type>.ts`), which holds the per-type rules
 * (required parameters, `Cannot specify service and state`, `stale` not taken by `event`,
 * `filter` taken by services/nodes/service/checks only).
 *
 * @module
 */
import type { WatchQuery } from "./types.js";
import { isWatchType, watchTypeSpec } from "./types/index.js";
import { bad, type Params } from "./params.js";

/**
 * Consumes the query parameters (`datacenter`, `token`, `type` and the type's own) in Consul's
 * order (watch.ParseExempt, then the type's factory).
 */
export function parseWatchQuery(p: Params): WatchQuery {
  const head = readQueryHead(p);
  return buildQuery(p, head.type, head.datacenter, head.token);
}

/** The generic parameters Consul reads first: `datacenter`, `token`, `type` (required). */
export function readQueryHead(p: Params): { type: string; datacenter?: string; token?: string } {
  const datacenter = p.string("datacenter");
  const token = p.string("token");
  const type = p.string("type") ?? "";
  if (type === "") throw bad("Watch type must be specified");
  return {
    type,
    ...(datacenter !== undefined ? { datacenter } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

/** The type-specific part, after the handler config has been taken (Consul's order). */
export function buildQuery(
  p: Params,
  type: string,
  datacenter?: string,
  token?: string,
): WatchQuery {
  if (!isWatchType(type)) throw bad(`Unsupported watch type: ${type}`);
  const rest = watchTypeSpec(type).parse(p);
  return {
    type,
    ...rest,
    ...(datacenter ? { datacenter } : {}),
    ...(token ? { token } : {}),
  };
}
