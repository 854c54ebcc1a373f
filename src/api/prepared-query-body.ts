/**
 * Decodes a prepared query definition as Consul's decodeBody (Go's encoding/json) does: field
 * names match case-insensitively (python-consul sends `service`, `template`...), unknown fields
 * are ignored, null leaves the zero value, and a wrong type is a 400 naming the field.
 *
 * @module
 */
import { badRequest } from "../lib/errors.js";
import { jsonType, pick, type JsonObject } from "../lib/json-fields.js";
import {
  emptyQueryDefinition,
  type PreparedQueryDefinition,
  type QueryFailoverTarget,
} from "../catalog/prepared-query-types.js";

function wrongType(path: string, v: unknown, goType: string): Error {
  // Go names the number itself only when it is a number that does not fit the integer type.
  const what = typeof v === "number" && goType === "int" ? `number ${String(v)}` : jsonType(v);
  return badRequest(
    `Request decode failed: json: cannot unmarshal ${what} into Go struct field PreparedQuery.${path} of type ${goType}`,
  );
}

/** A reader of one JSON object at a Go path, setting fields only when they are present. */
class Fields {
  constructor(
    private readonly obj: JsonObject,
    private readonly path: string,
  ) {}

  #at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  #value(name: string): unknown {
    const v = pick(this.obj, name);
    return v === null ? undefined : v;
  }

  string(name: string, set: (v: string) => void): void {
    const v = this.#value(name);
    if (v === undefined) return;
    if (typeof v !== "string") throw wrongType(this.#at(name), v, "string");
    set(v);
  }

  bool(name: string, set: (v: boolean) => void): void {
    const v = this.#value(name);
    if (v === undefined) return;
    if (typeof v !== "boolean") throw wrongType(this.#at(name), v, "bool");
    set(v);
  }

  int(name: string, set: (v: number) => void): void {
    const v = this.#value(name);
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isSafeInteger(v))
      throw wrongType(this.#at(name), v, "int");
    set(v);
  }

  strings(name: string, set: (v: string[] | null) => void): void {
    const v = pick(this.obj, name);
    if (v === undefined) return;
    if (v === null) return set(null);
    if (!Array.isArray(v)) throw wrongType(this.#at(name), v, "[]string");
    for (const item of v)
      if (typeof item !== "string") throw wrongType(this.#at(name), item, "string");
    set(v as string[]);
  }

  stringMap(name: string, set: (v: Record<string, string> | null) => void): void {
    const v = pick(this.obj, name);
    if (v === undefined) return;
    if (v === null) return set(null);
    if (typeof v !== "object" || Array.isArray(v))
      throw wrongType(this.#at(name), v, "map[string]string");
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v as JsonObject)) {
      if (typeof item !== "string") throw wrongType(this.#at(name), item, "string");
      out[k] = item;
    }
    set(out);
  }

  object(name: string, goType: string, read: (f: Fields) => void): void {
    const v = this.#value(name);
    if (v === undefined) return;
    if (typeof v !== "object" || Array.isArray(v)) throw wrongType(this.#at(name), v, goType);
    read(new Fields(v as JsonObject, this.#at(name)));
  }

  objects(name: string, goType: string, set: (v: JsonObject[] | null) => void): void {
    const v = pick(this.obj, name);
    if (v === undefined) return;
    if (v === null) return set(null);
    if (!Array.isArray(v)) throw wrongType(this.#at(name), v, `[]${goType}`);
    for (const item of v)
      if (typeof item !== "object" || item === null || Array.isArray(item))
        throw wrongType(this.#at(name), item, goType);
    set(v as JsonObject[]);
  }

  child(obj: JsonObject, name: string): Fields {
    return new Fields(obj, this.#at(name));
  }
}

/** The body of POST /v1/query or PUT /v1/query/:id as a definition (Go's zero values for what is left out). */
export function decodePreparedQuery(body: unknown): PreparedQueryDefinition {
  const q = emptyQueryDefinition();
  if (body === undefined || body === null) return q;
  if (typeof body !== "object" || Array.isArray(body))
    throw badRequest(
      `Request decode failed: json: cannot unmarshal ${jsonType(body)} into Go value of type structs.PreparedQuery`,
    );
  const f = new Fields(body as JsonObject, "");
  f.string("ID", (v) => (q.ID = v));
  f.string("Name", (v) => (q.Name = v));
  f.string("Session", (v) => (q.Session = v));
  f.string("Token", (v) => (q.Token = v));
  f.object("Template", "structs.QueryTemplateOptions", (t) => {
    t.string("Type", (v) => (q.Template.Type = v));
    t.string("Regexp", (v) => (q.Template.Regexp = v));
    t.bool("RemoveEmptyTags", (v) => (q.Template.RemoveEmptyTags = v));
  });
  f.object("Service", "structs.ServiceQuery", (s) => {
    const svc = q.Service;
    s.string("Service", (v) => (svc.Service = v));
    s.string("SamenessGroup", (v) => (svc.SamenessGroup = v));
    s.object("Failover", "structs.QueryFailoverOptions", (fo) => {
      fo.int("NearestN", (v) => (svc.Failover.NearestN = v));
      fo.strings("Datacenters", (v) => (svc.Failover.Datacenters = v));
      fo.objects("Targets", "structs.QueryFailoverTarget", (list) => {
        svc.Failover.Targets =
          list?.map((item) => {
            const target: QueryFailoverTarget = { Peer: "", Datacenter: "" };
            const tf = fo.child(item, "Targets");
            tf.string("Peer", (v) => (target.Peer = v));
            tf.string("Datacenter", (v) => (target.Datacenter = v));
            return target;
          }) ?? null;
      });
    });
    s.bool("OnlyPassing", (v) => (svc.OnlyPassing = v));
    s.strings("IgnoreCheckIDs", (v) => (svc.IgnoreCheckIDs = v));
    s.string("Near", (v) => (svc.Near = v));
    s.strings("Tags", (v) => (svc.Tags = v));
    s.stringMap("NodeMeta", (v) => (svc.NodeMeta = v));
    s.stringMap("ServiceMeta", (v) => (svc.ServiceMeta = v));
    s.bool("Connect", (v) => (svc.Connect = v));
    s.string("Peer", (v) => (svc.Peer = v));
  });
  f.object("DNS", "structs.QueryDNSOptions", (d) => d.string("TTL", (v) => (q.DNS.TTL = v)));
  return q;
}
