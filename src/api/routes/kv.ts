/**
 * `/v1/kv/` (Consul agent/kvs_endpoint.go): GET with `recurse`, `keys`, `separator`, `raw`;
 * PUT with `flags`, `cas`, `acquire`, `release`; DELETE with `recurse`, `cas`. Missing keys are a
 * 404 with an empty body but with the `X-Consul-*` headers (python-consul reads them).
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { timingSafeEqual } from "node:crypto";
import { parseFlagsText, type KvFlags, type KvOp } from "../../catalog/kv.js";
import { refuseInternalWrite } from "../../catalog/kv-internal.js";
import { scope } from "../../catalog/scopes.js";
import type { KVPair } from "../../catalog/types.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { blockingRead, checkScopeParams, type BlockingAnswer } from "../blocking.js";
import type { ApiRequest } from "../request.js";
import { aclFilter, FILTERED_HEADER } from "../acl-filter.js";
import { empty, json, raw, type ApiResult } from "../response.js";
import { route, type HandlerContext, type Route } from "../router.js";

/** Consul's maximum KV value size (kv_max_value_size). */
export const MAX_KV_VALUE_BYTES = 512 * 1024;

export interface KvRouteOptions {
  /**
   * The token the agent's own watch engine presents; only it may write `_augur/` keys
   * (catalog/kv-internal.ts). Unset: no caller may.
   */
  readonly internalToken?: string;
}

export function kvRoutes(catalog: Catalog, options: KvRouteOptions = {}): Route[] {
  const internal = (req: ApiRequest): boolean => isInternalCaller(req, options.internalToken);
  return [
    route(
      "/v1/kv/",
      {
        GET: (req, ctx) => getKv(catalog, req, ctx),
        PUT: (req) => putKv(catalog, req, internal(req)),
        DELETE: (req) => deleteKv(catalog, req, internal(req)),
      },
      { tooLarge: valueTooLarge },
    ),
  ];
}

/** Consul's 413 for a value over `kv_max_value_size`. */
const valueTooLarge = (bytes: number): AugurError =>
  new AugurError(
    "TOO_LARGE",
    `Request body(${bytes} bytes) too large, max size: ${MAX_KV_VALUE_BYTES} bytes.`,
  );

/** True when the request carries the agent's internal token (compared in constant time). */
export function isInternalCaller(req: ApiRequest, internalToken: string | undefined): boolean {
  const given = req.token();
  if (internalToken === undefined || given === undefined || given.length !== internalToken.length)
    return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(internalToken));
}

function getKv(
  catalog: Catalog,
  req: ApiRequest,
  ctx: HandlerContext,
): ApiResult | Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const key = req.rest;
  const recurse = req.flag("recurse");
  const listKeys = req.flag("keys");
  if (key === "" && !recurse && !listKeys) throw badRequest("Missing key name");
  if (listKeys) {
    // Consul's KVS.ListKeys without `acl.enable_key_list_policy` (its default): keys the token
    // cannot read are left out; the prefix itself needs no permission.
    const separator = req.param("separator") ?? "";
    return answer(
      blockingRead(req, ctx, catalog, scope.kvPrefix(key), () => {
        const r = catalog.kvPrefix(key);
        return { index: r.index, value: r.value };
      }),
      ({ value: pairs, meta }) => {
        const f = aclFilter(req, pairs, (a, p) => a.allows("key", p.Key, "read"));
        const value = keysUnder(f.value, key, separator);
        const headers = f.filtered ? { ...FILTERED_HEADER } : undefined;
        // Consul answers 404 for an empty listing, except at the root.
        if (value.length === 0 && key !== "")
          return headers ? { ...empty(meta, 404), headers } : empty(meta, 404);
        return json(value, meta, headers);
      },
    );
  }
  if (!recurse && req.aclEnabled) req.authorizer().require("key", key, "read");
  const read = recurse
    ? blockingRead(req, ctx, catalog, scope.kvPrefix(key), () => catalog.kvPrefix(key))
    : blockingRead(req, ctx, catalog, scope.kv(key), () => catalog.kvEntry(key));
  return answer(read, ({ value: all, meta }) => {
    // The plain GET path allocates nothing for ACLs: only a recursive read is filtered.
    let value = all;
    let filtered = false;
    if (recurse && req.aclEnabled) {
      const f = aclFilter(req, all, (a, p) => a.allows("key", p.Key, "read"));
      value = f.value;
      filtered = f.filtered;
    }
    if (value.length === 0)
      return filtered ? { ...empty(meta, 404), headers: { ...FILTERED_HEADER } } : empty(meta, 404);
    if (req.flag("raw")) {
      const first = value[0] as KVPair;
      return raw(
        first.Value === null ? Buffer.alloc(0) : Buffer.from(first.Value, "base64"),
        "text/plain; charset=utf-8",
        meta,
      );
    }
    return filtered ? json(value, meta, { ...FILTERED_HEADER }) : json(value, meta);
  });
}

