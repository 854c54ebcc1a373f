/**
 * A parsed API request: the URL-decoded path remainder after the route prefix, the query,
 * the body bytes, and the readers for Consul's query parameters. Parameter errors are thrown as
 * AugurErrors worded as Consul words them.
 *
 * @module
 */
import { parseGoDuration } from "../lib/duration.js";
import { AugurError, badRequest } from "../lib/errors.js";
import { ALLOW_ALL, type Authorizer } from "../lib/acl-authorizer.js";
import { goJsonSyntaxError } from "../lib/go-json-syntax.js";
import {
  JSON_MAX_MEMBERS,
  JSON_MAX_VALUES,
  jsonBodyProblem,
  type JsonBodyProblem,
} from "../lib/json-body.js";

/**
 * Turns a request's token into its authorizer (catalog/acl-store.ts behind it); absent while ACLs
 * are off, and then every request is allowed everything without a lookup.
 */
export type TokenResolver = (token: string | undefined) => Authorizer;

/** Consul's default and maximum blocking wait (agent/consul/rpc.go). */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

/** `default_query_time` / `max_query_time`: a blocking query's wait without `?wait`, and its cap. */
export interface QueryTimes {
  readonly defaultMs: number;
  readonly maxMs: number;
}

const CONSUL_QUERY_TIMES: QueryTimes = { defaultMs: DEFAULT_WAIT_MS, maxMs: MAX_WAIT_MS };

/** Go's strconv.ParseBool accepts exactly these spellings. */
const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

export interface BlockingOptions {
  /** 0 means "do not block". */
  readonly minIndex: number;
  readonly waitMs: number;
}

/** Query parsing is skipped for the many requests without a query string (a plain KV GET). */
const NO_QUERY = new URLSearchParams();

export class ApiRequest {
  readonly method: string;
  /** The URL-decoded path after the route's prefix ("" when none). */
  readonly rest: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw query string (after `?`), parsed on first use. */
  readonly #rawQuery: string;
  #query: URLSearchParams | undefined;
  readonly #queryTimes: QueryTimes;
  readonly #resolver: TokenResolver | undefined;
  #authorizer: Authorizer | undefined;

  constructor(
    method: string,
    rest: string,
    rawQuery: string,
    body: Buffer,
    headers: Record<string, string | string[] | undefined>,
    /** The agent's query times (Consul's 5 and 10 minutes unless configured). */
    queryTimes: QueryTimes = CONSUL_QUERY_TIMES,
    resolver?: TokenResolver,
  ) {
    this.#queryTimes = queryTimes;
    this.#resolver = resolver;
    this.method = method;
    this.rest = rest;
    this.#rawQuery = rawQuery;
    this.body = body;
    this.headers = headers;
  }

