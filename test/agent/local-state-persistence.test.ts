/**
 * Local state survives a restart (Consul persists API registrations in its data dir): services
 * and checks registered through the agent API, TTL statuses and maintenance come back after
 * SIGTERM, kill -9 and reload; deregistered ones stay gone; config-file services are not
 * persisted. Real agent processes on one data dir.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startTestAgent } from "../helpers/in-process-agent.js";
import { decodeServiceDefinition } from "../../src/config/definitions.js";

interface Check {
  CheckID: string;
  Status: string;
  Output: string;
  Notes: string;
  ServiceID: string;
}

void describe("agent - local state persisted in the data dir", () => {
  let dir: string;
  let dataDir: string;
  let conf: string;
  let agent: AgentProcess | undefined;

  const start = async (): Promise<AgentProcess> => {
    agent = await startAgentProcess({
      args: ["-data-dir", dataDir, "-config-file", conf, "-bind", "127.0.0.1", "-node", "persist"],
    });
    return agent;
  };
  const call = async (method: string, path: string, body?: object): Promise<Response> => {
    if (!agent) throw new Error("no agent");
    const res = await fetch(`${agent.url}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return res;
  };
  const ok = async (method: string, path: string, body?: object): Promise<void> => {
    const res = await call(method, path, body);
    assert.equal(res.status, 200, `${method} ${path}: ${await res.text()}`);
  };
  const checks = async (): Promise<Record<string, Check>> =>
    (await (await call("GET", "/v1/agent/checks")).json()) as Record<string, Check>;
  const services = async (): Promise<Record<string, unknown>> =>
    (await (await call("GET", "/v1/agent/services")).json()) as Record<string, unknown>;
  const catalogWeb = async (): Promise<{ CreateIndex: number }[]> =>
    (await (await call("GET", "/v1/catalog/service/web")).json()) as { CreateIndex: number }[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-persist-"));
    dataDir = join(dir, "data");
    conf = join(dir, "agent.json");
    await writeFile(
      conf,
      JSON.stringify({ services: [{ name: "cfg", port: 1, checks: [{ ttl: "10m" }] }] }),
    );
  });
  after(async () => {
    await agent?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  test("registrations, TTL status and maintenance come back after SIGTERM, kill -9 and reload", async () => {
    await start();
    await ok("PUT", "/v1/agent/service/register", {
      Name: "web",
      Port: 80,
      Tags: ["a"],
      Check: { TTL: "10m" },
    });
    await ok("PUT", "/v1/agent/check/register", {
      Name: "ping",
      ID: "ping",
      TTL: "10m",
      Notes: "node-level",
    });
    await ok("PUT", "/v1/agent/check/register", { Name: "short", ID: "short", TTL: "1s" });
    await ok("PUT", "/v1/agent/check/pass/service:web?note=all%20good");
    await ok("PUT", "/v1/agent/check/warn/ping?note=slow");
    await ok("PUT", "/v1/agent/check/pass/short?note=soon%20stale");
    // A config-file TTL check's status is kept too (Consul persists every TTL check's state).
    await ok("PUT", "/v1/agent/check/warn/service:cfg?note=from%20config");
    await ok("PUT", "/v1/agent/service/maintenance/web?enable=true&reason=deploying");
    await ok("PUT", "/v1/agent/maintenance?enable=true&reason=patching");
    const createIndex = (await catalogWeb())[0]?.CreateIndex;
    assert.ok(createIndex);

    const expectRestored = async (how: string): Promise<void> => {
      const s = await services();
      assert.deepEqual(Object.keys(s).sort(), ["cfg", "web"], how);
      const c = await checks();
      assert.equal(c["service:web"]?.Status, "passing", how);
      assert.equal(c["service:web"]?.Output, "all good", how);
      assert.equal(c["ping"]?.Status, "warning", how);
      assert.equal(c["ping"]?.Output, "slow", how);
      assert.equal(c["ping"]?.Notes, "node-level", how);
      assert.equal(c["_service_maintenance:web"]?.Status, "critical", how);
      assert.equal(c["_service_maintenance:web"]?.Notes, "deploying", how);
      assert.equal(c["_node_maintenance"]?.Notes, "patching", how);
      assert.equal(c["service:cfg"]?.Status, "warning", how);
      assert.equal(c["service:cfg"]?.Output, "from config", how);
      // The catalog entry was never removed as a stray and re-added: same CreateIndex.
      assert.equal((await catalogWeb())[0]?.CreateIndex, createIndex, `${how}: catalog entry kept`);
    };

    await agent?.stop();
    // The short TTL lapses while the agent is down: its status is not restored.
    await new Promise((r) => setTimeout(r, 1200));
    await start();
    await expectRestored("after SIGTERM");
    const short = (await checks())["short"];
    assert.equal(short?.Status, "critical");
    assert.ok(!short?.Output.includes("soon stale"), short?.Output);

    await agent?.kill();
    await start();
    await expectRestored("after kill -9");

    await ok("PUT", "/v1/agent/reload");
    await expectRestored("after reload");
    agent?.proc.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    await expectRestored("after SIGHUP");

    // Config-file services are defined by the config, not persisted a second time.
    assert.equal((await readdir(join(dataDir, "services"))).length, 1);
  });

  test("deregistered services and checks and ended maintenance stay gone after a restart", async () => {
    if (!agent || agent.proc.exitCode !== null) await start();
    await ok("PUT", "/v1/agent/service/maintenance/web?enable=false");
    await ok("PUT", "/v1/agent/maintenance?enable=false");
    await ok("PUT", "/v1/agent/service/deregister/web");
    await ok("PUT", "/v1/agent/check/deregister/ping");
    await agent?.kill();
    await start();
    assert.deepEqual(Object.keys(await services()), ["cfg"]);
    assert.deepEqual(Object.keys(await checks()).sort(), ["service:cfg", "short"]);
    await ok("PUT", "/v1/agent/check/deregister/short");
    await agent?.stop();
    await start();
    assert.deepEqual(Object.keys(await checks()), ["service:cfg"]);
    assert.deepEqual(await catalogWeb(), []);
    assert.deepEqual(await readdir(join(dataDir, "services")), []);
  });
});

void test("agent - a restored TTL status lapses after a whole TTL, quoting the restored output", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "augur-persist-ttl-"));
  try {
    const first = await startTestAgent({ dev: false, dataDir });
    assert.equal(
      (await first.call("PUT", "/v1/agent/check/register", { Name: "t", TTL: "3s" })).status,
      200,
    );
    assert.equal((await first.call("PUT", "/v1/agent/check/pass/t?note=last%20words")).status, 200);
    await first.stop();
    const second = await startTestAgent({ dev: false, dataDir });
    try {
      const read = async (): Promise<Check | undefined> =>
        ((await (await second.call("GET", "/v1/agent/checks")).json()) as Record<string, Check>)[
          "t"
        ];
      assert.equal((await read())?.Status, "passing");
      await new Promise((r) => setTimeout(r, 3300));
      assert.equal((await read())?.Status, "critical");
      assert.equal(
        (await read())?.Output,
        "TTL expired (last output before timeout follows): last words",
      );
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

void test("agent - a config-file service replaces a persisted API registration with the same id", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "augur-persist-cfg-"));
  try {
    const first = await startTestAgent({ dev: false, dataDir });
    assert.equal(
      (
        await first.call("PUT", "/v1/agent/service/register", {
          Name: "dup",
          Port: 1,
          Check: { TTL: "1h" },
        })
      ).status,
      200,
    );
    await first.stop();
    assert.equal((await readdir(join(dataDir, "services"))).length, 1);
    const def = decodeServiceDefinition(
      { name: "dup", port: 2, checks: [{ ttl: "1h" }] },
      { config: true, path: "services[0]." },
    );
    const second = await startTestAgent({ dev: false, dataDir, services: [def] });
    try {
      const services = (await (await second.call("GET", "/v1/agent/services")).json()) as Record<
        string,
        { Port: number }
      >;
      assert.equal(services["dup"]?.Port, 2);
      assert.equal(second.running.agent.local.service("dup")?.source, "config");
      assert.deepEqual(await readdir(join(dataDir, "services")), []);
      assert.deepEqual(await readdir(join(dataDir, "checks")), ["state"]);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
