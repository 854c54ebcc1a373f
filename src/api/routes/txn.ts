/**
 * `PUT /v1/txn` (Consul agent/txn_endpoint.go): KV, Node, Service, Check and Session ops, all or
 * nothing, at most 128 ops in at most `txn_max_req_len` bytes, 409 with
 * `{Results: null, Errors: [...]}` when any op fails. A txn of reads only is a read: it takes
 * `?stale` / `?consistent` and answers with the leader headers, as Consul's Txn.Read.
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
import { checkScopeParams, readConsistency } from "../blocking.js";
import type { CatalogTxnOp } from "../../catalog/txn.js";
import type { JsonObject } from "../../lib/json-fields.js";
import {
  decodeCheckOp,
  decodeNodeOp,
  decodeServiceOp,
  decodeSessionOp,
} from "./txn-catalog-ops.js";
import { parseJsonBody, type ApiRequest } from "../request.js";
import { json, type ApiResult } from "../response.js";
import { route, type Route } from "../router.js";
import { MAX_KV_VALUE_BYTES } from "./kv.js";

export const MAX_TXN_OPS = 128;
/** Consul's `txn_max_req_len` default (raft's suggested entry size), which `kv_max_value_size` equals. */
export const MAX_TXN_BODY_BYTES = 512 * 1024;
const TXN_MAX_REQ_LEN_DOC = "https://www.consul.io/docs/agent/config/config-files#txn_max_req_len";

export function txnRoutes(catalog: Catalog, options: KvRouteOptions = {}): Route[] {
  return [
    route(
      "/v1/txn",
      { PUT: (req) => runTxn(catalog, req, isInternalCaller(req, options.internalToken)) },
      { tooLarge: announcedTooLarge },
    ),
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
  // Lossless: Flags are uint64 and must not round through a double.
  const body =
    req.body.length === 0
      ? null
      : parseJsonBody(req.body, "Failed to parse body: ", parseJsonLossless);
  if (!Array.isArray(body))
    throw badRequest(
      "Failed to parse body: json: cannot unmarshal into Go value of type structs.TxnOps",
    );
  return body;
}

/**
 * One op: its first member of KV, Node, Service, Check (Consul's order), or Session. An op with
 * none is refused as Consul's state store refuses it.
 */
function parseOp(raw: unknown, i: number, datacenter: string): CatalogTxnOp | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw badRequest(`Failed to parse body: op ${i}: expected an object`);
  const op = raw as JsonObject;
  const member = (name: string): JsonObject | undefined => {
    const v = field(op, name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v))
      throw badRequest(
        `Failed to parse body: json: cannot unmarshal ${jsonType(v)} into Go struct field TxnOp.${name} of type api.${name}TxnOp`,
      );
    return v as JsonObject;
  };
  const kv = member("KV");
  if (kv) return { kind: "kv", op: parseKvOp(kv, i) };
  const node = member("Node");
  if (node) return decodeNodeOp(node, datacenter);
  const service = member("Service");
  if (service) return decodeServiceOp(service);
  const check = member("Check");
  if (check) return decodeCheckOp(check);
  const session = member("Session");
  if (session) return decodeSessionOp(session);
  return undefined;
}

