/**
 * What {@link ConsulClient.request} returns, and the error the typed helpers throw for a non-2xx
 * answer (worded as Consul's Go client words it, so CLI output matches `consul`'s).
 *
 * @module
 */
import { AugurError, type ErrorCode } from "../lib/errors.js";
import type { SourceResponse } from "../watch/source.js";

/**
 * One HTTP answer, body fully read: the watch engine's `SourceResponse` (watch/source.ts), which
 * this client is one source of. Non-2xx statuses are answers too; the caller decides.
 */
export type ClientResponse = SourceResponse;

/** Parses `X-Consul-Index` (a uint64 in decimal). */
export function parseIndexHeader(value: string | null): number | undefined {
  if (value === null || !/^\d{1,20}$/.test(value)) return undefined;
  return Number(value);
}

/** Builds a {@link ClientResponse} over a body that has been read. */
export function makeResponse(status: number, headers: Headers, body: Buffer): ClientResponse {
  return {
    status,
    headers,
    index: parseIndexHeader(headers.get("x-consul-index")),
    body,
    text: () => body.toString("utf8"),
    json<T = unknown>(): T {
      try {
        return JSON.parse(body.toString("utf8")) as T;
      } catch (err) {
        const start = body.toString("utf8", 0, 120);
        throw new AugurError(
          "REMOTE_ERROR",
          `Failed to decode response (status ${status}): ${start}`,
          {
            cause: err,
          },
        );
      }
    },
  };
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "BAD_REQUEST",
  401: "PERMISSION_DENIED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "TOO_LARGE",
};

/**
 * The code for an answer a helper did not expect: the client's own mistakes by their 4xx, and
 * the server's trouble (5xx, 429 and anything else) as REMOTE_ERROR, which a caller may retry.
 * Never INTERNAL: a bad answer from another agent is not a bug in this one.
 */
function codeForStatus(status: number): ErrorCode {
  const known = CODE_BY_STATUS[status];
  if (known) return known;
  return status >= 400 && status < 500 && status !== 429 ? "BAD_REQUEST" : "REMOTE_ERROR";
}

/**
 * A non-2xx answer to a typed helper. `message` is Consul's Go client wording,
 * `Unexpected response code: <status> (<body>)`; `status` is the server's status and
 * `responseText` its trimmed body.
 */
export class UnexpectedResponseError extends AugurError {
  readonly responseText: string;

  constructor(status: number, responseText: string) {
    super(codeForStatus(status), `Unexpected response code: ${status} (${responseText})`, {
      status,
    });
    this.responseText = responseText;
  }
}

/** Returns `res` when its status is 2xx; throws {@link UnexpectedResponseError} otherwise. */
export function requireOk(res: ClientResponse): ClientResponse {
  if (res.status >= 200 && res.status < 300) return res;
  throw new UnexpectedResponseError(res.status, res.text().trim());
}
