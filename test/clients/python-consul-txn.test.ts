/**
 * `/v1/txn` with Node, Service and Check ops driven by Debian's python3-consul (through its HTTP
 * layer: the packaged 0.7.1 has no `txn` API), run by Debian's /usr/bin/python3 as a real child
 * process against a real `augur agent -dev`, and read back through the client's catalog, health
 * and KV calls. The Python script prints one JSON line per step.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(
  new URL("../../../test/clients/fixtures/python_consul_txn.py", import.meta.url),
);
const STEPS = [
  "txn-set",
  "catalog-node",
  "health-service",
  "kv",
  "txn-get",
  "txn-cas-stale",
  "txn-cas",
  "txn-node-delete",
];

describe("python3-consul (Debian) - /v1/txn with catalog ops", () => {
  let agent: AgentProcess;
  before(async () => {
    agent = await startAgentProcess();
  });
  after(async () => {
    await agent.stop();
  });

  it("python-consul - a node, service, check and KV key in one txn; gets, CAS, and a node delete", async () => {
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
