/**
 * `augur agent -h` prints its usage and flags and exits 0, as `consul agent -h` does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AUGUR_BIN } from "../helpers/agent-process.js";
import { AGENT_FLAGS } from "../../src/cli/usage.js";
import { parseAgentFlags } from "../../src/config/index.js";

for (const flag of ["-h", "-help", "--help"]) {
  test(`agent ${flag} - prints usage and every flag, exits 0, starts nothing`, () => {
    const run = spawnSync(process.execPath, [AUGUR_BIN, "agent", flag], { encoding: "utf8", timeout: 10_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Usage: augur agent \[options\]\n/);
    for (const f of AGENT_FLAGS) assert.ok(run.stdout.includes(`  -${f.flag}`), `-${f.flag} listed`);
    assert.doesNotMatch(run.stdout, /HTTP API listening/);
  });
}

test("agent -h - every flag it lists is one the agent accepts", () => {
  for (const f of AGENT_FLAGS) {
    const value = f.flag === "http-port" || f.flag === "retry-max" ? "1" : "x";
    assert.doesNotThrow(() => parseAgentFlags(f.arg ? [`-${f.flag}`, value] : [`-${f.flag}`]), `-${f.flag}`);
  }
});
