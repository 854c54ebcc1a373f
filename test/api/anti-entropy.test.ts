import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { AUGUR_BIN } from "../helpers/agent-process.js";

describe("anti-entropy, metrics and the issue's rendered config", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent({ fullSyncIntervalMs: 200 })));
  after(async () => a.stop());

  it("anti-entropy - a service removed from the catalog behind the agent's back comes back", async () => {
    assert.equal(
      (await a.call("PUT", "/v1/agent/service/register", { Name: "keeper", Check: { TTL: "30s" } }))
        .status,
      200,
    );
    const [before] = (await (await a.call("GET", "/v1/catalog/service/keeper")).json()) as {
      CreateIndex: number;
    }[];
    assert.ok(before, "registered");
    assert.equal(
      (await a.call("PUT", "/v1/catalog/deregister", { Node: "node1", ServiceID: "keeper" }))
        .status,
      200,
    );
    // Anti-entropy runs every 200 ms here, so the removal may already be repaired by the time a
    // read could see it: a CreateIndex past the first one shows it was removed and written back.
    const end = Date.now() + 10_000;
    let back: { CreateIndex: number }[] = [];
    while (!(back[0] && back[0].CreateIndex > before.CreateIndex) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      back = (await (await a.call("GET", "/v1/catalog/service/keeper")).json()) as {
        CreateIndex: number;
      }[];
    }
    assert.equal(back.length, 1);
    assert.ok(
      (back[0]?.CreateIndex ?? 0) > before.CreateIndex,
      "the service was removed and registered again",
    );
    const checks = (await (await a.call("GET", "/v1/health/checks/keeper")).json()) as unknown[];
    assert.equal(checks.length, 1);
  });

  it("anti-entropy - a stray service on this node that the agent does not know is removed", async () => {
    await a.call("PUT", "/v1/catalog/register", {
      Node: "node1",
      Address: "127.0.0.1",
      Service: { Service: "stray" },
    });
    const end = Date.now() + 5000;
    let left: unknown[] = [1];
    while (left.length > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await (await a.call("GET", "/v1/catalog/service/stray")).json()) as unknown[];
    }
    assert.deepEqual(left, []);
  });

  it("checks - deregister_critical_service_after removes a service whose check stayed critical", async () => {
    await a.call("PUT", "/v1/agent/service/register", {
      Name: "doomed",
      Check: { TTL: "1s", DeregisterCriticalServiceAfter: "1s" },
    });
    await a.call("PUT", "/v1/agent/check/fail/service:doomed");
    const end = Date.now() + 8000;
    let present = true;
    while (present && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      const svcs = (await (await a.call("GET", "/v1/agent/services")).json()) as Record<
        string,
        unknown
      >;
      present = "doomed" in svcs;
    }
    assert.equal(present, false, "the service was reaped");
    assert.deepEqual(await (await a.call("GET", "/v1/catalog/service/doomed")).json(), []);
  });

  it("metrics - Prometheus exposition with request and blocking-query metrics", async () => {
    const res = await a.call("GET", "/v1/agent/metrics?format=prometheus");
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^augur_http_requests_total\{/m);
    assert.match(text, /^augur_http_blocking_queries \d+/m);
    assert.match(text, /^augur_process_resident_memory_bytes /m);
  });

  it("config - the issue's rendered Consul file starts an agent unchanged (port moved to 0)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-rendered-"));
    const file = join(dir, "consul.json");
    await writeFile(
      file,
      JSON.stringify({
        node_name: "consulServer",
        addresses: { http: "127.0.0.1 127.0.0.2" },
        server: true,
        advertise_addr: "127.0.0.1",
        client_addr: "127.0.0.1",
        connect: { enabled: true },
        data_dir: join(dir, "data"),
        bootstrap: true,
        watches: [{ type: "checks", handler: "/etc/augur/watch_script.py" }],
      }),
    );
    const proc = spawn(
      process.execPath,
      [AUGUR_BIN, "agent", "-config-file", file, "-http-port", "0", "-dns-port", "0"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const end = Date.now() + 15_000;
    while (
      (out.match(/HTTP API listening on/g) ?? []).length < 2 &&
      Date.now() < end &&
      proc.exitCode === null
    )
      await new Promise((r) => setTimeout(r, 100));
    const addrs = [...out.matchAll(/HTTP API listening on (\S+)/g)].map((m) => m[1]);
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    await rm(dir, { recursive: true, force: true });
    assert.equal(addrs.length, 2, out);
    assert.ok(addrs[0]?.startsWith("127.0.0.1:") && addrs[1]?.startsWith("127.0.0.2:"), out);
    assert.doesNotMatch(out, /"server" has no effect/, "server is honoured, not a no-op");
    assert.doesNotMatch(out, /unknown config key/, "Consul's keys are known, not unknown");
    assert.match(out, /"connect" is a Consul feature augur does not have/);
  });
});
