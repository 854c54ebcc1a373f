/**
 * The watch-type registry, as Consul's api/watch/funcs.go `watchFuncFactory` table: one line per
 * `type = "..."` a watch may name. The names here are the watch types ({@link WatchType}); adding
 * a type is one spec file (see spec.ts and docs/architecture.md) and one line below.
 *
 * @module
 */
import { agentService } from "./agent-service.js";
import { checks } from "./checks.js";
import { event } from "./event.js";
import { key } from "./key.js";
import { keyprefix } from "./keyprefix.js";
import { nodes } from "./nodes.js";
import { service } from "./service.js";
import { services } from "./services.js";
import type { WatchTypeSpec } from "./spec.js";

export type { WatchTypeSpec, WatchRequest, WatchRequestQuery, WatchQueryParams } from "./spec.js";

/** Consul's watch types, minus the Connect ones augur does not serve. */
export const WATCH_TYPE_SPECS = {
  key,
  keyprefix,
  services,
  nodes,
  service,
  checks,
  event,
  agent_service: agentService,
} as const satisfies Record<string, WatchTypeSpec>;

export type WatchType = keyof typeof WATCH_TYPE_SPECS;

/** The registered type names, in registry order. */
export const WATCH_TYPES = Object.keys(WATCH_TYPE_SPECS) as readonly WatchType[];

/** Whether `type` names a registered watch type (own keys only: not `toString` or `__proto__`). */
export function isWatchType(type: string): type is WatchType {
  return Object.hasOwn(WATCH_TYPE_SPECS, type);
}

export function watchTypeSpec(type: WatchType): WatchTypeSpec {
  return WATCH_TYPE_SPECS[type];
}
