/**
 * The validated shape of a watch: what it asks the API (the Consul part) and what augur adds
 * (start behaviour, noise control, durable delivery). {@link parseWatchDefinition} produces it from
 * a config-file object; everything else in `src/watch/` consumes it. Durations are milliseconds.
 *
 * @module
 */

import type { WatchType } from "./types/index.js";

// The watch types are the registry's names (types/index.ts): one spec file per type.
export { WATCH_TYPES, type WatchType } from "./types/index.js";

/** What a watch does when it starts (agent start, or a reload that adds or changes it). */
export type OnStart =
  /** Consul: the first result is delivered as a change (every start, every reload). */
  | "fire"
  /** Deliver only what changed since the state persisted by the last run; nothing if unchanged. */
  | "changes"
  /** Adopt the current result silently; deliver only later changes. */
  | "never";

/** What a handler receives. */
export type PayloadMode = "consul" | "changes" | "both";

/** The Consul part: one blocking query against a Consul-compatible API. */
export interface WatchQuery {
  readonly type: WatchType;
  readonly key?: string;
  readonly prefix?: string;
  readonly service?: string;
  /** `service` and `checks` (with a state) watches: every tag must match. */
  readonly tags: readonly string[];
  readonly passingOnly: boolean;
  /** `checks` watch: `any` when neither state nor service is given (as Consul). */
  readonly state?: string;
  /** `agent_service` watch: the local service instance's ID. */
  readonly serviceId?: string;
  /** `event` watch: the event name to list (all events when unset). */
  readonly name?: string;
  readonly filter?: string;
  readonly datacenter?: string;
  readonly token?: string;
  readonly stale: boolean;
}

/** Retry policy of one handler: exponential backoff with jitter, bounded by attempts and age. */
export interface RetryPolicy {
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  /** Total attempts including the first; 0 means bounded by age only. */
  readonly maxAttempts: number;
  /** An event older than this is dead-lettered instead of retried; 0 means no age bound. */
  readonly maxAgeMs: number;
}

/** HMAC-SHA256 signing of HTTP deliveries. The secret is read when the handler starts. */
export interface SigningOptions {
  readonly secretFile?: string;
  readonly secretEnv?: string;
}

interface HandlerCommon {
  /** Stable per handler definition: outbox records are addressed to it. */
  readonly key: string;
  readonly payload: PayloadMode;
  readonly retry: RetryPolicy;
  /** False keeps this handler's outbox in memory even when the agent has a data dir. */
  readonly durable: boolean;
  /** 0 = no timeout (Consul's script behaviour). */
  readonly timeoutMs: number;
  readonly signing?: SigningOptions;
}

/** Consul's script handler: `args` exec'd directly, or the deprecated `handler` via `$SHELL -c`. */
export interface ScriptHandlerDefinition extends HandlerCommon {
  readonly kind: "script";
  readonly args?: readonly string[];
  readonly shellCommand?: string;
  /** Captured stdout+stderr kept per run (Consul keeps the last 4 KB). */
  readonly outputMaxSize: number;
}

/** Consul's HTTP handler (`handler_type: "http"`, `http_handler_config`). */
export interface HttpHandlerDefinition extends HandlerCommon {
  readonly kind: "http";
  readonly url: string;
  readonly method: string;
  readonly header: Readonly<Record<string, readonly string[]>>;
  readonly tlsSkipVerify: boolean;
}

export type HandlerDefinition = ScriptHandlerDefinition | HttpHandlerDefinition;

/** Flap detection with hysteresis: flapping at `startThreshold` transitions in `windowMs`, stable again at `stopThreshold` or fewer. */
export interface FlapOptions {
  readonly windowMs: number;
  readonly startThreshold: number;
  readonly stopThreshold: number;
}

export interface NoiseOptions {
  /** Wait this long after a change for more changes before delivering (0 = off). */
  readonly quietPeriodMs: number;
  /** Deliver at the latest this long after the first change of a burst. */
  readonly quietPeriodMaxMs: number;
  /** An entity's new state must last this long before it is reported (0 = off). */
  readonly holdMs: number;
  readonly flap?: FlapOptions;
  /** Checks and service instances: report a change only when the state changes (not output, notes, indexes). */
  readonly stateChangesOnly: boolean;
  /** Report `_node_maintenance` / `_service_maintenance:*` as `maintenance`, not `critical`. */
  readonly maintenanceAware: boolean;
}

/** A validated watch. */
export interface WatchDefinition {
  /** The user's `id`, or `<type>-<12 hex of identity>`: names the watch in state, metrics, deliveries. */
  readonly id: string;
  /** sha256 of the normalised definition: equal identity on reload means "unchanged, keep running". */
  readonly identity: string;
  readonly query: WatchQuery;
  readonly handlers: readonly HandlerDefinition[];
  readonly onStart: OnStart;
  readonly noise: NoiseOptions;
  /** Cluster mode: only the agent holding this watch's leader lock delivers (see cluster-leader.ts). */
  readonly oncePerCluster: boolean;
  /** A `source_unreachable` event after the source has failed this long (0: never). */
  readonly sourceUnreachableAfterMs: number;
}

/** Defaults of the augur keys (documented in docs/watches.md). */
export const WATCH_DEFAULTS = {
  onStart: "fire" as OnStart,
  payload: "consul" as PayloadMode,
  scriptTimeoutMs: 60_000,
  httpTimeoutMs: 10_000,
  outputMaxSize: 4096,
  retryInitialIntervalMs: 1_000,
  retryMaxIntervalMs: 5 * 60_000,
  retryMaxAttempts: 25,
  retryMaxAgeMs: 24 * 3_600_000,
  quietPeriodMaxFactor: 4,
  flapWindowMs: 10 * 60_000,
  flapStartThreshold: 5,
  flapStopThreshold: 2,
  sourceUnreachableAfterMs: 30_000,
} as const;
