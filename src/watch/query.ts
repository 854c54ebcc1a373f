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
  /** Hash-blocking types: the answer's `ContentHash`, to block on next (`index` is it folded). */
  readonly hash?: string;
}

export interface QueryOptions {
  readonly index: bigint;
  /** Hash-blocking types: the `ContentHash` of the last answer; blocks when set with `index > 0`. */
  readonly hash?: string;
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
  const byHash = spec.blockOn === "hash";
  const blocking = options.index > 0n && (!byHash || options.hash !== undefined);
  const query: WatchRequestQuery = {
    ...req.query,
    ...(q.datacenter ? { dc: q.datacenter } : {}),
    ...(q.stale ? { stale: "" } : {}),
    // `?token=` wins over the client's own X-Consul-Token in Consul's lookup order.
    ...(q.token ? { token: q.token } : {}),
    ...(blocking
      ? {
          ...(byHash ? { hash: options.hash } : { index: options.index.toString() }),
          wait: `${Math.round(options.waitMs)}ms`,
        }
      : {}),
  };
  // Consul answers within wait + wait/16; leave room for that and a slow network.
  const timeoutMs = blocking ? options.waitMs + options.waitMs / 16 + 15_000 : 30_000;
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
  if (byHash) {
    const body = res.json<unknown>();
    const hash = contentHashOf(body);
    return { index: foldHash(hash), hash, result: spec.shape(body), ...leaderless };
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

/** The Go client reads `ContentHash` from the body (api.AgentService); without it nothing blocks. */
function contentHashOf(body: unknown): string {
  const hash =
    typeof body === "object" && body !== null
      ? (body as Record<string, unknown>)["ContentHash"]
      : undefined;
  if (typeof hash !== "string" || hash === "")
    throw new AugurError("INTERNAL", "Failed to read ContentHash: the answer has none");
  return hash;
}

/**
 * A content hash as a plan index: Consul's is a uint64 in hex, which fits; anything longer is
 * folded (FNV-1a over its bytes). Only compared for equality.
 */
function foldHash(hash: string): bigint {
  if (/^[0-9a-f]{1,16}$/.test(hash)) return BigInt(`0x${hash}`);
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(hash, "utf8"))
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & ((1n << 64n) - 1n);
  return h;
}
