/**
 * Script checks: `args` run without a shell every interval; exit 0 passing, 1 warning, else
 * critical. The agent allows them only with `enable_script_checks` (agent/validate.ts).
 *
 * @module
 */
import { scriptProbe } from "../script-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const script: CheckTypeSpec<"script"> = {
  label: "script (args)",
  createRunner: (def, { periodic, timeoutMs }) =>
    periodic(scriptProbe({ args: def.args, timeoutMs, outputMaxSize: def.outputMaxSize })),
};
