/**
 * Validates one watch object as it appears in a Consul config file (`watches = [...]`, JSON or HCL,
 * snake_case keys), plus augur's keys, into a {@link WatchDefinition}. Checks run in Consul's
 * order (agent.go reloadWatches → watch.ParseExempt → the type's factory → makeWatchPlan) so the
 * first error a user sees is the one Consul would print.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { Params, bad, asObjectOrBlock } from "./params.js";
import { buildQuery, readQueryHead } from "./query-definition.js";
import {
  assembleHandler,
  partsNameAHandler,
  readHandlerOptions,
  readHandlerType,
  readHttpConfig,
  takeScriptParts,
  type HandlerOptions,
} from "./handler-definition.js";
import { stableHash } from "./stable-hash.js";
import {
  WATCH_DEFAULTS,
  type FlapOptions,
  type HandlerDefinition,
  type NoiseOptions,
  type OnStart,
  type WatchDefinition,
} from "./types.js";

export type * from "./types.js";

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Validates a watch as written in a config file. Throws `AugurError("BAD_REQUEST", <Consul's text>)`:
 * `Handler type '<t>' not recognized`, `Watch type must be specified`, `Unsupported watch type: <t>`,
 * `Must specify a single key to watch` (prefix, service), `Cannot specify service and state`,
 * `Invalid parameters: [a b]`, `Watch handler must be a string`, `Watch args must be a list of
 * strings`, `Only one watch handler allowed`, `Must define a watch handler`, and the
 * `Failed to parse 'http_handler_config': ...` family.
 */
export function parseWatchDefinition(raw: Record<string, unknown>): WatchDefinition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw bad("Failed to parse watch: expected an object");
  const p = new Params(raw);
  const handlerType = readHandlerType(p);
  const head = readQueryHead(p);
  const http = readHttpConfig(p, handlerType);
  const query = buildQuery(p, head.type, head.datacenter, head.token);
  const parts = takeScriptParts(p, handlerType, http);
  const hasList = p.has("handlers");
  const list = p.take("handlers");
  const handlerOptions = readHandlerOptions(p, hasList ? "any" : handlerType);
  const { id, onStart, noise } = readWatchOptions(p);
  const oncePerCluster = p.bool("once_per_cluster") ?? false;
  const sourceAfter = p.duration("source_unreachable_after");
  p.assertConsumed();
  const handlers = hasList
    ? parseHandlerList(list, partsNameAHandler(parts), handlerOptions)
    : [assembleHandler(parts, handlerOptions)];
  // Keys added after a release join the identity only when set, so existing watches keep their ids.
  const normalized = {
    query,
    handlers,
    onStart,
    noise,
    ...(oncePerCluster ? { oncePerCluster } : {}),
    ...(sourceAfter !== undefined ? { sourceAfter } : {}),
    ...(id !== undefined ? { id } : {}),
  };
  const identity = stableHash(normalized);
  const sourceUnreachableAfterMs = sourceAfter ?? WATCH_DEFAULTS.sourceUnreachableAfterMs;
  return {
    id: id ?? `${query.type}-${identity.slice(0, 12)}`,
    identity,
    query,
    handlers,
    onStart,
    noise,
    oncePerCluster,
    sourceUnreachableAfterMs,
  };
}

/** augur: `handlers = [{...}, ...]`, each item a handler as Consul writes one on a watch. */
function parseHandlerList(
  list: unknown,
  topLevelHandler: boolean,
  defaults: HandlerOptions,
): HandlerDefinition[] {
  if (topLevelHandler) throw bad("Only one watch handler allowed");
  const items = Array.isArray(list) ? (list as unknown[]) : [list];
  if (items.length === 0) throw bad("Must define a watch handler");
  return items.map((item, i) => {
    const obj = asObjectOrBlock(item);
    if (obj === undefined) throw bad(`handlers[${i}]: expected an object`);
    try {
      const p = new Params(obj);
      const handlerType = readHandlerType(p);
      const parts = takeScriptParts(p, handlerType, readHttpConfig(p, handlerType));
      const options = readHandlerOptions(p, handlerType);
      p.assertConsumed();
      return assembleHandler(parts, options, defaults);
    } catch (err) {
      throw err instanceof AugurError ? bad(`handlers[${i}]: ${err.message}`) : err;
    }
  });
}

function readWatchOptions(p: Params): { id?: string; onStart: OnStart; noise: NoiseOptions } {
  const id = p.string("id");
  if (id !== undefined && !ID_PATTERN.test(id))
    throw bad(`Invalid watch id '${id}': use 1 to 128 letters, digits, '-', '_', '.', ':'`);
  const onStart =
    p.oneOf<OnStart>("on_start", ["fire", "changes", "never"]) ?? WATCH_DEFAULTS.onStart;
  const quietPeriodMs = p.duration("quiet_period") ?? 0;
  const quietMax = p.duration("quiet_period_max");
  if (quietMax !== undefined && quietMax < quietPeriodMs)
    throw bad("quiet_period_max must not be shorter than quiet_period");
  const holdMs = p.duration("hold") ?? 0;
  const flap = readFlap(p);
  const maintenanceAware = p.bool("maintenance_aware") ?? true;
  const stateChangesOnly = p.bool("state_changes_only") ?? false;
  const noise: NoiseOptions = {
    quietPeriodMs,
    quietPeriodMaxMs: quietMax ?? quietPeriodMs * WATCH_DEFAULTS.quietPeriodMaxFactor,
    holdMs,
    ...(flap ? { flap } : {}),
    stateChangesOnly,
    maintenanceAware,
  };
  return { ...(id !== undefined ? { id } : {}), onStart, noise };
}

function readFlap(p: Params): FlapOptions | undefined {
  const windowMs = p.duration("flap_window");
  const startThreshold = p.count("flap_start_threshold") ?? WATCH_DEFAULTS.flapStartThreshold;
  const stopThreshold = p.count("flap_stop_threshold") ?? WATCH_DEFAULTS.flapStopThreshold;
  if (windowMs === undefined || windowMs === 0) return undefined;
  if (startThreshold < 2) throw bad("flap_start_threshold must be at least 2");
  if (stopThreshold >= startThreshold)
    throw bad("flap_stop_threshold must be lower than flap_start_threshold");
  return { windowMs, startThreshold, stopThreshold };
}

/**
 * Gives every watch a unique id: a user-set id used twice is an error (`Duplicate watch id`);
 * identical watches without an id (Consul allows them) get `-2`, `-3`... in config order.
 */
export function withUniqueIds(defs: readonly WatchDefinition[]): WatchDefinition[] {
  const seen = new Map<string, number>();
  return defs.map((def) => {
    const n = (seen.get(def.id) ?? 0) + 1;
    seen.set(def.id, n);
    if (n === 1) return def;
    if (!def.id.startsWith(`${def.query.type}-${def.identity.slice(0, 12)}`))
      throw bad(`Duplicate watch id '${def.id}'`);
    return { ...def, id: `${def.id}-${n}` };
  });
}
