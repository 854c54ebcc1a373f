/**
 * Builds the runner for a check definition through the check-type registry (registry.ts).
 * Types augur does not run (docker, os_service) are refused at registration rather than
 * registered and never run.
 *
 * @module
 */
import type { Catalog } from "../catalog/catalog.js";
import type { CheckDefinition, CheckDefinitionOf } from "../catalog/types.js";
import { AugurError } from "../lib/errors.js";
import {
  CHECK_TYPE_SPECS,
  checkTypeSpec,
  isRunnable,
  type CheckRunnerContext,
  type RunnableCheckType,
} from "./registry.js";
import { catalogAliasSource } from "./alias-check.js";
import {
  IntervalRunner,
  StatusThresholds,
  realClock,
  type CheckClock,
  type CheckRunner,
  type CheckSink,
} from "./runner.js";

export { TtlCheckRunner } from "./ttl-check.js";
export type { CheckRunner, CheckSink, CheckClock } from "./runner.js";
export type { RunnableCheckType } from "./registry.js";

export interface CreateRunnerOptions {
  readonly clock?: CheckClock;
  /** Delay before the first probe; Consul staggers it randomly within the interval. */
  readonly firstDelayMs?: number;
  /** What alias checks read; without it an alias check cannot be built. */
  readonly catalog?: Catalog;
  /** The node this agent runs as: an alias check's default target. */
  readonly nodeName?: string;
}

/** Consul's checks.MinInterval. */
export const MIN_CHECK_INTERVAL_MS = 1000;

/** The check types augur runs (the registry's); everything else is refused at registration. */
export const RUNNABLE_CHECK_TYPES = Object.keys(CHECK_TYPE_SPECS) as readonly RunnableCheckType[];

/** How a refusal names the types augur does not run, where the type alone would not say which field made it. */
const REFUSED_LABELS: Partial<Record<CheckDefinition["type"], string>> = {
  docker: "docker (DockerContainerID)",
  os_service: "os_service (OSService)",
};

/** `ttl, http, tcp or script (args)`, from the registry. */
function runnableList(): string {
  const labels = RUNNABLE_CHECK_TYPES.map((t) => checkTypeSpec(t).label);
  return labels.length > 1
    ? `${labels.slice(0, -1).join(", ")} or ${labels.at(-1) ?? ""}`
    : (labels[0] ?? "");
}

/**
 * Throws CHECK_UNSUPPORTED for a check type augur does not run. Consul would run these; augur
 * refuses them rather than keep a check that never runs (and, critical, hides its service
 * from `?passing`).
 */
export function assertRunnable(def: CheckDefinition): void {
  if (isRunnable(def)) return;
  const what = REFUSED_LABELS[def.type] ?? def.type;
  throw new AugurError(
    "CHECK_UNSUPPORTED",
    `Invalid check: ${what} checks are not supported by augur; use ${runnableList()} checks`,
  );
}

export function createCheckRunner(
  def: CheckDefinition,
  sink: CheckSink,
  options: CreateRunnerOptions = {},
): CheckRunner {
  if (!isRunnable(def)) {
    assertRunnable(def);
    throw new AugurError("INTERNAL", `no runner for ${def.type} checks`);
  }
  const clock = options.clock ?? realClock;
  const thresholds = new StatusThresholds(
    def.successBeforePassing,
    def.failuresBeforeWarning,
    def.failuresBeforeCritical,
    sink,
  );
  // Consul raises an interval below checks.MinInterval to it: a `1ns` check must not probe in a
  // tight loop.
  const interval = Math.max(def.intervalMs ?? 10_000, MIN_CHECK_INTERVAL_MS);
  const context: CheckRunnerContext = {
    sink,
    clock,
    periodic: (probe) =>
      new IntervalRunner(
        probe,
        interval,
        thresholds.report,
        clock,
        options.firstDelayMs ?? Math.floor(Math.random() * Math.min(interval, 5000)),
      ),
    timeoutMs: def.timeoutMs ?? 10_000,
    ...(options.catalog ? { aliasSource: catalogAliasSource(options.catalog) } : {}),
    nodeName: options.nodeName ?? "",
  };
  return build(def.type, def, context);
}

// `type` apart from `def` (it is `def.type`) lets the compiler pair each type with its spec.
function build<T extends RunnableCheckType>(
  type: T,
  def: CheckDefinitionOf<T>,
  context: CheckRunnerContext,
): CheckRunner {
  return checkTypeSpec(type).createRunner(def, context);
}
