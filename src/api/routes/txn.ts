/**
 * `PUT /v1/txn` (Consul agent/txn_endpoint.go), KV verbs: all or nothing, at most 128 ops,
 * 409 with `{Results: null, Errors: [...]}` when any op fails.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { KV_VERBS, MAX_UINT64, type KvFlags, type KvOp, type KvVerb } from "../../catalog/kv.js";
import { CorruptBase64Error, decodeGoBase64 } from "../../lib/go-base64.js";
import { jsonType } from "../../lib/json-fields.js";
import { parseJsonLossless } from "../../lib/lossless-json.js";
import { internalKeyDenied, isForbiddenOp } from "../../catalog/kv-internal.js";
import { isInternalCaller, type KvRouteOptions } from "./kv.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { checkScopeParams } from "../blocking.js";
import type { ApiRequest } from "../request.js";
import { json, type ApiResult } from "../response.js";
import { route, type Route } from "../router.js";
import { MAX_KV_VALUE_BYTES } from "./kv.js";

export const MAX_TXN_OPS = 128;

export function txnRoutes(catalog: Catalog, options: KvRouteOptions = {}): Route[] {
  return [
    route("/v1/txn", {
      PUT: (req) => runTxn(catalog, req, isInternalCaller(req, options.internalToken)),
    }),
  ];
}

/** Finds a key case-insensitively, as Go's JSON decoder matches struct fields. */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function parseBody(req: ApiRequest): unknown[] {
  let body: unknown;
  try {
    // Lossless: Flags are uint64 and must not round through a double.
    body = parseJsonLossless(req.body.toString("utf8") || "null");
  } catch (err) {
    throw badRequest(`Failed to parse body: ${(err as Error).message}`, err);
  }
  if (!Array.isArray(body))
    throw badRequest(
      "Failed to parse body: json: cannot unmarshal into Go value of type structs.TxnOps",
    );
  return body;
}

function parseOp(raw: unknown, i: number): KvOp {
  const fail = (what: string): AugurError => badRequest(`Failed to parse body: op ${i}: ${what}`);
  if (typeof raw !== "object" || raw === null) throw fail("expected an object");
  const kv = field(raw as Record<string, unknown>, "KV");
  if (typeof kv !== "object" || kv === null) throw fail("only KV operations are supported");
  const o = kv as Record<string, unknown>;
  const verb = field(o, "Verb");
  if (typeof verb !== "string" || !KV_VERBS.includes(verb as KvVerb))
    throw fail(`unknown KV verb ${JSON.stringify(verb)}`);
  const key = field(o, "Key") ?? "";
  if (typeof key !== "string") throw fail("Key must be a string");
  const value = field(o, "Value");
  if (value !== undefined && value !== null && typeof value !== "string")
    throw fail("Value must be base64 text");
  const bytes = typeof value === "string" ? decodeValue(value) : null;
  if (bytes && bytes.length > MAX_KV_VALUE_BYTES)
    throw new AugurError(
      "TOO_LARGE",
      `Value for key ${JSON.stringify(key)} is too large (${bytes.length} > ${MAX_KV_VALUE_BYTES} bytes)`,
    );
  const num = (name: string): number | undefined => {
    const v = field(o, name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      throw fail(`${name} must be an unsigned integer`);
    return v;
  };
  const flags = flagsField(field(o, "Flags"));
  const session = field(o, "Session");
  if (session !== undefined && session !== null && typeof session !== "string")
    throw fail("Session must be a string");
  return {
    verb: verb as KvVerb,
    key,
    value: bytes ? new Uint8Array(bytes) : null,
    flags,
    index: num("Index") ?? 0,
    ...(typeof session === "string" ? { session } : {}),
  };
}

/**
 * `Value` as Go's JSON decoder reads a []byte: strict standard base64 (padding required, only
 * \r and \n skipped). Consul answers a bad one with the decoder's error.
 */
function decodeValue(value: string): Buffer {
  try {
    return decodeGoBase64(value);
  } catch (err) {
    if (err instanceof CorruptBase64Error)
      throw badRequest(`Failed to parse body: ${err.message}`, err);
    throw err;
  }
}

/** `Flags` as Go decodes a uint64 field: any integer 0..2^64-1, anything else refused in its words. */
function flagsField(v: unknown): KvFlags {
  if (v === undefined || v === null) return 0;
  const typeError = (what: string): AugurError =>
    badRequest(
      `Failed to parse body: json: cannot unmarshal ${what} into Go struct field KVTxnOp.KV.Flags of type uint64`,
    );
  if (typeof v === "bigint") {
    if (v < 0n || v > MAX_UINT64) throw typeError(`number ${v}`);
    return v;
  }
  if (typeof v !== "number") throw typeError(jsonType(v));
  if (!Number.isInteger(v) || v < 0) throw typeError(`number ${v}`);
  return v;
}

async function runTxn(catalog: Catalog, req: ApiRequest, internal: boolean): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  const body = parseBody(req);
  if (body.length > MAX_TXN_OPS)
    throw new AugurError(
      "TOO_LARGE",
      `Transaction contains too many operations (${body.length} > ${MAX_TXN_OPS})`,
    );
  const ops = body.map(parseOp);
  // As Consul's Txn.preCheck reports ACL denials: every refused op listed, nothing run, 409.
  const denied = internal
    ? []
    : ops.flatMap((op, i) =>
        isForbiddenOp(op) ? [{ OpIndex: i, What: internalKeyDenied(op.key) }] : [],
      );
  if (denied.length > 0)
    return { kind: "json", status: 409, value: { Results: null, Errors: denied } };
  const result = await catalog.kvApply(ops, { internal });
  if (result.errors.length > 0)
    return { kind: "json", status: 409, value: { Results: null, Errors: result.errors } };
  return json({ Results: result.results.map((kv) => ({ KV: kv })), Errors: null });
}
