/**
 * End to end: a real `augur agent` process with watches in its config file. These go green once
 * the agent wires the WatchManager in (issue #2).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { httpReceiver, RECORD, tempDir, type TempDir } from "./receivers.js";
import { until } from "./manager-helpers.js";
import { freePortOutsideEphemeralRange } from "../helpers/free-port.js";

/** Pending deliveries of the `durable` watch; -1 while the agent has no watch API. */
async function pendingOf(agent: AgentProcess): Promise<number> {
  const res = await fetch(`${agent.url}/v1/agent/watch/deliveries?watch=durable`);
  if (res.status !== 200) return -1;
  return ((await res.json()) as { Pending: unknown[] }).Pending.length;
}

void describe("watches in a real agent (e2e)", () => {
  let dir: TempDir;
  before(async () => (dir = await tempDir("augur-watch-e2e-")));
  after(async () => dir.remove());

  void it("e2e - a Consul-format watch in an HCL config file runs its script on a KV change", async () => {
    const out = join(dir.path, "hcl-runs");
    await mkdir(out);
    const script = await dir.script("h.sh", RECORD(out));
    const conf = join(dir.path, "watches.hcl");
    await writeFile(
      conf,
      `watches = [\n  {\n    type = "key"\n    key = "e2e/k"\n    args = ["${script}"]\n  }\n]\n`,
    );
    const agent = await startAgentProcess({ args: ["-dev", "-config-file", conf] });
    try {
      await until(
        async () => (await readdir(out)).some((n) => n.startsWith("in.")),
        15_000,
        "first fire",
      );
      await fetch(`${agent.url}/v1/kv/e2e/k`, { method: "PUT", body: "v1" });
      await until(
        async () => (await readdir(out)).filter((n) => n.startsWith("in.")).length === 2,
        15_000,
        "fire on change",
      );
      const bodies = await Promise.all(
        (await readdir(out))
          .filter((n) => n.startsWith("in."))
          .sort()
          .map((n) => readFile(join(out, n), "utf8")),
      );
      assert.equal(bodies[0], "null\n");
      assert.match(
        bodies[1] ?? "",
        /^\{"Key":"e2e\/k","CreateIndex":\d+,"ModifyIndex":\d+,"LockIndex":0,"Flags":0,"Value":"djE=","Session":""\}\n$/,
      );
      const metrics = await (await fetch(`${agent.url}/v1/agent/metrics?format=prometheus`)).text();
      assert.match(metrics, /augur_watch_events_total\{watch="key-[0-9a-f]{12}"\} 2/);
    } finally {
      await agent.stop();
    }
  });

  void it("e2e - kill -9 with the receiver down: after a restart every change arrives, dupes only by Idempotency-Key", async () => {
    // Down until the test opens it: a port no listen(0) of the agent can be given meanwhile.
    const port = await freePortOutsideEphemeralRange();
    const dataDir = join(dir.path, "data");
    const conf = join(dir.path, "durable.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "e2e/durable",
            id: "durable",
            handler_type: "http",
            http_handler_config: { path: `http://127.0.0.1:${port}/hook` },
            retry_initial_interval: "100ms",
            retry_max_interval: "200ms",
            retry_max_attempts: 0,
          },
        ],
      }),
    );
    const args = ["-data-dir", dataDir, "-config-file", conf, "-bind", "127.0.0.1", "-node", "e2e"];
    let agent: AgentProcess = await startAgentProcess({ args });
    try {
      for (let i = 1; i <= 20; i++)
        await fetch(`${agent.url}/v1/kv/e2e/durable`, { method: "PUT", body: `v${i}` });
      await until(async () => (await pendingOf(agent)) >= 2, 15_000, "changes recorded");
    } finally {
      await agent.kill();
    }
    const r = await httpReceiver(undefined, port);
    agent = await startAgentProcess({ args });
    try {
      await until(
        async () => (await pendingOf(agent)) === 0 && r.requests.length > 0,
        20_000,
        "outbox drained",
      );
      const byKey = new Map<string, string>();
      for (const q of r.requests) {
        const key = String(q.headers["idempotency-key"]);
        const body = q.body.toString();
        if (byKey.has(key))
          assert.equal(byKey.get(key), body, "a duplicate carries the same key and body");
        byKey.set(key, body);
      }
      const last = JSON.parse([...byKey.values()].at(-1) ?? "null") as { Value: string } | null;
      assert.equal(Buffer.from(last?.Value ?? "", "base64").toString(), "v20");
    } finally {
      await agent.stop();
      await r.close();
    }
  });
});
