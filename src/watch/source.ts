/**
 * What a watch reads from: the port the watch engine defines and its sources implement. The
 * HTTP client (`client/ConsulClient`, for `augur watch` and watches of another datacenter) and
 * the agent's in-process source (`api/in-process-source.ts`) both fit it; main.ts picks which a
 * watch gets. Defined here, below both, so the watch engine imports neither.
 *
 * @module
 */

export type SourceMethod = "GET" | "PUT" | "POST" | "DELETE";

export interface SourceRequestOptions {
  /** Query parameters; undefined values are skipped, arrays repeat, `""` sends the bare key. */
  query?: Record<string, string | string[] | undefined>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Overrides the source's timeout for this request; 0 means none. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** One answer, body fully read. Non-2xx statuses are answers too; the caller decides. */
export interface SourceResponse {
  readonly status: number;
  readonly headers: Headers;
  /** `X-Consul-Index` as a number; undefined when absent or malformed. */
  readonly index: number | undefined;
  readonly body: Buffer;
  /** Parses the body as JSON (throws REMOTE_ERROR with the body's start when it is not JSON). */
  json<T = unknown>(): T;
  /** The body as UTF-8 text. */
  text(): string;
}

/** A Consul-compatible HTTP API, reached one way or another. */
export interface WatchSource {
  request(
    method: SourceMethod,
    path: string,
    options?: SourceRequestOptions,
  ): Promise<SourceResponse>;
}
