/**
 * The contract every watch type fills in: the one place that says what a `type = "..."` watch
 * reads, asks and reports. Consul keeps the same table in api/watch/funcs.go (one factory per
 * type); augur's spec adds how a result is split into entities and how its index and changes
 * behave, which Consul's plan does not need because it only re-fires the whole result.
 *
 * A spec file holds nothing but its type; the registry (`index.ts`) lists them.
 *
 * @module
 */
import { bad, type Params } from "../params.js";
import type { Entity } from "../entities.js";
import type { WatchQuery } from "../types.js";

/** What a type's factory reads; the generic `type`, `datacenter` and `token` are read before it. */
export type WatchQueryParams = Omit<WatchQuery, "type" | "datacenter" | "token">;

/** Extra query parameters; a list becomes one parameter per item (`tag=a&tag=b`). */
export type WatchRequestQuery = Record<string, string | string[] | undefined>;

/** The blocking request of one watch, before the generic `dc`, `stale`, `token`, `index`, `wait`. */
export interface WatchRequest {
  readonly path: string;
  readonly query: WatchRequestQuery;
  /** A 404 means "nothing there" (a missing key, an empty prefix), not an error. */
  readonly notFoundIsEmpty: boolean;
}

export interface WatchTypeSpec {
  /**
   * Consul's factory for the type: reads the type's own parameters from `p` (each read consumes
   * the key; what is left is reported as `Invalid parameters`) and throws Consul's error text for
   * a missing or conflicting one. Every field it returns joins the watch's identity, so a field
   * must stay absent, not `undefined`, when unset.
   */
  readonly parse: (p: Params) => WatchQueryParams;
  /** The request the Go client makes for this type (path, its own query parameters). */
  readonly request: (q: WatchQuery) => WatchRequest;
  /**
   * Parse the answer with the lossless parser: only answers with uint64 fields (a KV pair's
   * Flags) need it, and it is slower, so other types leave it off.
   */
  readonly losslessJson: boolean;
  /** Re-shapes the decoded answer into what Consul hands its handler (the Go client's structs). */
  readonly shape: (body: unknown) => unknown;
  /** The entities of one shaped result: the things whose changes are reported one by one. */
  readonly entities: (result: unknown, maintenanceAware: boolean) => Iterable<Entity>;
  /**
   * `state`: a result is the current state; changes are reported against what handlers were
   * last told, through hold, flap detection and quiet periods.
   * `occurrences`: a result lists things that happened (user events); each is reported once,
   * when first seen, with the payload listing only the new ones. Hold and flap detection do not
   * apply, and the ids already seen are persisted instead of entity states.
   */
  readonly model: "state" | "occurrences";
  /**
   * `X-Consul-Index` only grows, so a lower one means the source was reset (a snapshot restore)
   * and the plan starts over from 0. False for events: their index is the last event's UUID
   * folded to 64 bits (see event-index.ts), random, comparable only for equality.
   */
  readonly indexOrdered: boolean;
  /**
   * `hash`: agent-local answers have no index; the request blocks on the body's `ContentHash`
   * (`?hash=`), as Consul's WaitHashVal. The plan's index is then that hash folded to 64 bits,
   * used only for equality (so `indexOrdered` is false). Default: `X-Consul-Index`.
   */
  readonly blockOn?: "hash";
}

/** A required string parameter, with Consul's `Must specify a single <name> to watch`. */
export function requiredString(p: Params, name: string): string {
  const v = p.string(name) ?? "";
  if (v === "") throw bad(`Must specify a single ${name} to watch`);
  return v;
}

/** `filter` (Consul 1.14.8+, services/nodes/service/checks): present only when non-empty. */
export function readFilter(p: Params): { filter?: string } {
  const f = p.string("filter");
  return f !== undefined && f !== "" ? { filter: f } : {};
}

/** The `filter` query parameter of a request, when the watch has one. */
export function filterQuery(q: WatchQuery): { filter?: string } {
  return q.filter !== undefined ? { filter: q.filter } : {};
}

/** The factory of a list that takes only `stale` and `filter` (services, nodes). */
export const parseStaleAndFilter = (p: Params): WatchQueryParams => ({
  ...QUERY_BASE,
  stale: p.bool("stale") ?? false,
  ...readFilter(p),
});

/** The fields every factory fills in, with Consul's zero values. */
export const QUERY_BASE = { tags: [] as string[], passingOnly: false, stale: false };

/** Answers that are lists or objects as the API sends them: a missing body is an empty list. */
export const passThrough = (body: unknown): unknown => body ?? [];
