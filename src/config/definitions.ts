/**
 * Service and check definitions as Consul reads them from `PUT /v1/agent/service/register`,
 * `PUT /v1/agent/check/register` and the `services`/`checks` sections of config files
 * (agent/structs ServiceDefinition, CheckType.Validate, ValidateServiceMetadata). Keys match
 * case-insensitively and with or without underscores (`script_args`, `ScriptArgs`, `args`),
 * durations are Go strings or integer nanoseconds, unknown fields are ignored.
 *
 * @module
 */
import { isIP } from "node:net";
import { parseGoDuration } from "../lib/duration.js";
import { AugurError } from "../lib/errors.js";
import { pick, jsonType, type JsonObject } from "../lib/json-fields.js";
import {
  CHECK_STATUSES,
  DEFAULT_CHECK_TIMEOUT_MS,
  type CheckDefinition,
  type CheckStatus,
  type CheckType,
  type ServiceDefinition,
  type TaggedAddress,
} from "../catalog/types.js";

export interface DecodeOptions {
  /** Path prefix for error messages from config files, e.g. `services[0].`. */
  readonly path?: string;
  /** Makes errors CONFIG_INVALID (config files) instead of BAD_REQUEST (the HTTP API). */
  readonly config?: boolean;
}

const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;

class Reader {
  constructor(
    readonly obj: JsonObject,
    readonly options: DecodeOptions,
  ) {}

  fail(message: string): AugurError {
    return new AugurError(this.options.config ? "CONFIG_INVALID" : "BAD_REQUEST", message);
  }

  #typeError(field: string, v: unknown, expected: string): AugurError {
    const where = `${this.options.path ?? ""}${field}`;
    return this.fail(
      this.options.config
        ? `${where}: expected ${expected}, got ${jsonType(v)}`
        : `Request decode failed: ${where}: expected ${expected}, got ${jsonType(v)}`,
    );
  }

  str(...names: string[]): string | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw this.#typeError(names[0] ?? "", v, "string");
    return v;
  }

  int(...names: string[]): number | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v))
      throw this.#typeError(names[0] ?? "", v, "integer");
    return v;
  }

  bool(...names: string[]): boolean | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw this.#typeError(names[0] ?? "", v, "boolean");
    return v;
  }

  strings(...names: string[]): string[] | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return [v];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      throw this.#typeError(names[0] ?? "", v, "list of strings");
    return v as string[];
  }

  stringMap(...names: string[]): Record<string, string> | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v))
      throw this.#typeError(names[0] ?? "", v, "object of strings");
    for (const [k, val] of Object.entries(v))
      if (typeof val !== "string") throw this.#typeError(`${names[0] ?? ""}.${k}`, val, "string");
    return v as Record<string, string>;
  }

  /** A Go duration string or integer nanoseconds; "" and 0 mean unset. */
  duration(...names: string[]): number | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null || v === "" || v === 0) return undefined;
    if (typeof v === "number" && Number.isFinite(v)) return v / 1e6;
    if (typeof v === "string") {
      const ms = parseGoDuration(v);
      if (ms === undefined)
        throw this.fail(
          this.options.config
            ? `${this.options.path ?? ""}${names[0] ?? ""}: invalid duration ${JSON.stringify(v)}`
            : `Request decode failed: time: invalid duration ${JSON.stringify(v)}`,
        );
      return ms;
    }
    throw this.#typeError(names[0] ?? "", v, "duration");
  }

  object(...names: string[]): JsonObject | undefined {
    const v = pick(this.obj, ...names);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v))
      throw this.#typeError(names[0] ?? "", v, "object");
    return v as JsonObject;
  }
}

function asObject(raw: unknown, options: DecodeOptions, what: string): JsonObject {
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) return raw as JsonObject;
  const message = options.config
    ? `${options.path ?? ""}: expected an object, got ${jsonType(raw)}`
    : `Request decode failed: json: cannot unmarshal ${jsonType(raw)} into Go value of type ${what}`;
  throw new AugurError(options.config ? "CONFIG_INVALID" : "BAD_REQUEST", message);
}

/** Consul's ValidateServiceMetadata, worded as Consul words it. */
function validateMeta(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > META_MAX_PAIRS)
    return `Node metadata cannot contain more than ${META_MAX_PAIRS} key/value pairs`;
  for (const [k, v] of entries) {
    if (k === "") return "Key cannot be blank";
    if (k.length > META_KEY_MAX) return `Key is too long (limit: ${META_KEY_MAX} characters)`;
    if (!/^[A-Za-z0-9_-]+$/.test(k)) return "Key contains invalid characters";
    if (k.startsWith("consul-")) return "Key prefix 'consul-' is reserved for internal use";
    if (v.length > META_VALUE_MAX) return `Value is too long (limit: ${META_VALUE_MAX} characters)`;
  }
  return undefined;
}

