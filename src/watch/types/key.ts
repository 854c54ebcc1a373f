/**
 * `type = "key"`: one KV pair (`GET /v1/kv/<key>`); the handler gets the pair, or `null` when
 * the key does not exist.
 *
 * @module
 */
import { escapePath } from "../../lib/url-path.js";
import { entity, isObj, str } from "../entities.js";
import { QUERY_BASE, requiredString, type WatchTypeSpec } from "./spec.js";

export const key: WatchTypeSpec = {
  parse(p) {
    const stale = p.bool("stale") ?? false;
    const key = requiredString(p, "key");
    return { ...QUERY_BASE, stale, key };
  },
  request: (q) => ({ path: `/v1/kv/${escapePath(q.key ?? "")}`, query: {}, notFoundIsEmpty: true }),
  losslessJson: true,
  shape: (body) => (Array.isArray(body) && body.length > 0 ? goKvPair(body[0]) : null),
  entities: (result) => (isObj(result) ? [entity(str(result["Key"]), result)] : []),
  model: "state",
  indexOrdered: true,
};

/** api.KVPair field order (Key, CreateIndex, ModifyIndex, LockIndex, Flags, Value, Session). */
export function goKvPair(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null) return raw;
  const kv = raw as Record<string, unknown>;
  return {
    Key: kv["Key"] ?? "",
    CreateIndex: kv["CreateIndex"] ?? 0,
    ModifyIndex: kv["ModifyIndex"] ?? 0,
    LockIndex: kv["LockIndex"] ?? 0,
    Flags: kv["Flags"] ?? 0,
    Value: kv["Value"] ?? null,
    Session: kv["Session"] ?? "",
    ...(kv["Namespace"] ? { Namespace: kv["Namespace"] } : {}),
    ...(kv["Partition"] ? { Partition: kv["Partition"] } : {}),
  };
}
