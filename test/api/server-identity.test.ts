/**
 * #11 item 1: an agent started with `server` / `-server` / `-dev` presents as a Consul server —
 * `Config.Server`, the `consul` service in the catalog (healthy through serfHealth), `Stats.consul`
 * with `leader_addr` equal to `status/leader`, the WAN member list — and a client stays a client.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { AUGUR_BIN, startAgentProcess } from "../helpers/agent-process.js";
import { until } from "../helpers/until.js";

const run = promisify(execFile);

interface Self {
  Config: { Server: boolean; NodeName: string };
  Member: { Tags: Record<string, string> };
  Stats: { consul: Record<string, string> };
}
interface Member {
  Name: string;
  Port: number;
  Tags: Record<string, string>;
}

const get = async <T>(a: TestAgent, path: string): Promise<T> => {
  const res = await a.call("GET", path);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
};

describe("server identity", () => {
  let server: TestAgent;
  before(async () => {
    server = await startTestAgent({ server: true, fullSyncIntervalMs: 100 });
  });
  after(() => server.stop());

  it("server identity - Config.Server, Stats.consul, and leader_addr equal to status/leader", async () => {
    const self = await get<Self>(server, "/v1/agent/self");
    assert.equal(self.Config.Server, true);
    const leader = await get<string>(server, "/v1/status/leader");
    assert.equal(leader, "127.0.0.1:8300");
    assert.equal(self.Stats.consul["leader_addr"], leader);
    assert.equal(self.Stats.consul["server"], "true");
    assert.equal(self.Stats.consul["leader"], "true");
    assert.equal(self.Member.Tags["role"], "consul");
    assert.equal(self.Member.Tags["port"], "8300");
    assert.equal(self.Member.Tags["segment"], undefined, "a server has no segment tag");
  });

  it("server identity - the consul service is in the catalog, healthy through serfHealth, and not local state", async () => {
    const entries = await get<
      {
        Node: string;
        ServiceID: string;
        ServicePort: number;
        ServiceMeta: Record<string, string>;
      }[]
    >(server, "/v1/catalog/service/consul");
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.Node, "node1");
    assert.equal(entries[0]?.ServiceID, "consul");
    assert.equal(entries[0]?.ServicePort, 8300);
    assert.equal(entries[0]?.ServiceMeta["raft_version"], "3");
    const health = await get<{ Checks: { CheckID: string; Status: string }[] }[]>(
      server,
      "/v1/health/service/consul?passing",
    );
    assert.equal(health.length, 1);
    assert.deepEqual(
      health[0]?.Checks.map((c) => [c.CheckID, c.Status]),
      [["serfHealth", "passing"]],
    );
    const local = await get<Record<string, unknown>>(server, "/v1/agent/services");
    assert.equal(local["consul"], undefined, "agent/services lists only what was registered");
  });

  it("server identity - anti-entropy removes strays but keeps the consul service", async () => {
    const reg = await server.call("PUT", "/v1/catalog/register", {
      Node: "node1",
      Address: "127.0.0.1",
      Service: { ID: "stray", Service: "stray" },
    });
    assert.equal(reg.status, 200);
    // The stray going proves a full sync ran; the consul service must survive the same pass.
    await until(
      async () => (await get<unknown[]>(server, "/v1/catalog/service/stray")).length === 0,
      "anti-entropy removed the stray",
      10_000,
    );
    assert.equal((await get<unknown[]>(server, "/v1/catalog/service/consul")).length, 1);
  });

  it("server identity - members?wan=1 lists the servers as <node>.<dc> at the WAN port", async () => {
    const wan = await get<Member[]>(server, "/v1/agent/members?wan=1");
    assert.deepEqual(
      wan.map((m) => [m.Name, m.Port, m.Tags["role"]]),
      [["node1.dc1", 8302, "consul"]],
    );
    const lan = await get<Member[]>(server, "/v1/agent/members");
    assert.deepEqual(
      lan.map((m) => [m.Name, m.Port]),
      [["node1", 8301]],
    );
  });
});

describe("client identity", () => {
  it("client identity - a client is no server: no consul service, known_servers, no WAN pool", async () => {
    const client = await startTestAgent();
    try {
      const self = await get<Self>(client, "/v1/agent/self");
      assert.equal(self.Config.Server, false);
      assert.equal(self.Stats.consul["server"], "false");
      assert.equal(self.Stats.consul["known_servers"], "0");
      assert.equal(self.Member.Tags["role"], "node");
      assert.deepEqual(await get<unknown[]>(client, "/v1/catalog/service/consul"), []);
      assert.deepEqual(await get<unknown[]>(client, "/v1/agent/members?wan=1"), []);
    } finally {
      await client.stop();
    }
  });

  it("client identity - a node restarted as a client takes its old consul service away", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "augur-server-id-"));
    const nodeId = randomUUID();
    try {
      const first = await startTestAgent({ server: true, dev: false, dataDir, nodeId });
      assert.equal((await get<unknown[]>(first, "/v1/catalog/service/consul")).length, 1);
      await first.stop();
      const second = await startTestAgent({ dev: false, dataDir, nodeId });
      try {
        assert.deepEqual(await get<unknown[]>(second, "/v1/catalog/service/consul"), []);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("-dev is a server", () => {
  it("-dev - agent/self, augur members (Type server) and members -wan", async () => {
    const agent = await startAgentProcess();
    try {
      const self = (await (await fetch(`${agent.url}/v1/agent/self`)).json()) as Self;
      assert.equal(self.Config.Server, true);
      const env = { ...process.env, CONSUL_HTTP_ADDR: agent.httpAddr };
      const lan = await run(process.execPath, [AUGUR_BIN, "members"], { env });
      const row = lan.stdout.split("\n")[1] ?? "";
      assert.match(
        row,
        new RegExp(`^${self.Config.NodeName}\\s+127\\.0\\.0\\.1:8301\\s+alive\\s+server\\s`),
      );
      const wan = await run(process.execPath, [AUGUR_BIN, "members", "-wan"], { env });
      assert.match(
        wan.stdout,
        new RegExp(
          `^${self.Config.NodeName}\\.dc1\\s+127\\.0\\.0\\.1:8302\\s+alive\\s+server`,
          "m",
        ),
      );
    } finally {
      await agent.stop();
    }
  });
});
