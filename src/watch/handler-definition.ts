/**
 * The handler half of a watch: Consul's `handler_type`, `args`, `handler`, `http_handler_config`
 * (agent.go reloadWatches / makeWatchPlan, api/watch/watch.go parseHttpHandlerConfig), plus
 * augur's per-handler delivery keys. Error texts are Consul's where Consul has one.
 *
 * @module
 */
import { parseGoDuration } from "../lib/duration.js";
import { bad, asObjectOrBlock, type Params } from "./params.js";
import { stableHash } from "./stable-hash.js";
import {
  WATCH_DEFAULTS,
  type HandlerDefinition,
  type PayloadMode,
  type RetryPolicy,
  type SigningOptions,
} from "./types.js";

export type HandlerType = "script" | "http";

type WithoutKey<T> = T extends unknown ? Omit<T, "key"> : never;

export interface HttpConfig {
  readonly url: string;
  readonly method: string;
  readonly header: Record<string, string[]>;
  readonly timeoutMs: number;
  readonly tlsSkipVerify: boolean;
}

/** The raw Consul handler parts of one watch (or one `handlers` item), before the checks. */
export interface HandlerParts {
  readonly handlerType: HandlerType;
  readonly http?: HttpConfig;
  readonly hasHandler: boolean;
  readonly handler?: unknown;
  readonly hasArgs: boolean;
  readonly args?: unknown;
}

/** augur's per-handler keys; unset ones fall back to the watch level, then to the defaults. */
export interface HandlerOptions {
  readonly payload?: PayloadMode;
  readonly timeoutMs?: number;
  readonly outputMaxSize?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly durable?: boolean;
  readonly signing?: SigningOptions;
}

/** Consul checks `handler_type` before anything else: `Handler type '<t>' not recognized`. */
export function readHandlerType(p: Params): HandlerType {
  if (!p.has("handler_type")) return "script";
  const t = p.take("handler_type");
  if (t !== "http" && t !== "script") throw bad(`Handler type '${String(t)}' not recognized`);
  return t;
}

/** api/watch ParseExempt: the http config is taken only for `handler_type: "http"`. */
export function readHttpConfig(p: Params, handlerType: HandlerType): HttpConfig | undefined {
  if (handlerType !== "http") return undefined;
  if (!p.has("http_handler_config"))
    throw bad("Handler type 'http' requires 'http_handler_config' to be set");
  const raw = asObjectOrBlock(p.take("http_handler_config"));
  const fail = (why: string): Error => bad(`Failed to parse 'http_handler_config': ${why}`);
  if (raw === undefined) throw fail("'' expected a map, got 'slice'");
  const str = (name: string): string => {
    const v = raw[name];
    if (v === undefined || v === null) return "";
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v); // mapstructure WeakDecode
    throw fail(
      `'${name}' expected type 'string', got unconvertible type '${Array.isArray(v) ? "[]interface {}" : "map[string]interface {}"}'`,
    );
  };
  const path = str("path");
  if (path === "") throw fail("Requires 'path' to be set");
  const timeoutRaw = str("timeout");
  let timeoutMs: number = WATCH_DEFAULTS.httpTimeoutMs;
  if (timeoutRaw !== "") {
    const ms = parseGoDuration(timeoutRaw);
    if (ms === undefined)
      throw fail(`Failed to parse timeout: time: invalid duration ${JSON.stringify(timeoutRaw)}`);
    timeoutMs = ms;
  }
  return {
    url: path,
    method: str("method") || "POST",
    header: readHeader(raw["header"], fail),
    timeoutMs,
    tlsSkipVerify: readSkipVerify(raw["tls_skip_verify"], fail),
  };
}

function readHeader(value: unknown, fail: (why: string) => Error): Record<string, string[]> {
  const obj = value === undefined || value === null ? {} : asObjectOrBlock(value);
  if (obj === undefined) throw fail("'header' expected a map, got 'slice'");
  const out: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(obj)) {
    const list = Array.isArray(v) ? (v as unknown[]) : [v];
    if (list.some((x) => typeof x !== "string"))
      throw fail(`'header[${name}]' expected type 'string'`);
    out[name] = list as string[];
  }
  return out;
}

/** Go's strconv.ParseBool, which mapstructure's WeakDecode uses for strings. */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

function readSkipVerify(value: unknown, fail: (why: string) => Error): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  const parsed = typeof value === "string" ? parseGoBool(value) : undefined;
  if (parsed === undefined) throw fail(`cannot parse 'tls_skip_verify' as bool`);
  return parsed;
}

/** Takes `handler` and `args` (Consul's exempt parameters). */
export function takeScriptParts(
  p: Params,
  handlerType: HandlerType,
  http: HttpConfig | undefined,
): HandlerParts {
  const hasHandler = p.has("handler");
  const hasArgs = p.has("args");
  return {
    handlerType,
    ...(http ? { http } : {}),
    hasHandler,
    handler: p.take("handler"),
    hasArgs,
    args: p.take("args"),
  };
}

