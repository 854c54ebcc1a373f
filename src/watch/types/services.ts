/**
 * `type = "services"`: the catalog's service names (`GET /v1/catalog/services`); the handler
 * gets `{name: [tags]}`, key-sorted as Go encodes a map.
 *
 * @module
 */
import { entity, isObj } from "../entities.js";
import { filterQuery, parseStaleAndFilter, type WatchTypeSpec } from "./spec.js";

export const services: WatchTypeSpec = {
  parse: parseStaleAndFilter,
  request: (q) => ({ path: "/v1/catalog/services", query: filterQuery(q), notFoundIsEmpty: false }),
  losslessJson: false,
  shape: sortedMap,
  entities: (result) =>
    isObj(result) ? Object.entries(result).map(([name, tags]) => entity(name, tags)) : [],
  model: "state",
  indexOrdered: true,
};

/** Go encodes maps with sorted keys. */
function sortedMap(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body ?? {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(body).sort()) out[k] = (body as Record<string, unknown>)[k];
  return out;
}
