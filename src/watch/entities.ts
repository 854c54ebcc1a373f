/**
 * Entities: the things in a watch result whose changes are reported one by one — a KV key, a
 * service name, a node, a service instance, a check, a user event — each with a state where the
 * type has one (check status; a service instance's worst status). Each watch type's spec
 * (`types/<type>.ts`) says which entities its result holds; the shared pieces are here.
 *
 * Maintenance awareness: Consul puts a node or service in maintenance by adding a critical check
 * (`_node_maintenance`, `_service_maintenance:<id>`). Reported as `critical`, planned work looks
 * like an outage; with `maintenance_aware` those checks, and the instances they cover, report
 * `maintenance` instead (Prometheus's consul_sd does the same for `__meta_consul_health`).
 *
 * @module
 */
import { stableHash } from "./stable-hash.js";

export interface Entity {
  readonly key: string;
  /** `passing` | `warning` | `critical` | `maintenance` for checks and service instances. */
  readonly state?: string;
  readonly value: unknown;
  /** Hash of `value`: equal hashes mean "unchanged". */
  readonly hash: string;
}

export type EntityMap = ReadonlyMap<string, Entity>;

export type Json = Record<string, unknown>;

const NODE_MAINT = "_node_maintenance";
const SERVICE_MAINT = "_service_maintenance:";
const SEVERITY: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

// Readers for the loosely typed JSON of a result, shared by the watch-type specs.
export const isObj = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function entity(key: string, value: unknown, state?: string): Entity {
  return { key, value, hash: stableHash(value), ...(state !== undefined ? { state } : {}) };
}

/** The entities of one result, keyed by a stable entity key; which they are is the watch type's (its spec). */
export function entityMap(entities: Iterable<Entity>): Map<string, Entity> {
  const out = new Map<string, Entity>();
  for (const e of entities) out.set(e.key, e);
  return out;
}

const isMaintenanceCheck = (id: string): boolean =>
  id === NODE_MAINT || id.startsWith(SERVICE_MAINT);

/** A `{Node, Service, Checks}` entry: keyed `<node>/<service id>`, state = worst check. */
export function serviceInstanceEntity(e: Json, maintenanceAware: boolean): Entity {
  const node = isObj(e["Node"]) ? str(e["Node"]["Node"]) : "";
  const sid = isObj(e["Service"]) ? str(e["Service"]["ID"]) : "";
  let state = "passing";
  for (const c of list(e["Checks"]).filter(isObj)) {
    const s =
      maintenanceAware && isMaintenanceCheck(str(c["CheckID"])) ? "maintenance" : str(c["Status"]);
    if ((SEVERITY[s] ?? 2) > (SEVERITY[state] ?? 0)) state = s;
  }
  return entity(`${node}/${sid}`, e, state);
}

/** Checks keyed `<node>/<check id>`; with maintenance awareness a critical check under maintenance is `maintenance`. */
export function checkEntities(checks: Json[], maintenanceAware: boolean): Entity[] {
  const nodesInMaint = new Set<string>();
  const servicesInMaint = new Set<string>();
  if (maintenanceAware) {
    for (const c of checks) {
      const id = str(c["CheckID"]);
      if (id === NODE_MAINT) nodesInMaint.add(str(c["Node"]));
      else if (id.startsWith(SERVICE_MAINT))
        servicesInMaint.add(`${str(c["Node"])}/${id.slice(SERVICE_MAINT.length)}`);
    }
  }
  return checks.map((c) => {
    const node = str(c["Node"]);
    const id = str(c["CheckID"]);
    let state = str(c["Status"]);
    if (maintenanceAware) {
      const covered =
        nodesInMaint.has(node) || servicesInMaint.has(`${node}/${str(c["ServiceID"])}`);
      if (isMaintenanceCheck(id) || (covered && state === "critical")) state = "maintenance";
    }
    return entity(`${node}/${id}`, c, state);
  });
}

/** Plain-object form for persistence. */
export function entitiesToJson(
  map: EntityMap,
): Record<string, { s?: string; v: unknown; h: string }> {
  const out: Record<string, { s?: string; v: unknown; h: string }> = {};
  for (const [k, e] of map)
    out[k] = { v: e.value, h: e.hash, ...(e.state !== undefined ? { s: e.state } : {}) };
  return out;
}

export function entitiesFromJson(
  json: Record<string, { s?: string; v: unknown; h: string }> | undefined,
): Map<string, Entity> {
  const out = new Map<string, Entity>();
  for (const [k, e] of Object.entries(json ?? {}))
    out.set(k, { key: k, value: e.v, hash: e.h, ...(e.s !== undefined ? { state: e.s } : {}) });
  return out;
}