function decodeTaggedAddresses(r: Reader): Record<string, TaggedAddress> | undefined {
  const obj = r.object("TaggedAddresses");
  if (!obj) return undefined;
  const out: Record<string, TaggedAddress> = {};
  for (const [k, v] of Object.entries(obj)) {
    const inner = new Reader(asObject(v, r.options, "structs.ServiceAddress"), r.options);
    out[k] = { Address: inner.str("Address") ?? "", Port: inner.int("Port") ?? 0 };
  }
  return out;
}

/** A check inside a service (or on its own). `generated` supplies Consul's default id and name. */
function decodeCheckFields(
  raw: unknown,
  options: DecodeOptions,
  generated: { id?: string; name?: string; serviceId?: string },
): CheckDefinition {
  const r = new Reader(asObject(raw, options, "structs.CheckType"), options);
  const args = r.strings("Args", "ScriptArgs");
  const http = r.str("HTTP");
  const tcp = r.str("TCP");
  const udp = r.str("UDP");
  const grpc = r.str("GRPC");
  const h2ping = r.str("H2PING");
  const aliasNode = r.str("AliasNode");
  const aliasService = r.str("AliasService");
  // Consul's CheckType.Validate tests TTL > 0 and Interval > 0: a negative one counts as unset.
  const positive = (ms: number | undefined): number | undefined =>
    ms !== undefined && ms > 0 ? ms : undefined;
  const ttlMs = positive(r.duration("TTL"));
  const intervalMs = positive(r.duration("Interval"));
  const outputMaxSize = r.int("OutputMaxSize");
  const osService = r.str("OSService");
  // Consul: a script check with a DockerContainerID runs inside that container (IsDocker); it
  // must never fall back to running the script on the host.
  const docker = !!r.str("DockerContainerID") && !!args && args.length > 0;
  const intervalCheck =
    (args && args.length > 0) || !!http || !!tcp || !!udp || !!grpc || !!h2ping || !!osService;
  const isAlias = !!aliasNode || !!aliasService;
  const invalid = (why: string): AugurError =>
    r.fail(
      options.config ? `${options.path ?? ""}: invalid check: ${why}` : `Invalid check: ${why}`,
    );
  if (intervalMs && ttlMs) throw invalid("Interval and TTL cannot both be specified");
  if (intervalCheck && !intervalMs)
    throw invalid("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks");
  if (intervalCheck && isAlias) throw invalid("Interval cannot be set for Alias checks");
  if (isAlias && ttlMs) throw invalid("TTL must be not be set for Alias checks");
  if (!intervalCheck && !isAlias && !ttlMs) throw invalid("TTL must be > 0 for TTL checks");
  if (outputMaxSize !== undefined && outputMaxSize < 0)
    throw invalid("MaxOutputMaxSize must be positive");
  const status = r.str("Status") || "critical";
  if (!CHECK_STATUSES.includes(status as CheckStatus))
    throw r.fail("Status for checks must 'passing', 'warning', 'critical'");
  const type: CheckType = ttlMs
    ? "ttl"
    : docker
      ? "docker"
      : args?.length
        ? "script"
        : osService
          ? "os_service"
          : http
            ? "http"
            : tcp
              ? "tcp"
              : udp
                ? "udp"
                : grpc
                  ? "grpc"
                  : h2ping
                    ? "h2ping"
                    : "alias";
  const failuresBeforeCritical = r.int("FailuresBeforeCritical") ?? 0;
  const header = r.object("Header");
  const def: Record<string, unknown> = {
    id: r.str("CheckID", "ID") || generated.id || r.str("Name") || "",
    name: r.str("Name") || generated.name || "",
    notes: r.str("Notes") ?? "",
    type,
    status,
    successBeforePassing: r.int("SuccessBeforePassing") ?? 0,
    failuresBeforeCritical,
    // Consul: failures_before_warning defaults to failures_before_critical.
    failuresBeforeWarning: r.int("FailuresBeforeWarning") ?? failuresBeforeCritical,
    // 0: not set; the agent applies check_output_max_size (Consul's 4096 by default) when it runs
    // the check, and a check's own value may only lower that.
    outputMaxSize: outputMaxSize || 0,
    ttlMs,
    intervalMs,
    // TTL and alias checks probe nothing: Consul reports no timeout for them unless one is given.
    timeoutMs:
      type === "ttl"
        ? undefined
        : (r.duration("Timeout") ?? (type === "alias" ? undefined : DEFAULT_CHECK_TIMEOUT_MS)),
    http,
    method: r.str("Method"),
    header: header ? decodeHeader(header, r) : undefined,
    body: r.str("Body"),
    disableRedirects: r.bool("DisableRedirects"),
    tlsServerName: r.str("TLSServerName"),
    tlsSkipVerify: r.bool("TLSSkipVerify"),
    tcp,
    tcpUseTls: r.bool("TCPUseTLS"),
    udp,
    grpc,
    grpcUseTls: r.bool("GRPCUseTLS"),
    h2ping,
    // Consul: h2ping_use_tls defaults to true for an H2PING check.
    h2pingUseTls: r.bool("H2PingUseTLS") ?? (h2ping ? true : undefined),
    args,
    aliasNode,
    aliasService,
    deregisterCriticalServiceAfterMs: r.duration("DeregisterCriticalServiceAfter"),
    serviceId: generated.serviceId ?? r.str("ServiceID"),
  };
  for (const k of Object.keys(def)) if (def[k] === undefined) delete def[k];
  return def as unknown as CheckDefinition;
}