/** `toResult` applied to a read that may or may not have waited. */
function answer<T>(
  read: BlockingAnswer<T> | Promise<BlockingAnswer<T>>,
  toResult: (a: BlockingAnswer<T>) => ApiResult,
): ApiResult | Promise<ApiResult> {
  return read instanceof Promise ? read.then(toResult) : toResult(read);
}

/** `?keys&separator=`: each key cut after the first separator past the prefix, deduplicated. */
function keysUnder(pairs: readonly KVPair[], prefix: string, separator: string): string[] {
  const out: string[] = [];
  let last: string | undefined;
  for (const p of pairs) {
    let k = p.Key;
    if (separator) {
      const at = k.indexOf(separator, prefix.length);
      if (at >= 0) k = k.slice(0, at + separator.length);
    }
    if (k !== last) out.push(k);
    last = k;
  }
  return out;
}

function conflictingFlags(req: ApiRequest, ...names: string[]): void {
  if (names.filter((n) => req.flag(n)).length > 1)
    throw badRequest(`Conflicting flags: ${req.query.toString()}`);
}

/**
 * `?cas=`: Go's ParseUint, as Consul runs it on both PUT and DELETE, returning its error as is
 * (a 500 with strconv's text, as `?flags=`). Indexes stay far below 2^53, so the number is exact.
 */
function casParam(req: ApiRequest): number | undefined {
  const raw = req.param("cas");
  if (raw === undefined) return undefined;
  const parsed = parseFlagsText(raw);
  if (typeof parsed === "object")
    throw new AugurError("BAD_REQUEST", parsed.error, { status: 500 });
  return Number(parsed);
}

/**
 * `?flags=`: Go's ParseUint, exact to 2^64-1. Consul returns the parse error as is, so a bad
 * value is a 500 with strconv's text.
 */
function flagsParam(req: ApiRequest): KvFlags {
  const raw = req.param("flags");
  if (raw === undefined) return 0;
  const parsed = parseFlagsText(raw);
  if (typeof parsed === "object")
    throw new AugurError("BAD_REQUEST", parsed.error, { status: 500 });
  return parsed;
}

async function putKv(catalog: Catalog, req: ApiRequest, internal: boolean): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  if (req.rest === "") throw badRequest("Missing key name");
  conflictingFlags(req, "cas", "acquire", "release");
  const flags = flagsParam(req);
  const cas = casParam(req);
  if (req.body.length > MAX_KV_VALUE_BYTES) throw valueTooLarge(req.body.length);
  const base = {
    key: req.rest,
    value: req.body.length > 0 ? new Uint8Array(req.body) : null,
    flags,
  };
  let op: KvOp = { ...base, verb: "set" };
  if (cas !== undefined) op = { ...base, verb: "cas", index: cas };
  if (req.flag("acquire")) op = { ...base, verb: "lock", session: req.param("acquire") ?? "" };
  if (req.flag("release")) op = { ...base, verb: "unlock", session: req.param("release") ?? "" };
  if (req.aclEnabled) req.authorizer().require("key", op.key, "write");
  if (!internal) refuseInternalWrite(op);
  return json(await applyOne(catalog, op, op.verb === "lock", internal));
}

async function deleteKv(catalog: Catalog, req: ApiRequest, internal: boolean): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  conflictingFlags(req, "recurse", "cas");
  // Consul's order: the missing key before the cas value.
  if (req.rest === "" && !req.flag("recurse")) throw badRequest("Missing key name");
  const cas = casParam(req);
  const op: KvOp = req.flag("recurse")
    ? { verb: "delete-tree", key: req.rest }
    : cas !== undefined
      ? { verb: "delete-cas", key: req.rest, index: cas }
      : { verb: "delete", key: req.rest };
  if (req.aclEnabled) {
    const authz = req.authorizer();
    if (op.verb === "delete-tree") {
      if (!authz.allowsKeyWritePrefix(op.key)) throw authz.denied("key", "write", op.key);
    } else authz.require("key", op.key, "write");
  }
  if (!internal) refuseInternalWrite(op);
  return json(await applyOne(catalog, op, false, internal));
}

/** One KV op as KVS.Apply runs it: `false` when a cas/lock did not apply, 500 for other errors. */
async function applyOne(
  catalog: Catalog,
  op: KvOp,
  enforceLockDelay: boolean,
  internal: boolean,
): Promise<boolean> {
  if (op.verb === "set") {
    await catalog.kvSet({ ...op, verb: "set" });
    return true;
  }
  const result = await catalog.kvApply([op], { enforceLockDelay, internal });
  if (result.errors.length > 0) {
    if (!result.applied && !result.errors[0]?.What.startsWith("invalid session")) return false;
    throw new AugurError("INVALID_STATE", result.errors[0]?.What ?? "KV operation failed");
  }
  return result.applied;
}
