/**
 * The one place where errors become HTTP responses, in Consul's words and status codes. Route
 * handlers throw AugurErrors; fastify's own errors (body too large, bad URL) are mapped here too.
 *
 * @module
 */
import { AugurError, toAugurError } from "../lib/errors.js";

export interface ErrorResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Fastify's error codes that a client can cause, with Consul's answer for each. */
function fromFastify(err: { code?: unknown; message: string }): AugurError | undefined {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AugurError("TOO_LARGE", "Request body too large");
    case "FST_ERR_BAD_URL":
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AugurError("BAD_REQUEST", `Request decode failed: ${err.message}`);
    default:
      return undefined;
  }
}

export function errorResponse(err: unknown): ErrorResponse {
  let augur: AugurError;
  if (err instanceof AugurError) augur = err;
  else if (err instanceof Error && "code" in err) augur = fromFastify(err as Error & { code?: unknown }) ?? toAugurError(err);
  else augur = toAugurError(err);
  return { status: augur.status, body: augur.message, headers: augur.headers };
}
