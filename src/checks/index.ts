/**
 * Builds the runner for a check definition. Types augur does not run (grpc, udp, h2ping, alias,
 * docker, os_service) are refused at registration rather than registered and never run.
 *
 * @module
 */
import type { CheckDefinition, CheckType } from "../catalog/types.js";
import { AugurError } from "../lib/errors.js";
import { httpProbe } from "./http-check.js";
import { IntervalRunner, StatusThresholds, realClock, type CheckClock, type CheckRunner, type CheckSink } from "./runner.js";
import { scriptProbe } from "./script-check.js";
import { tcpProbe } from "./tcp-check.js";
import { TtlCheckRunner } from "./ttl-check.js";

export { TtlCheckRunner } from "./ttl-check.js";
export type { CheckRunner, CheckSink, CheckClock } from "./runner.js";

export interface CreateRunnerOptions {
  readonly clock?: CheckClock;
  /** Delay before the first probe; Consul staggers it randomly within the interval. */
  readonly firstDelayMs?: number;
}

/** The check types augur runs; everything else is refused at registration. */
export const RUNNABLE_CHECK_TYPES: readonly CheckType[] = ["ttl", "http", "tcp", "script"];

/**
 * Throws CHECK_UNSUPPORTED for a check type augur does not run. Consul would run these; augur
 * refuses them rather than keep a check that never runs (and, critical, hides its service
 * from `?passing`).
 */
export function assertRunnable(def: CheckDefinition): void {
  if (RUNNABLE_CHECK_TYPES.includes(def.type)) return;
  const what = def.type === "docker" ? "docker (DockerContainerID)" : def.type === "os_service" ? "os_service (OSService)" : def.type;
  throw new AugurError("CHECK_UNSUPPORTED", `Invalid check: ${what} checks are not supported by augur; use ttl, http, tcp or script (args) checks`);
}

export function createCheckRunner(def: CheckDefinition, sink: CheckSink, options: CreateRunnerOptions = {}): CheckRunner {
  const clock = options.clock ?? realClock;
  const thresholds = new StatusThresholds(def.successBeforePassing, def.failuresBeforeWarning, def.failuresBeforeCritical, sink);
  const interval = def.intervalMs ?? 10_000;
  const timeoutMs = def.timeoutMs ?? 10_000;
  const periodic = (probe: ConstructorParameters<typeof IntervalRunner>[0]): CheckRunner =>
    new IntervalRunner(probe, interval, thresholds.report, clock, options.firstDelayMs ?? Math.floor(Math.random() * Math.min(interval, 5000)));
  switch (def.type) {
    case "ttl":
      return new TtlCheckRunner(def.ttlMs ?? 0, sink, clock);
    case "http":
      return periodic(
        httpProbe({
          url: def.http ?? "",
          timeoutMs,
          outputMaxSize: def.outputMaxSize,
          ...(def.method ? { method: def.method } : {}),
          ...(def.header ? { header: def.header } : {}),
          ...(def.body ? { body: def.body } : {}),
          ...(def.tlsSkipVerify ? { tlsSkipVerify: true } : {}),
          ...(def.tlsServerName ? { tlsServerName: def.tlsServerName } : {}),
          ...(def.disableRedirects ? { disableRedirects: true } : {}),
        }),
      );
    case "tcp":
      return periodic(tcpProbe({ address: def.tcp ?? "", timeoutMs, ...(def.tcpUseTls ? { useTls: true } : {}), ...(def.tlsSkipVerify ? { tlsSkipVerify: true } : {}) }));
    case "script":
      return periodic(scriptProbe({ args: def.args ?? [], timeoutMs, outputMaxSize: def.outputMaxSize }));
    default:
      assertRunnable(def);
      throw new AugurError("INTERNAL", `no runner for ${def.type} checks`);
  }
}
