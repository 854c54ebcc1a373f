/**
 * `type = "keyprefix"`: every KV pair under a prefix (`GET /v1/kv/<prefix>?recurse`); the
 * handler gets the list, or `null` when nothing is under the prefix.
 *
 * @module
 */
import { escapePath } from "../../lib/url-path.js";
import { entity, isObj, list, str } from "../entities.js";
import { goKvPair } from "./key.js";
import { QUERY_BASE, requiredString, type WatchTypeSpec } from "./spec.js";

export const keyprefix: WatchTypeSpec = {
  parse(p) {
    const stale = p.bool("stale") ?? false;
    const prefix = requiredString(p, "prefix");
    return { ...QUERY_BASE, stale, prefix };
  },
  request: (q) => ({
    path: `/v1/kv/${escapePath(q.prefix ?? "")}`,
    query: { recurse: "" },
    notFoundIsEmpty: true,
  }),
  losslessJson: true,
  shape: (body) => (Array.isArray(body) && body.length > 0 ? body.map(goKvPair) : null),
  entities: (result) =>
    list(result)
      .filter(isObj)
      .map((kv) => entity(str(kv["Key"]), kv)),
  model: "state",
  indexOrdered: true,
};
