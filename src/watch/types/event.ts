/**
 * `type = "event"`: user events (`GET /v1/event/list`, all or one `name`); the handler gets the
 * events it has not seen yet. Events are occurrences, not state: each is reported once, and the
 * index is random (see event-index.ts), so it never "goes backwards".
 *
 * @module
 */
import { entity, isObj, list, str } from "../entities.js";
import { QUERY_BASE, passThrough, type WatchTypeSpec } from "./spec.js";

export const event: WatchTypeSpec = {
  // Consul: "The stale setting doesn't apply to events", so `stale` is an invalid parameter here,
  // and so is `filter`.
  parse(p) {
    const name = p.string("name");
    return { ...QUERY_BASE, ...(name !== undefined && name !== "" ? { name } : {}) };
  },
  request: (q) => ({
    path: "/v1/event/list",
    query: q.name !== undefined ? { name: q.name } : {},
    notFoundIsEmpty: false,
  }),
  losslessJson: false,
  shape: passThrough,
  entities: (result) =>
    list(result)
      .filter(isObj)
      .map((ev) => entity(str(ev["ID"]), ev)),
  model: "occurrences",
  indexOrdered: false,
};
