/**
 * Decoding `/v1/txn`'s Node, Service, Check and Session ops (Consul api/txn.go) as Consul's
 * agent/txn_endpoint.go converts them: only the fields it copies are kept (a Check's `Type`,
 * `Interval` and `Timeout` and a Service's `TaggedAddresses` are dropped, as there), a Node
 * without `Datacenter` gets the agent's, and a wrong JSON type is Go's decoder error (400).
 *
 * @module
 */
import type { CheckRecord, NodeRecord } from "../../catalog/records.js";
import type { CatalogTxnOp, ServiceFields } from "../../catalog/txn.js";
import type { CheckStatus, HealthCheckDefinitionJson } from "../../catalog/types.js";
import { badRequest, type AugurError } from "../../lib/errors.js";
import { jsonType, pick, type JsonObject } from "../../lib/json-fields.js";
import { formatGoDuration, parseGoDuration } from "../../lib/duration.js";

const q = (s: string): string => JSON.stringify(s);

/** Reads one op's fields, naming a wrong type as Go's decoder names it (`Node.Node.Port` ...). */
class Fields {
  constructor(
    private readonly obj: JsonObject,
    /** The Go struct the fields belong to, and the field path from the op down to it. */
    private readonly struct: string,
    private readonly path: string,
  ) {}

  #typeError(name: string, v: unknown, goType: string): AugurError {
    const what = typeof v === "number" || typeof v === "bigint" ? `number ${v}` : jsonType(v);
    return badRequest(
      `Failed to parse body: json: cannot unmarshal ${what} into Go struct field ${this.struct}.${this.path}.${name} of type ${goType}`,
    );
  }

  #get(name: string): unknown {
    const v = pick(this.obj, name);
    return v === null ? undefined : v;
  }

  string(name: string): string {
    const v = this.#get(name);
    if (v === undefined) return "";
    if (typeof v !== "string") throw this.#typeError(name, v, "string");
    return v;
  }

  bool(name: string): boolean {
    const v = this.#get(name);
    if (v === undefined) return false;
    if (typeof v !== "boolean") throw this.#typeError(name, v, "bool");
    return v;
  }

  /** An integer field; `unsigned` for uint64 indexes. Past 2^53 an index can match nothing anyway. */
  int(name: string, unsigned = false): number {
    const v = this.#get(name);
    if (v === undefined) return 0;
    const goType = unsigned ? "uint64" : "int";
    if (typeof v === "bigint") {
      if (unsigned && v >= 0n) return Number.MAX_SAFE_INTEGER;
      throw this.#typeError(name, v, goType);
    }
    if (typeof v !== "number" || !Number.isInteger(v) || (unsigned && v < 0))
      throw this.#typeError(name, v, goType);
    return v;
  }

  stringMap(name: string): Record<string, string> | null {
    const v = this.#get(name);
    if (v === undefined) return null;
    if (typeof v !== "object" || Array.isArray(v))
      throw this.#typeError(name, v, "map[string]string");
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as JsonObject)) {
      if (typeof val !== "string") throw this.#typeError(name, val, "string");
      out[k] = val;
    }
    return out;
  }

  stringList(name: string): string[] | null {
    const v = this.#get(name);
    if (v === undefined) return null;
    if (!Array.isArray(v)) throw this.#typeError(name, v, "[]string");
    for (const x of v) if (typeof x !== "string") throw this.#typeError(name, x, "string");
    return v as string[];
  }

  /** A nested struct's fields (an absent one reads as all zero values, as Go leaves it). */
  object(name: string, struct: string): Fields {
    const v = this.#get(name);
    if (v !== undefined && (typeof v !== "object" || Array.isArray(v)))
      throw this.#typeError(name, v, struct);
    return new Fields((v ?? {}) as JsonObject, struct, `${this.path}.${name}`);
  }

  /**
   * A `ReadableDuration` in milliseconds: Go duration text (`"10s"`), or a number of nanoseconds,
   * as api.ReadableDuration decodes it. Stored and answered as Go prints it (`10s`).
   */
  duration(name: string): number {
    const v = this.#get(name);
    if (v === undefined) return 0;
    if (typeof v === "number") return v / 1e6;
    if (typeof v !== "string") throw this.#typeError(name, v, "api.ReadableDuration");
    const ms = parseGoDuration(v);
    if (ms === undefined) throw badRequest(`Failed to parse body: time: invalid duration ${q(v)}`);
    return ms;
  }

  /** `map[string][]string` (an HTTP check's `Header`). */
  headerMap(name: string): Record<string, string[]> | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v))
      throw this.#typeError(name, v, "map[string][]string");
    const out: Record<string, string[]> = {};
    for (const [k, list] of Object.entries(v as JsonObject)) {
      if (!Array.isArray(list) || list.some((x) => typeof x !== "string"))
        throw this.#typeError(name, list, "[]string");
      out[k] = list as string[];
    }
    return out;
  }
}

