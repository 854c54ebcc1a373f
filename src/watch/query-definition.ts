/**
 * The query half of a watch, validated per type as Consul's api/watch/funcs.go factories do:
 * required parameters, `Cannot specify service and state`, `stale` not taken by `event`, `filter`
 * taken by services/nodes/service/checks only (Consul 1.14.8+).
 *
 * @module
 */
import { WATCH_TYPES, type WatchQuery, type WatchType } from "./types.js";
import { bad, type Params } from "./params.js";

type Factory = (p: Params) => Omit<WatchQuery, "type" | "datacenter" | "token">;

const base = { tags: [] as string[], passingOnly: false, stale: false };

const FACTORIES: Record<WatchType, Factory> = {
  key(p) {
    const stale = p.bool("stale") ?? false;
    const key = p.string("key") ?? "";
    if (key === "") throw bad("Must specify a single key to watch");
    return { ...base, stale, key };
  },
  keyprefix(p) {
    const stale = p.bool("stale") ?? false;
    const prefix = p.string("prefix") ?? "";
    if (prefix === "") throw bad("Must specify a single prefix to watch");
    return { ...base, stale, prefix };
  },
  services: (p) => ({ ...base, stale: p.bool("stale") ?? false, ...filter(p) }),
  nodes: (p) => ({ ...base, stale: p.bool("stale") ?? false, ...filter(p) }),
  service(p) {
    const stale = p.bool("stale") ?? false;
    const service = p.string("service") ?? "";
    if (service === "") throw bad("Must specify a single service to watch");
    const tags = p.stringSlice("tag") ?? [];
    const passingOnly = p.bool("passingonly") ?? false;
    return { ...base, stale, service, tags, passingOnly, ...filter(p) };
  },
  checks(p) {
    const stale = p.bool("stale") ?? false;
    const service = p.string("service") ?? "";
    let state = p.string("state") ?? "";
    if (service !== "" && state !== "") throw bad("Cannot specify service and state");
    if (service === "" && state === "") state = "any";
    return { ...base, stale, ...(service !== "" ? { service } : { state }), ...filter(p) };
  },
  // Consul: "The stale setting doesn't apply to events", so `stale` is an invalid parameter here.
  event(p) {
    const name = p.string("name");
    return { ...base, ...(name !== undefined && name !== "" ? { name } : {}) };
  },
};

function filter(p: Params): { filter?: string } {
  const f = p.string("filter");
  return f !== undefined && f !== "" ? { filter: f } : {};
}

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
  return { type, ...(datacenter !== undefined ? { datacenter } : {}), ...(token !== undefined ? { token } : {}) };
}

/** The type-specific part, after the handler config has been taken (Consul's order). */
export function buildQuery(p: Params, type: string, datacenter?: string, token?: string): WatchQuery {
  if (!(WATCH_TYPES as readonly string[]).includes(type)) throw bad(`Unsupported watch type: ${type}`);
  const t = type as WatchType;
  const rest = FACTORIES[t](p);
  return {
    type: t,
    ...rest,
    ...(datacenter ? { datacenter } : {}),
    ...(token ? { token } : {}),
  };
}