  /** The parsed query (read-only: an empty query shares one instance). */
  get query(): URLSearchParams {
    return (this.#query ??= this.#rawQuery === "" ? NO_QUERY : new URLSearchParams(this.#rawQuery));
  }

  /** A presence-only flag such as `?pretty`, `?recurse`, `?stale` (any value, even empty). */
  flag(name: string): boolean {
    return this.#rawQuery !== "" && this.query.has(name);
  }

  /** A single query value, or undefined when absent. */
  param(name: string): string | undefined {
    return this.#rawQuery === "" ? undefined : (this.query.get(name) ?? undefined);
  }

  /** Every value of a repeatable parameter (`tag`, `node-meta`). */
  params(name: string): string[] {
    return this.#rawQuery === "" ? [] : this.query.getAll(name);
  }

  /** A Go ParseBool parameter; `emptyMeans` is used for `?passing` given without a value. */
  bool(name: string, error: (raw: string) => string, emptyMeans?: boolean): boolean | undefined {
    const raw = this.param(name);
    if (raw === undefined) return undefined;
    if (raw === "" && emptyMeans !== undefined) return emptyMeans;
    const value = parseGoBool(raw);
    if (value === undefined) throw badRequest(error(raw));
    return value;
  }

  /** An unsigned integer parameter (`cas`, `flags`); a bad one is a 400 with `message`. */
  uint(name: string, message: string): number | undefined {
    const raw = this.param(name);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw badRequest(message);
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw badRequest(message);
    return n;
  }

  /** `index` and `wait` for a blocking query (agent/http.go parseWait). */
  blocking(): BlockingOptions {
    const rawWait = this.param("wait");
    const rawIndex = this.param("index");
    const { defaultMs, maxMs } = this.#queryTimes;
    let waitMs = Math.min(defaultMs, maxMs);
    if (rawWait !== undefined) {
      const ms = parseGoDuration(rawWait);
      if (ms === undefined || ms < 0) throw badRequest("Invalid wait time");
      waitMs = Math.min(ms === 0 ? defaultMs : ms, maxMs);
    }
    let minIndex = 0;
    if (rawIndex !== undefined) {
      if (
        !/^\d+$/.test(rawIndex) ||
        rawIndex.length > 20 ||
        BigInt(rawIndex) > 0xffffffffffffffffn
      ) {
        throw badRequest("Invalid index");
      }
      // Indexes above 2^53 cannot come from augur's stores; clamp so comparisons stay exact.
      minIndex = Math.min(Number(rawIndex), Number.MAX_SAFE_INTEGER);
    }
    return { minIndex, waitMs };
  }

  /** The ACL token: `?token=`, then `X-Consul-Token`, then `Authorization: Bearer`. */
  token(): string | undefined {
    const fromQuery = this.param("token");
    if (fromQuery) return fromQuery;
    const header = this.header("x-consul-token");
    if (header) return header;
    const auth = this.header("authorization");
    const m = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth);
    return m?.[1];
  }

  /** True when ACLs are enforced (lists then say whether they were filtered). */
  get aclEnabled(): boolean {
    return this.#resolver !== undefined;
  }

  /**
   * The request's ACL authorizer, resolved once per request; everything is allowed while ACLs
   * are off. An unknown token throws Consul's 403 `ACL not found`.
   */
  authorizer(): Authorizer {
    if (this.#resolver === undefined) return ALLOW_ALL;
    return (this.#authorizer ??= this.#resolver(this.token()));
  }

  /**
   * The authorizer of another token than the request's (a prepared query's own `Token`); an
   * unknown one throws `ACL not found`.
   */
  authorizerFor(token: string): Authorizer {
    return this.#resolver === undefined ? ALLOW_ALL : this.#resolver(token);
  }

  header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /** The body parsed as JSON; an empty body is `undefined`. */
  json(): unknown {
    if (this.body.length === 0) return undefined;
    return parseJsonBody(this.body, "Request decode failed: ");
  }
}

/**
 * A JSON body parsed within lib/json-body.ts's bounds (413 past them), its syntax errors in the
 * words of Go's decoder, which Consul prints after `prefix` (`Request decode failed: invalid
 * character 'x' looking for beginning of value`, `... exceeded max depth`).
 */
export function parseJsonBody(
  body: Buffer,
  prefix: string,
  parse: (text: string) => unknown = JSON.parse,
): unknown {
  const problem = jsonBodyProblem(body);
  if (problem === "members" || problem === "values") throw tooComplex(problem);
  let cause: unknown;
  if (problem === undefined) {
    try {
      return parse(body.toString("utf8"));
    } catch (err) {
      cause = err;
    }
  }
  // Only for a refused body: Go's scanner is slower than JSON.parse (about 25 ms per MiB).
  const goText = goJsonSyntaxError(body);
  throw badRequest(`${prefix}${goText ?? (cause as Error).message}`, cause);
}

function tooComplex(problem: Exclude<JsonBodyProblem, "depth">): AugurError {
  const [limit, what] =
    problem === "members"
      ? [JSON_MAX_MEMBERS, "JSON object members"]
      : [JSON_MAX_VALUES, "JSON values"];
  return new AugurError("TOO_LARGE", `Request body too large: more than ${limit} ${what}`);
}

/** Go's URL path decoding; a malformed escape is a client error, not a crash. */
export function decodePath(raw: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new AugurError(
      "BAD_REQUEST",
      `Request decode failed: invalid URL escape in ${JSON.stringify(raw)}`,
      { cause: err },
    );
  }
}
