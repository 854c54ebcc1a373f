/**
 * The contract every runnable check type fills in: how to build its runner from a validated
 * definition. The definition's own shape (which fields the type needs) is the
 * {@link CheckDefinitionOf} variant for the type; the decoder guarantees those fields.
 *
 * @module
 */
import type { CheckDefinitionOf, CheckType } from "../../catalog/types.js";
import type { AliasHealthSource } from "../alias-check.js";
import type { CheckClock, CheckRunner, CheckSink, Probe } from "../runner.js";

/** What building a runner gets besides the definition. */
export interface CheckRunnerContext {
  /** Where results go unfiltered (TTL checks: the application's own reports). */
  readonly sink: CheckSink;
  readonly clock: CheckClock;
  /** A runner that calls `probe` every interval, its results passing the status thresholds. */
  readonly periodic: (probe: Probe) => CheckRunner;
  /** The probe timeout: the definition's, or Consul's 10 s. */
  readonly timeoutMs: number;
  /** What alias checks read (the catalog); absent where no catalog is wired. */
  readonly aliasSource?: AliasHealthSource;
  /** The node this agent runs as (an alias check's default target). */
  readonly nodeName: string;
}

export interface CheckTypeSpec<T extends CheckType> {
  /** How a refusal names the type in its list of what augur runs (`script (args)`). */
  readonly label: string;
  readonly createRunner: (def: CheckDefinitionOf<T>, context: CheckRunnerContext) => CheckRunner;
}