function verbOf(f: Fields): string {
  return f.string("Verb");
}

/** `{"Node": {"Verb", "Node": api.Node}}`. */
export function decodeNodeOp(raw: JsonObject, datacenter: string): CatalogTxnOp {
  const op = new Fields(raw, "NodeTxnOp", "Node");
  const n = op.object("Node", "Node");
  const node: NodeRecord = {
    ID: n.string("ID"),
    Node: n.string("Node"),
    Address: n.string("Address"),
    Datacenter: n.string("Datacenter") || datacenter,
    TaggedAddresses: n.stringMap("TaggedAddresses"),
    Meta: n.stringMap("Meta"),
  };
  return { kind: "node", verb: verbOf(op), node, index: n.int("ModifyIndex", true) };
}

/** `{"Service": {"Verb", "Node", "Service": api.AgentService}}`. */
export function decodeServiceOp(raw: JsonObject): CatalogTxnOp {
  const op = new Fields(raw, "ServiceTxnOp", "Service");
  const s = op.object("Service", "AgentService");
  const weights = s.object("Weights", "AgentWeights");
  const kind = s.string("Kind");
  const service: ServiceFields = {
    ...(kind ? { Kind: kind } : {}),
    ID: s.string("ID"),
    Service: s.string("Service"),
    Tags: s.stringList("Tags") ?? [],
    Address: s.string("Address"),
    Meta: s.stringMap("Meta") ?? {},
    Port: s.int("Port"),
    // Consul copies the weights as sent: absent ones are 0, not register's default of 1.
    Weights: { Passing: weights.int("Passing"), Warning: weights.int("Warning") },
    EnableTagOverride: s.bool("EnableTagOverride"),
    Proxy: {},
    Connect: {},
  };
  return {
    kind: "service",
    verb: verbOf(op),
    node: op.string("Node"),
    service,
    index: s.int("ModifyIndex", true),
  };
}

/** `{"Check": {"Verb", "Check": api.HealthCheck}}`. */
export function decodeCheckOp(raw: JsonObject): CatalogTxnOp {
  const op = new Fields(raw, "CheckTxnOp", "Check");
  const c = op.object("Check", "HealthCheck");
  const check: CheckRecord = {
    Node: c.string("Node"),
    CheckID: c.string("CheckID"),
    Name: c.string("Name"),
    // Checked by the catalog when the op writes (a get or delete needs no status).
    Status: (c.string("Status") || "critical") as CheckStatus,
    Notes: c.string("Notes"),
    Output: c.string("Output"),
    ServiceID: c.string("ServiceID"),
    ServiceName: c.string("ServiceName"),
    ServiceTags: c.stringList("ServiceTags") ?? [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: c.int("ExposedPort"),
    Definition: checkDefinition(c.object("Definition", "HealthCheckDefinition")),
  };
  return { kind: "check", verb: verbOf(op), check, index: c.int("ModifyIndex", true) };
}

/** The probe fields agent/txn_endpoint.go copies into the stored definition; the rest are dropped. */
function checkDefinition(d: Fields): HealthCheckDefinitionJson {
  const def: HealthCheckDefinitionJson = {};
  const text = (name: keyof HealthCheckDefinitionJson & string): void => {
    const v = d.string(name);
    if (v) (def as Record<string, unknown>)[name] = v;
  };
  text("HTTP");
  text("TLSServerName");
  if (d.bool("TLSSkipVerify")) def.TLSSkipVerify = true;
  const header = d.headerMap("Header");
  if (header) def.Header = header;
  text("Method");
  text("Body");
  text("TCP");
  for (const name of ["Interval", "Timeout", "DeregisterCriticalServiceAfter"] as const) {
    const ms = d.duration(name);
    if (ms) def[name] = formatGoDuration(ms);
  }
  return def;
}

/** `{"Session": {"Verb", "Session": api.SessionEntry}}`: only the session's ID is used. */
export function decodeSessionOp(raw: JsonObject): CatalogTxnOp {
  const op = new Fields(raw, "SessionTxnOp", "Session");
  return {
    kind: "session",
    verb: verbOf(op),
    id: op.object("Session", "SessionEntry").string("ID"),
  };
}
