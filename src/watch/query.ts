/**
 * One blocking request per watch type, as Consul's api/watch/funcs.go makes it through the Go
 * client, against any Consul-compatible HTTP API. The type's spec (`types/<type>.ts`) gives the
 * path and its own parameters; the generic ones (`dc`, `stale`, `token`, `index`, `wait`) are
 * added here. The result is what Consul hands its handlers: the decoded answer, re-shaped by the
 * spec where the Go client's structs reorder it (KV pairs), `null` for a missing key or an empty
 * prefix.
 *
 * @module
 */
import { parseJsonLossless } from "../lib/lossless-json.js";
import type { SourceResponse, WatchSource } from "./source.js";
import { AugurError } from "../lib/errors.js";
import type { WatchQuery } from "./types.js";
import { watchTypeSpec, type WatchRequestQuery } from "./types/index.js";

/**
 * What a plan needs from its source (watch/source.ts): one request, answered as Consul's HTTP
 * API answers it. The HTTP client (the CLI, and watches of another datacenter), or the agent's
 * in-process source (api/in-process-source.ts), which runs the same route handlers without a
 * socket.
 */
export type { WatchSource };

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

/** Runs one (blocking when `index > 0`) request and returns the index and Consul's handler payload. */
export async function runQuery(
  source: WatchSource,
  q: WatchQuery,
  options: QueryOptions,
): Promise<QueryResult> {
  const spec = watchTypeSpec(q.type);
  const req = spec.request(q);
  const query: WatchRequestQuery = {
    ...req.query,
    ...(q.datacenter ? { dc: q.datacenter } : {}),
    ...(q.stale ? { stale: "" } : {}),
    // `?token=` wins over the client's own X-Consul-Token in Consul's lookup order.
    ...(q.token ? { token: q.token } : {}),
    ...(options.index > 0n
      ? { index: options.index.toString(), wait: `${Math.round(options.waitMs)}ms` }
      : {}),
  };
  // Consul answers within wait + wait/16; leave room for that and a slow network.
  const timeoutMs = options.index > 0n ? options.waitMs + options.waitMs / 16 + 15_000 : 30_000;
  const res = await source.request("GET", req.path, {
    query,
    timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const leaderless =
    res.headers.get("x-consul-knownleader") === "false" ? ({ noKnownLeader: true } as const) : {};
  if (res.status === 404 && req.notFoundIsEmpty)
    return { index: indexOf(res), result: null, ...leaderless };
  if (res.status < 200 || res.status > 299) {
    throw new AugurError(
      "INTERNAL",
      `Unexpected response code: ${res.status} (${res.text().trim()})`,
    );
  }
  const index = indexOf(res);
  // Exact where it matters (the spec says where): a KV pair's Flags is a uint64, and a handler
  // must get the number Consul would send. Other answers have no such field; they skip the
  // slower lossless parse, which a 16-digit run in a check's output would otherwise trigger on
  // every fire.
  const body = spec.losslessJson ? parseJsonLossless(res.text()) : res.json<unknown>();
  return { index, result: spec.shape(body), ...leaderless };
}

function indexOf(res: SourceResponse): bigint {
  const raw = res.headers.get("x-consul-index");
  if (raw === null || !/^\d{1,20}$/.test(raw))
    throw new AugurError(
      "INTERNAL",
      `Failed to parse X-Consul-Index: ${JSON.stringify(raw ?? "")}`,
    );
  return BigInt(raw);
}