function decodeHeader(obj: JsonObject, r: Reader): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === "string") out[k] = [v];
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) out[k] = v as string[];
    else
      throw r.fail(
        `${r.options.path ?? ""}Header.${k}: expected a list of strings, got ${jsonType(v)}`,
      );
  }
  return out;
}

/** `PUT /v1/agent/service/register` and config-file `service`/`services`. */
export function decodeServiceDefinition(
  raw: unknown,
  options: DecodeOptions = {},
): ServiceDefinition {
  const r = new Reader(asObject(raw, options, "structs.ServiceDefinition"), options);
  const name = r.str("Name") ?? "";
  if (!name)
    throw r.fail(
      options.config ? `${options.path ?? ""}name: missing service name` : "Missing service name",
    );
  const id = r.str("ID") || name;
  const address = r.str("Address") ?? "";
  if (address && isIP(address) && (address === "0.0.0.0" || address === "::" || address === "[::]"))
    throw r.fail("Invalid service address");
  const meta = r.stringMap("Meta") ?? {};
  const metaError = validateMeta(meta);
  if (metaError) throw r.fail(`Invalid Service Meta: ${metaError}`);
  const weightsObj = r.object("Weights");
  const weights = { Passing: 1, Warning: 1 };
  if (weightsObj) {
    const w = new Reader(weightsObj, options);
    const passing = w.int("Passing") ?? 0;
    const warning = w.int("Warning") ?? 0;
    if (passing !== 0 || warning !== 0) {
      if (passing < 1) throw r.fail("Invalid Weights: Passing must be greater than 0");
      if (warning < 0) throw r.fail("Invalid Weights: Warning must be greater or equal than 0");
      weights.Passing = passing;
      weights.Warning = warning;
    }
  }
  const checkRaws: unknown[] = [];
  const single = pick(r.obj, "Check");
  if (single !== undefined && single !== null) checkRaws.push(single);
  const many = pick(r.obj, "Checks");
  if (Array.isArray(many)) checkRaws.push(...many.filter((c) => c !== null));
  else if (many !== undefined && many !== null)
    throw r.fail(`${options.path ?? ""}Checks: expected a list`);
  const checks = checkRaws.map((c, i) =>
    decodeCheckFields(
      c,
      { ...options, path: `${options.path ?? ""}checks[${i}].` },
      {
        id: checkRaws.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`,
        name: `Service '${name}' check`,
        serviceId: id,
      },
    ),
  );
  const kind = r.str("Kind");
  const tagged = decodeTaggedAddresses(r);
  return {
    id,
    name,
    ...(kind ? { kind } : {}),
    tags: r.strings("Tags") ?? [],
    address,
    ...(tagged ? { taggedAddresses: tagged } : {}),
    meta,
    port: r.int("Port") ?? 0,
    weights,
    enableTagOverride: r.bool("EnableTagOverride") ?? false,
    checks,
  };
}

/** `PUT /v1/agent/check/register` and config-file `check`/`checks`. */
export function decodeCheckDefinition(raw: unknown, options: DecodeOptions = {}): CheckDefinition {
  const r = new Reader(asObject(raw, options, "structs.CheckDefinition"), options);
  if (!r.str("Name"))
    throw r.fail(
      options.config ? `${options.path ?? ""}name: missing check name` : "Missing check name",
    );
  const status = r.str("Status");
  if (status && !CHECK_STATUSES.includes(status as CheckStatus)) throw r.fail("Bad check status");
  return decodeCheckFields(raw, options, {});
}
