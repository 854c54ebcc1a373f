/**
 * Debian's `prometheus` with `consul_sd_configs` pointed at a real `augur agent -dev`: its
 * targets API must list the registered services with the right `__meta_consul_*` labels.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { freePort } from "../helpers/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

/**
 * Debian's prometheus 2.42.0+ds-5 is built without Consul service discovery ("Disable Consul SD
 * until its Debian package is back in shape", changelog.Debian): its config loader rejects
 * `consul_sd_configs`. Detect that and skip with the reason rather than pretend.
 */
function consulSdMissing(): string | false {
  try {
    const strings = execFileSync("grep", ["-c", "consul_sd_configs", "/usr/bin/prometheus"], {
      encoding: "utf8",
    }).trim();
    return strings === "0"
      ? "Debian's prometheus binary is built without consul_sd_configs (see changelog.Debian)"
      : false;
  } catch {
    return "Debian's prometheus binary is built without consul_sd_configs (see changelog.Debian), or is not installed";
  }
}

interface Target {
  discoveredLabels: Record<string, string>;
}

describe("prometheus consul_sd (Debian)", { skip: consulSdMissing() }, () => {
  let agent: AgentProcess;
  let prom: ChildProcess;
  let dir: string;
  let promUrl: string;
  let promLog = "";

  before(async () => {
    agent = await startAgentProcess();
    const put = (path: string, body?: object): Promise<Response> =>
      fetch(`${agent.url}${path}`, {
        method: "PUT",
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    await put("/v1/agent/service/register", {
      Name: "api",
      ID: "api-1",
      Port: 9100,
      Address: "127.0.0.5",
      Tags: ["a", "b"],
      Meta: { team: "core" },
      Check: { TTL: "30s" },
    });
    await put("/v1/agent/check/pass/service:api-1");
    await put("/v1/agent/service/register", {
      Name: "cache",
      ID: "cache-1",
      Port: 6379,
      Check: { TTL: "30s" },
    });
    await put("/v1/agent/service/maintenance/cache-1?enable=true");
    dir = await mkdtemp(join(tmpdir(), "augur-prom-"));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    await writeFile(
      join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: 1m\nscrape_configs:\n  - job_name: consul\n    consul_sd_configs:\n      - server: "${agent.httpAddr}"\n        refresh_interval: 1s\n`,
    );
    prom = spawn(
      "/usr/bin/prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prom.stderr?.setEncoding("utf8").on("data", (d: string) => (promLog += d));
  });
  after(async () => {
    prom.kill("SIGTERM");
    await new Promise((r) => prom.once("exit", r));
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("prometheus - discovers every service with consul meta labels and health", async () => {
    let targets: Target[] = [];
    const end = Date.now() + 45_000;
    while (Date.now() < end) {
      try {
        const res = await fetch(`${promUrl}/api/v1/targets`);
        const body = (await res.json()) as { data: { activeTargets: Target[] } };
        targets = body.data.activeTargets;
        if (targets.length >= 2) break;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(
      targets.length,
      2,
      `prometheus targets: ${JSON.stringify(targets)}\n${promLog.slice(-2000)}`,
    );
    const api = targets.find(
      (t) => t.discoveredLabels["__meta_consul_service"] === "api",
    )?.discoveredLabels;
    assert.ok(api);
    assert.equal(api["__address__"], "127.0.0.5:9100");
    assert.equal(api["__meta_consul_service_id"], "api-1");
    assert.equal(api["__meta_consul_tags"], ",a,b,");
    assert.equal(api["__meta_consul_health"], "passing");
    assert.equal(api["__meta_consul_service_metadata_team"], "core");
    assert.equal(api["__meta_consul_dc"], "dc1");
    assert.equal(api["__meta_consul_node"], agent.output().match(/node=(\S+)/)?.[1]);
    const cache = targets.find(
      (t) => t.discoveredLabels["__meta_consul_service"] === "cache",
    )?.discoveredLabels;
    assert.equal(cache?.["__meta_consul_health"], "maintenance");
    assert.equal(cache?.["__address__"], "127.0.0.1:6379");
  });
});