/** True when the parts name any handler at all (used to reject mixing with `handlers`). */
export const partsNameAHandler = (parts: HandlerParts): boolean =>
  parts.hasHandler || parts.hasArgs || parts.handlerType === "http";

/**
 * Reads augur's per-handler keys. `kind` decides which keys a handler of that kind takes; `any`
 * (watch-level defaults for a `handlers` list) takes them all.
 */
export function readHandlerOptions(p: Params, kind: HandlerType | "any"): HandlerOptions {
  const payload = p.oneOf<PayloadMode>("payload", ["consul", "changes", "both"]);
  const timeoutMs = kind !== "http" ? p.duration("timeout") : undefined;
  const outputMaxSize = kind !== "http" ? p.count("output_max_size") : undefined;
  const durable = p.bool("durable");
  const retry: Partial<RetryPolicy> = {
    ...opt("initialIntervalMs", p.duration("retry_initial_interval")),
    ...opt("maxIntervalMs", p.duration("retry_max_interval")),
    ...opt("maxAttempts", p.count("retry_max_attempts")),
    ...opt("maxAgeMs", p.duration("retry_max_age")),
  };
  let signing: SigningOptions | undefined;
  if (kind !== "script") {
    const secretFile = p.string("signing_secret_file");
    const secretEnv = p.string("signing_secret_env");
    if (secretFile && secretEnv)
      throw bad("Only one of signing_secret_file and signing_secret_env allowed");
    if (secretFile) signing = { secretFile };
    else if (secretEnv) signing = { secretEnv };
  }
  return {
    ...opt("payload", payload),
    ...opt("timeoutMs", timeoutMs),
    ...opt("outputMaxSize", outputMaxSize),
    ...opt("durable", durable),
    retry,
    ...opt("signing", signing),
  };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** makeWatchPlan's checks, then the finished definition with defaults applied. */
export function assembleHandler(
  parts: HandlerParts,
  options: HandlerOptions,
  defaults: HandlerOptions = {},
): HandlerDefinition {
  if (parts.hasHandler && typeof parts.handler !== "string")
    throw bad("Watch handler must be a string");
  const args = parts.hasArgs ? parseWatchArgs(parts.args) : undefined;
  const isHttp = parts.handlerType === "http";
  if (
    (parts.hasHandler && parts.hasArgs) ||
    (parts.hasHandler && isHttp) ||
    (parts.hasArgs && isHttp)
  )
    throw bad("Only one watch handler allowed");
  if (!parts.hasHandler && !parts.hasArgs && !isHttp) throw bad("Must define a watch handler");
  const retry: RetryPolicy = {
    initialIntervalMs:
      options.retry?.initialIntervalMs ??
      defaults.retry?.initialIntervalMs ??
      WATCH_DEFAULTS.retryInitialIntervalMs,
    maxIntervalMs:
      options.retry?.maxIntervalMs ??
      defaults.retry?.maxIntervalMs ??
      WATCH_DEFAULTS.retryMaxIntervalMs,
    maxAttempts:
      options.retry?.maxAttempts ?? defaults.retry?.maxAttempts ?? WATCH_DEFAULTS.retryMaxAttempts,
    maxAgeMs: options.retry?.maxAgeMs ?? defaults.retry?.maxAgeMs ?? WATCH_DEFAULTS.retryMaxAgeMs,
  };
  const common = {
    payload: options.payload ?? defaults.payload ?? WATCH_DEFAULTS.payload,
    retry,
    durable: options.durable ?? defaults.durable ?? true,
  };
  const def: WithoutKey<HandlerDefinition> =
    isHttp && parts.http
      ? {
          kind: "http",
          ...common,
          timeoutMs: parts.http.timeoutMs,
          url: parts.http.url,
          method: parts.http.method,
          header: parts.http.header,
          tlsSkipVerify: parts.http.tlsSkipVerify,
          ...withSigning(options, defaults),
        }
      : {
          kind: "script",
          ...common,
          timeoutMs: options.timeoutMs ?? defaults.timeoutMs ?? WATCH_DEFAULTS.scriptTimeoutMs,
          outputMaxSize:
            options.outputMaxSize ?? defaults.outputMaxSize ?? WATCH_DEFAULTS.outputMaxSize,
          ...(args !== undefined ? { args } : { shellCommand: parts.handler as string }),
        };
  return { ...def, key: stableHash(def).slice(0, 12) } as HandlerDefinition;
}

function withSigning(
  options: HandlerOptions,
  defaults: HandlerOptions,
): { signing?: SigningOptions } {
  const signing = options.signing ?? defaults.signing;
  return signing ? { signing } : {};
}

/** agent/watch_handler.go parseWatchArgs: a string is a one-item list. */
function parseWatchArgs(args: unknown): string[] {
  if (typeof args === "string") return [args];
  if (Array.isArray(args) && args.every((a) => typeof a === "string")) {
    if (args.length === 0) throw bad("Watch args must not be empty");
    return args as string[];
  }
  throw bad("Watch args must be a list of strings");
}