function parseKvOp(o: Record<string, unknown>, i: number): KvOp {
  const fail = (what: string): AugurError => badRequest(`Failed to parse body: op ${i}: ${what}`);
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

/** Consul's 413 for a body whose `Content-Length` is over `txn_max_req_len`. */
const announcedTooLarge = (announced: number): AugurError =>
  new AugurError(
    "TOO_LARGE",
    `Request body(${announced} bytes) too large, max size: ${MAX_TXN_BODY_BYTES} bytes. See ${TXN_MAX_REQ_LEN_DOC}.`,
  );

/** Consul's 413 for a body over `txn_max_req_len`, in its two wordings (announced or streamed). */
function checkBodySize(req: ApiRequest): void {
  const announced = Number(req.headers["content-length"]);
  if (announced > MAX_TXN_BODY_BYTES) throw announcedTooLarge(announced);
  if (req.body.length > MAX_TXN_BODY_BYTES)
    throw new AugurError(
      "TOO_LARGE",
      `Request body too large, max size: ${MAX_TXN_BODY_BYTES} bytes. See ${TXN_MAX_REQ_LEN_DOC}.`,
    );
}

const READ_VERBS = new Set([
  "get",
  "get-tree",
  "get-or-empty",
  "check-index",
  "check-session",
  "check-not-exists",
]);

/** Consul counts writes to choose Txn.Read or Txn.Apply: a KV read verb, or a catalog `get`. */
function isRead(op: CatalogTxnOp): boolean {
  if (op.kind === "kv") return READ_VERBS.has(op.op.verb);
  return op.kind !== "session" && op.verb === "get";
}

async function runTxn(catalog: Catalog, req: ApiRequest, internal: boolean): Promise<ApiResult> {
  checkScopeParams(req, catalog.datacenter);
  checkBodySize(req);
  const body = parseBody(req);
  if (body.length > MAX_TXN_OPS)
    throw new AugurError(
      "TOO_LARGE",
      `Transaction contains too many operations (${body.length} > ${MAX_TXN_OPS})`,
    );
  const parsed = body.map((raw, i) => parseOp(raw, i, catalog.datacenter));
  const missing = parsed.flatMap((op, i) =>
    op ? [] : [{ OpIndex: i, What: "no operation specified" }],
  );
  if (missing.length > 0)
    return { kind: "json", status: 409, value: { Results: null, Errors: missing } };
  const ops = parsed as CatalogTxnOp[];
  // As Consul's Txn.preCheck reports ACL denials: every refused op listed, nothing run, 409.
  const aclDenied = req.aclEnabled ? deniedByAcl(catalog, req, ops) : [];
  const denied = internal
    ? aclDenied
    : [
        ...aclDenied,
        ...ops.flatMap((op, i) =>
          op.kind === "kv" && isForbiddenOp(op.op)
            ? [{ OpIndex: i, What: internalKeyDenied(op.op.key) }]
            : [],
        ),
      ];
  if (denied.length > 0)
    return { kind: "json", status: 409, value: { Results: null, Errors: denied } };
  const readOnly = ops.every(isRead);
  const consistency = readOnly ? readConsistency(req) : undefined;
  if (consistency === "consistent") await catalog.catchUp();
  const kvOnly = ops.every((op) => op.kind === "kv");
  const result = kvOnly
    ? await kvTxn(catalog, ops, internal)
    : await catalog.txnApply(ops, { internal });
  if (result.errors.length > 0)
    return { kind: "json", status: 409, value: { Results: null, Errors: result.errors } };
  const value = { Results: result.results, Errors: null };
  return consistency ? json(value, { index: 0, consistency, leaderOnly: true }) : json(value);
}

/** A txn of KV ops only: the KV engine as it stands, with its fast local path. */
async function kvTxn(
  catalog: Catalog,
  ops: readonly CatalogTxnOp[],
  internal: boolean,
): Promise<{ results: unknown[]; errors: { OpIndex: number; What: string }[] }> {
  const kvOps = ops.flatMap((op) => (op.kind === "kv" ? [op.op] : []));
  const result = await catalog.kvApply(kvOps, { internal });
  return { results: result.results.map((kv) => ({ KV: kv })), errors: result.errors };
}

/**
 * Each op's ACL check (Consul's Txn.preCheck and vet*TxnOp): KV reads need key read (a tree, read
 * on its prefix), writes key write (a tree delete, write on everything under the prefix); node,
 * service and check ops need read for `get` and write otherwise, a check on its service's name
 * or else its node; session ops need session write on the session's node.
 */
function deniedByAcl(
  catalog: Catalog,
  req: ApiRequest,
  ops: readonly CatalogTxnOp[],
): { OpIndex: number; What: string }[] {
  const authz = req.authorizer();
  if (authz.isManagement) return [];
  const out: { OpIndex: number; What: string }[] = [];
  ops.forEach((op, i) => {
    let error: AugurError | undefined;
    const need = (
      resource: "key" | "node" | "service" | "session",
      name: string,
      level: "read" | "write",
    ): void => {
      if (!error && !authz.allows(resource, name, level))
        error = authz.denied(resource, level, name);
    };
    switch (op.kind) {
      case "kv":
        if (op.op.verb === "delete-tree") {
          if (!authz.allowsKeyWritePrefix(op.op.key))
            error = authz.denied("key", "write", op.op.key);
        } else need("key", op.op.key, READ_VERBS.has(op.op.verb) ? "read" : "write");
        break;
      case "node":
        need("node", op.node.Node, op.verb === "get" ? "read" : "write");
        break;
      case "service":
        need("service", op.service.Service, op.verb === "get" ? "read" : "write");
        break;
      case "check":
        if (op.check.ServiceName)
          need("service", op.check.ServiceName, op.verb === "get" ? "read" : "write");
        else need("node", op.check.Node, op.verb === "get" ? "read" : "write");
        break;
      case "session": {
        const node = catalog.sessionList().value.find((s) => s.ID === op.id)?.Node ?? "";
        need("session", node, "write");
        break;
      }
    }
    if (error) out.push({ OpIndex: i, What: error.message });
  });
  return out;
}
