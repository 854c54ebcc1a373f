/**
 * One error type for all of augur. Every failure that crosses a layer boundary is an
 * {@link AugurError} with a stable `code`; foreign errors (file system, child processes, etcd,
 * HTTP) are converted at the adapter that met them. The HTTP layer has a single mapper that
 * turns a code into Consul's status and wording (see `ERRORS`).
 *
 * @module
 */

/** What each code means to a client: the HTTP status Consul answers with and whether a retry can help. */
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  /** One line for docs/errors.md. */
  readonly summary: string;
}

/**
 * The table of every error code. Keep docs/errors.md in step: a test compares them.
 * Statuses follow Consul: validation that Consul does in its HTTP layer is 400, validation Consul
 * does deeper in the RPC layer (catalog/register, session/create) is 500.
 */
export const ERRORS = {
  BAD_REQUEST: {
    status: 400,
    retryable: false,
    summary: "The request is malformed: bad JSON, a wrong type, or a bad parameter.",
  },
  NOT_FOUND: {
    status: 404,
    retryable: false,
    summary: "The named object (service, check, session) does not exist.",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    retryable: false,
    summary: "The endpoint exists but not for this HTTP method.",
  },
  CONFLICT: {
    status: 409,
    retryable: false,
    summary: "A transaction's compare failed; nothing was written.",
  },
  TOO_LARGE: {
    status: 413,
    retryable: false,
    summary:
      "A request is over a size limit: a KV value over 512 KiB, a transaction over 128 operations (on etcd, also one touching more than 128 keys), a body over 1 MiB, a JSON body with more than 10,000 object members or 100,000 values, transaction `get-tree` results past 1,000 entries, a snapshot over 256 MiB.",
  },
  ACL_DISABLED: {
    status: 401,
    retryable: false,
    summary:
      "An ACL endpoint was called while ACLs are off: `ACL support disabled`, as Consul answers.",
  },
  PERMISSION_DENIED: { status: 403, retryable: false, summary: "The ACL token may not do this." },
  INVALID_STATE: {
    status: 500,
    retryable: false,
    summary: "The request is well-formed but not valid now (Consul reports these as 500).",
  },
  UNKNOWN_DATACENTER: {
    status: 500,
    retryable: false,
    summary: "The `dc` parameter names a datacenter this agent cannot reach.",
  },
  NO_LEADER: {
    status: 500,
    retryable: true,
    summary: "The store has no leader or is unreachable; retry later.",
  },
  STORE_COMPACTED: {
    status: 500,
    retryable: true,
    summary: "A watch asked for a revision the store has compacted; resync from a newer one.",
  },
  STORE_CLOSED: {
    status: 500,
    retryable: false,
    summary: "The store was closed while a call was in flight.",
  },
  STORE_IO: {
    status: 500,
    retryable: true,
    summary: "The store failed to read or write its files.",
  },
  CONTENDED: {
    status: 500,
    retryable: true,
    summary: "A write kept conflicting with concurrent writes to the same keys and gave up; retry.",
  },
  UNREACHABLE: {
    status: 500,
    retryable: true,
    summary: "A request to an agent failed in transport: refused, reset, timed out or aborted.",
  },
  REMOTE_ERROR: {
    status: 500,
    retryable: true,
    summary:
      "The agent a client called answered with a server error (5xx, 429) or a body that is not JSON.",
  },
  CONFIG_INVALID: {
    status: 500,
    retryable: false,
    summary: "A config file or flag is malformed or has a wrong type.",
  },
  JOIN_FAILED: {
    status: 500,
    retryable: true,
    summary:
      "start_join or retry_join found no agent to learn the etcd endpoints from, or `agent/join` named an agent that does not share this agent's etcd and prefix.",
  },
  CHECK_UNSUPPORTED: {
    status: 400,
    retryable: false,
    summary:
      "A check of a type augur does not run (docker, os_service) was refused; nothing was registered.",
  },
  CHECK_SCRIPTS_DISABLED: {
    status: 400,
    retryable: false,
    summary: "A script check was registered while script checks are disabled.",
  },
  INTERNAL: {
    status: 500,
    retryable: false,
    summary: "A bug in augur; the message says what happened.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export interface AugurErrorOptions {
  cause?: unknown;
  /** Overrides the table's status where Consul uses another for this one case. */
  status?: number;
  /** Extra headers to send with the HTTP response (for example `Allow` on a 405). */
  headers?: Record<string, string>;
}

/** The one error class. `message` is the text a client sees, worded as Consul words it. */
export class AugurError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: AugurErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AugurError";
    this.code = code;
    this.status = options.status ?? ERRORS[code].status;
    this.retryable = ERRORS[code].retryable;
    this.headers = options.headers ?? {};
  }
}

/** Shorthand constructors for the common cases. */
export const badRequest = (message: string, cause?: unknown): AugurError =>
  new AugurError("BAD_REQUEST", message, { cause });
export const notFound = (message: string): AugurError => new AugurError("NOT_FOUND", message);
export const invalidState = (message: string): AugurError =>
  new AugurError("INVALID_STATE", message);

export function isAugurError(err: unknown, code?: ErrorCode): err is AugurError {
  return err instanceof AugurError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into an AugurError, keeping AugurErrors as they are. */
export function toAugurError(err: unknown): AugurError {
  if (err instanceof AugurError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AugurError("INTERNAL", message, { cause: err });
}
