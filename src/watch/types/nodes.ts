/**
 * `type = "nodes"`: the catalog's nodes (`GET /v1/catalog/nodes`); the handler gets `[Node]`.
 *
 * @module
 */
import { entity, isObj, list, str } from "../entities.js";
import { filterQuery, parseStaleAndFilter, passThrough, type WatchTypeSpec } from "./spec.js";

export const nodes: WatchTypeSpec = {
  parse: parseStaleAndFilter,
  request: (q) => ({ path: "/v1/catalog/nodes", query: filterQuery(q), notFoundIsEmpty: false }),
  losslessJson: false,
  shape: passThrough,
  entities: (result) =>
    list(result)
      .filter(isObj)
      .map((n) => entity(str(n["Node"]), n)),
  model: "state",
  indexOrdered: true,
};
