/**
 * TTL checks: no probe; the application reports with `check/pass|warn|fail|update` and silence
 * for a whole TTL turns the check critical. Reports bypass the status thresholds, as in Consul.
 *
 * @module
 */
import { TtlCheckRunner } from "../ttl-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const ttl: CheckTypeSpec<"ttl"> = {
  label: "ttl",
  createRunner: (def, { sink, clock }) => new TtlCheckRunner(def.ttlMs, sink, clock),
};
