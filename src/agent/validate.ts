/**
 * The checks the agent runs on a definition before it keeps any of it, as one function so
 * `augur validate` refuses exactly what `augur agent` would refuse at start.
 *
 * @module
 */
import type { CheckDefinition, ServiceDefinition } from "../catalog/types.js";
import { AugurError } from "../lib/errors.js";
import type { DefinitionSource } from "./local-state.js";

export interface DefinitionRules {
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  /** Throws for a check this agent cannot run (main.ts passes the check runners' test). */
  readonly validateCheck?: (def: CheckDefinition) => void;
}

/** Script checks need `enable_script_checks`, or `enable_local_script_checks` for config files. */
export function allowScript(
  def: CheckDefinition,
  source: DefinitionSource,
  rules: DefinitionRules,
): void {
  if (def.type !== "script") return;
  if (rules.enableScriptChecks || (source === "config" && rules.enableLocalScriptChecks)) return;
  throw new AugurError(
    "CHECK_SCRIPTS_DISABLED",
    source === "config"
      ? "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true"
      : "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
  );
}

export function validateCheck(
  def: CheckDefinition,
  source: DefinitionSource,
  rules: DefinitionRules,
): void {
  allowScript(def, source, rules);
  rules.validateCheck?.(def);
}

/** Throws what registering these definitions would throw, registering nothing. */
export function validateDefinitions(
  services: readonly ServiceDefinition[],
  checks: readonly CheckDefinition[],
  source: DefinitionSource,
  rules: DefinitionRules,
): void {
  for (const s of services) for (const c of s.checks) validateCheck(c, source, rules);
  for (const c of checks) validateCheck(c, source, rules);
}
