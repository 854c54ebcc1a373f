/**
 * Debian's python3-consul `consul.query.*` (create, list, get, update, execute, explain, delete),
 * run by Debian's /usr/bin/python3 as a real child process against a real `augur agent -dev`.
 * The Python script prints one JSON line per step.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(
  new URL("../../../test/clients/fixtures/python_consul_query.py", import.meta.url),
);
const STEPS = [
  "service-synced",
  "create",
  "list",
  "get",
  "execute",
  "execute-near-limit",
  "update",
  "explain",
  "regexp-template",
  "duplicate-refused",
  "delete",
];

describe("python3-consul prepared queries (Debian)", () => {
  let agent: AgentProcess;
  before(async () => (agent = await startAgentProcess()));
  after(() => agent.stop());

  it("python-consul - query create, list, get, update, execute, explain, delete", async () => {
    const { stdout } = await run("/usr/bin/python3", [SCRIPT], {
      env: { ...process.env, CONSUL_HTTP_ADDR: agent.httpAddr, PYTHONPATH: "" },
      timeout: 60_000,
    }).catch((err: { stdout?: string; stderr?: string }) => {
      assert.fail(`python client failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
    });
    const steps = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: string; ok: boolean; detail: unknown });
    const failed = steps.filter((s) => !s.ok);
    assert.deepEqual(failed, [], `failed steps: ${JSON.stringify(failed)}`);
    assert.deepEqual(
      steps.map((s) => s.step),
      STEPS,
    );
  });
});
