/**
 * What the check tests share: a check definition with defaults for every field, and one probe
 * of an interval check through the real runner.
 *
 * @module
 */
import { createCheckRunner } from "../../src/checks/index.js";
import type { CheckDefinition, CheckStatus } from "../../src/catalog/types.js";

// Loosely typed on purpose: each test gives the fields its check type needs.
export const base = (over: Record<string, unknown>): CheckDefinition =>
  ({
    id: "c",
    name: "c",
    notes: "",
    type: "ttl",
    status: "critical",
    successBeforePassing: 0,
    failuresBeforeWarning: 0,
    failuresBeforeCritical: 0,
    outputMaxSize: 4096,
    timeoutMs: 2000,
    intervalMs: 60_000,
    ...over,
  }) as CheckDefinition;

/** Runs one probe of an interval check (first probe at once) and returns its report. */
export async function probeOnce(
  def: CheckDefinition,
): Promise<{ status: CheckStatus; output: string }> {
  return new Promise((resolve) => {
    const runner = createCheckRunner(
      def,
      (status, output) => {
        runner.stop();
        resolve({ status, output });
      },
      { firstDelayMs: 0 },
    );
    runner.start();
  });
}
