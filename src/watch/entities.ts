/**
 * Splits a watch result into entities — the things whose changes are reported one by one: a KV
 * key, a service name, a node, a service instance, a check, a user event — each with a state
 * where the type has one (check status; a service instance's worst status).
 *
 * Maintenance awareness: Consul puts a node or service in maintenance by adding a critical check
 * (`_node_maintenance`, `_service_maintenance:<id>`). Reported as `critical`, planned work looks
 * like an outage; with `maintenance_aware` those checks, and the instances they cover, report
 * `maintenance` instead (Prometheus's consul_sd does the same for `__meta_consul_health`).
 *
 * @module
 */
import { stableHash } from "./stable-hash.js";
import type { WatchType } from "./types.js";

export interface Entity {
  readonly key: string;
  /** `passing` | `warning` | `critical` | `maintenance` for checks and service instances. */
  readonly state?: string;
  readonly value: unknown;
  /** Hash of `value`: equal hashes mean "unchanged". */
  readonly hash: string;
}

export type EntityMap = ReadonlyMap<string, Entity>;

type Json = Record<string, unknown>;

const NODE_MAINT = "_node_maintenance";
const SERVICE_MAINT = "_service_maintenance:";
const SEVERITY: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : v === undefined || v === null ? "" : String(v));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function entity(key: string, value: unknown, state?: string): Entity {
  return { key, value, hash: stableHash(value), ...(state !== undefined ? { state } : {}) };
}

/** The entities of one result, keyed by a stable entity key. */
export function entitiesOf(type: WatchType, result: unknown, maintenanceAware: boolean): Map<string, Entity> {
  const out = new Map<string, Entity>();
  const add = (e: Entity): void => void out.set(e.key, e);
  switch (type) {
    case "key":
      if (isObj(result)) add(entity(str(result["Key"]), result));
      break;
    case "keyprefix":
      for (const kv of list(result)) if (isObj(kv)) add(entity(str(kv["Key"]), kv));
      break;
    case "services":
      if (isObj(result)) for (const [name, tags] of Object.entries(result)) add(entity(name, tags));
      break;
    case "nodes":
      for (const n of list(result)) if (isObj(n)) add(entity(str(n["Node"]), n));
      break;
    case "service":
      for (const e of list(result)) if (isObj(e)) add(serviceEntry(e, maintenanceAware));
      break;
    case "checks":
      checkEntities(list(result).filter(isObj), maintenanceAware).forEach(add);
      break;
    case "event":
      for (const ev of list(result)) if (isObj(ev)) add(entity(str(ev["ID"]), ev));
      break;
  }
  return out;
}

const isMaintenanceCheck = (id: string): boolean => id === NODE_MAINT || id.startsWith(SERVICE_MAINT);

/** A `{Node, Service, Checks}` entry: keyed `<node>/<service id>`, state = worst check. */
function serviceEntry(e: Json, maintenanceAware: boolean): Entity {
  const node = isObj(e["Node"]) ? str(e["Node"]["Node"]) : "";
  const sid = isObj(e["Service"]) ? str(e["Service"]["ID"]) : "";
  let state = "passing";
  for (const c of list(e["Checks"]).filter(isObj)) {
    const s = maintenanceAware && isMaintenanceCheck(str(c["CheckID"])) ? "maintenance" : str(c["Status"]);
    if ((SEVERITY[s] ?? 2) > (SEVERITY[state] ?? 0)) state = s;
  }
  return entity(`${node}/${sid}`, e, state);
}

/** Checks keyed `<node>/<check id>`; with maintenance awareness a critical check under maintenance is `maintenance`. */
function checkEntities(checks: Json[], maintenanceAware: boolean): Entity[] {
  const nodesInMaint = new Set<string>();
  const servicesInMaint = new Set<string>();
  if (maintenanceAware) {
    for (const c of checks) {
      const id = str(c["CheckID"]);
      if (id === NODE_MAINT) nodesInMaint.add(str(c["Node"]));
      else if (id.startsWith(SERVICE_MAINT)) servicesInMaint.add(`${str(c["Node"])}/${id.slice(SERVICE_MAINT.length)}`);
    }
  }
  return checks.map((c) => {
    const node = str(c["Node"]);
    const id = str(c["CheckID"]);
    let state = str(c["Status"]);
    if (maintenanceAware) {
      const covered = nodesInMaint.has(node) || servicesInMaint.has(`${node}/${str(c["ServiceID"])}`);
      if (isMaintenanceCheck(id) || (covered && state === "critical")) state = "maintenance";
    }
    return entity(`${node}/${id}`, c, state);
  });
}

/** Plain-object form for persistence. */
export function entitiesToJson(map: EntityMap): Record<string, { s?: string; v: unknown; h: string }> {
  const out: Record<string, { s?: string; v: unknown; h: string }> = {};
  for (const [k, e] of map) out[k] = { v: e.value, h: e.hash, ...(e.state !== undefined ? { s: e.state } : {}) };
  return out;
}

export function entitiesFromJson(json: Record<string, { s?: string; v: unknown; h: string }> | undefined): Map<string, Entity> {
  const out = new Map<string, Entity>();
  for (const [k, e] of Object.entries(json ?? {})) out.set(k, { key: k, value: e.v, hash: e.h, ...(e.s !== undefined ? { state: e.s } : {}) });
  return out;
}
