/**
 * Builds the runner for a check definition. Types augur does not run (grpc, udp, h2ping, alias,
 * docker, os_service) are refused at registration rather than registered and never run.
 *
 * @module
 */
import type { CheckDefinition } from "../catalog/types.js";
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
      throw new AugurError("BAD_REQUEST", `Invalid check: ${def.type} checks are not supported by augur; use ttl, http, tcp or script (args)`);
  }
}
