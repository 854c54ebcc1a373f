/**
 * One blocking request per watch type, as Consul's api/watch/funcs.go makes it through the Go
 * client, against any Consul-compatible HTTP API. The result is what Consul hands its handlers:
 * the decoded answer, re-shaped where the Go client's structs reorder it (KV pairs), `null` for a
 * missing key or an empty prefix.
 *
 * @module
 */
import { parseJsonLossless } from "../lib/lossless-json.js";
import type { ConsulClient } from "../client/consul-client.js";
import type { ClientResponse } from "../client/response.js";
import { escapePath } from "../client/consul-client.js";
import { AugurError } from "../lib/errors.js";
import type { WatchQuery } from "./types.js";

/**
 * What a plan needs from its source: one request, answered as Consul's HTTP API answers it. A
 * {@link ConsulClient} (the CLI, and watches of another datacenter), or the agent's in-process
 * source (api/in-process-source.ts), which runs the same route handlers without a socket.
 */
export type WatchSource = Pick<ConsulClient, "request">;

export interface QueryResult {
  /** `X-Consul-Index`; a bigint because event indexes use all 64 bits. */
  readonly index: bigint;
  readonly result: unknown;
  /** `X-Consul-KnownLeader: false`: the agent answered from data it cannot confirm is current. */
  readonly noKnownLeader?: true;
}

export interface QueryOptions {
  readonly index: bigint;
  readonly waitMs: number;
  readonly signal?: AbortSignal;
}

type Query = Record<string, string | string[] | undefined>;

/** The request a watch type makes: path, extra query parameters, whether a 404 means "nothing". */
function requestFor(q: WatchQuery): { path: string; query: Query; notFoundIsEmpty: boolean } {
  const filter = q.filter !== undefined ? { filter: q.filter } : {};
  switch (q.type) {
    case "key":
      return { path: `/v1/kv/${escapePath(q.key ?? "")}`, query: {}, notFoundIsEmpty: true };
    case "keyprefix":
      return { path: `/v1/kv/${escapePath(q.prefix ?? "")}`, query: { recurse: "" }, notFoundIsEmpty: true };
    case "services":
      return { path: "/v1/catalog/services", query: filter, notFoundIsEmpty: false };
    case "nodes":
      return { path: "/v1/catalog/nodes", query: filter, notFoundIsEmpty: false };
    case "service":
      // api.Health.ServiceMultipleTags: one `tag` per tag, `passing=1` for passingonly.
      return {
        path: `/v1/health/service/${escapePath(q.service ?? "")}`,
        query: { ...(q.tags.length > 0 ? { tag: [...q.tags] } : {}), ...(q.passingOnly ? { passing: "1" } : {}), ...filter },
        notFoundIsEmpty: false,
      };
    case "checks":
      return q.service !== undefined
        ? { path: `/v1/health/checks/${escapePath(q.service)}`, query: filter, notFoundIsEmpty: false }
        : { path: `/v1/health/state/${escapePath(q.state ?? "any")}`, query: filter, notFoundIsEmpty: false };
    case "event":
      return { path: "/v1/event/list", query: q.name !== undefined ? { name: q.name } : {}, notFoundIsEmpty: false };
  }
}

/** Runs one (blocking when `index > 0`) request and returns the index and Consul's handler payload. */
export async function runQuery(source: WatchSource, q: WatchQuery, options: QueryOptions): Promise<QueryResult> {
  const req = requestFor(q);
  const query: Query = {
    ...req.query,
    ...(q.datacenter ? { dc: q.datacenter } : {}),
    ...(q.stale ? { stale: "" } : {}),
    // `?token=` wins over the client's own X-Consul-Token in Consul's lookup order.
    ...(q.token ? { token: q.token } : {}),
    ...(options.index > 0n ? { index: options.index.toString(), wait: `${Math.round(options.waitMs)}ms` } : {}),
  };
  // Consul answers within wait + wait/16; leave room for that and a slow network.
  const timeoutMs = options.index > 0n ? options.waitMs + options.waitMs / 16 + 15_000 : 30_000;
  const res = await source.request("GET", req.path, { query, timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
  const leaderless = res.headers.get("x-consul-knownleader") === "false" ? ({ noKnownLeader: true } as const) : {};
  if (res.status === 404 && req.notFoundIsEmpty) return { index: indexOf(res), result: null, ...leaderless };
  if (res.status < 200 || res.status > 299) {
    throw new AugurError("INTERNAL", `Unexpected response code: ${res.status} (${res.text().trim()})`);
  }
  const index = indexOf(res);
  // Exact where it matters: a KV pair's Flags is a uint64, and a handler must get the number
  // Consul would send. Other answers have no such field; they skip the slower lossless parse,
  // which a 16-digit run in a check's output would otherwise trigger on every fire.
  const body = q.type === "key" || q.type === "keyprefix" ? parseJsonLossless(res.text()) : res.json<unknown>();
  return { index, result: shapeResult(q, body), ...leaderless };
}

function indexOf(res: ClientResponse): bigint {
  const raw = res.headers.get("x-consul-index");
  if (raw === null || !/^\d{1,20}$/.test(raw)) throw new AugurError("INTERNAL", `Failed to parse X-Consul-Index: ${JSON.stringify(raw ?? "")}`);
  return BigInt(raw);
}

/** Re-shapes the answer as the Go client's structs and Go's encoder would hand it over. */
function shapeResult(q: WatchQuery, body: unknown): unknown {
  switch (q.type) {
    case "key":
      return Array.isArray(body) && body.length > 0 ? goKvPair(body[0]) : null;
    case "keyprefix":
      return Array.isArray(body) && body.length > 0 ? body.map(goKvPair) : null;
    case "services":
      return sortedMap(body);
    default:
      return body ?? [];
  }
}

/** api.KVPair field order (Key, CreateIndex, ModifyIndex, LockIndex, Flags, Value, Session). */
function goKvPair(raw: unknown): unknown {
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

/** Go encodes maps with sorted keys. */
function sortedMap(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body ?? {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(body).sort()) out[k] = (body as Record<string, unknown>)[k];
  return out;
}
