/**
 * The one place where errors become HTTP responses, in Consul's words and status codes. Route
 * handlers and the server (a body too large, a malformed URL) throw AugurErrors; anything else
 * is a bug, answered 500 with its message.
 *
 * @module
 */
import { toAugurError } from "../lib/errors.js";

export interface ErrorResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function errorResponse(err: unknown): ErrorResponse {
  const augur = toAugurError(err);
  return { status: augur.status, body: augur.message, headers: augur.headers };
}
