/**
 * Checks augur does not run are refused whole (nothing is left registered), a DockerContainerID
 * never runs a script on the host, and TTLs past Node's 24.8-day timer limit work.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { decodeServiceDefinition } from "../../src/config/definitions.js";

void describe("agent - check registration", () => {
  let agent: TestAgent;
  let dir: string;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);

  before(async () => {
    process.on("warning", onWarning);
    dir = await mkdtemp(join(tmpdir(), "augur-checks-"));
    agent = await startTestAgent({ enableScriptChecks: true });
  });
  after(async () => {
    process.off("warning", onWarning);
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const json = async (path: string): Promise<unknown> => (await agent.call("GET", path)).json();

  for (const [type, fields] of [["os_service", { OSService: "sshd", Interval: "10s" }]] as const) {
    test(`check/register - a ${type} check is refused with 400 and leaves nothing registered`, async () => {
      const res = await agent.call("PUT", "/v1/agent/check/register", {
        Name: `c-${type}`,
        ...fields,
      });
      assert.equal(res.status, 400);
      assert.match(
        await res.text(),
        new RegExp(`^Invalid check: ${type}.* not supported by augur`),
      );
      assert.deepEqual(await json("/v1/agent/checks"), {});
    });
  }

  for (const [fields, why] of [
    [{ TTL: "-10s" }, "Invalid check: TTL must be > 0 for TTL checks"],
    [
      { HTTP: "http://127.0.0.1:1/", Interval: "-1s" },
      "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks",
    ],
  ] as const) {
    test(`check/register - a negative duration is refused as Consul refuses it (${JSON.stringify(fields)})`, async () => {
      const res = await agent.call("PUT", "/v1/agent/check/register", { Name: "neg", ...fields });
      assert.equal(res.status, 400);
      assert.equal(await res.text(), why);
      assert.deepEqual(await json("/v1/agent/checks"), {});
    });
  }

  test("service/register - an unsupported embedded check refuses the whole service", async () => {
    const res = await agent.call("PUT", "/v1/agent/service/register", {
      Name: "web",
      Checks: [{ TTL: "30s" }, { OSService: "sshd", Interval: "10s" }],
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /os_service \(OSService\) checks are not supported/);
    await agent.running.agent.flush();
    assert.deepEqual(await json("/v1/agent/services"), {});
    assert.deepEqual(await json("/v1/agent/checks"), {});
    assert.deepEqual(await json("/v1/catalog/service/web"), []);
    assert.deepEqual(await json("/v1/health/service/web?passing"), []);
  });

  test("a check with DockerContainerID and Args is a docker check: refused, never run on the host", async () => {
    const marker = join(dir, "ran");
    const res = await agent.call("PUT", "/v1/agent/check/register", {
      Name: "dock",
      DockerContainerID: "abc123",
      Args: ["touch", marker],
      Interval: "1s",
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /docker \(DockerContainerID\) checks are not supported/);
    assert.deepEqual(await json("/v1/agent/checks"), {});
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(existsSync(marker), false);
  });

  test("a config-file service with an unsupported check stops the agent from starting", async () => {
    const def = decodeServiceDefinition(
      { name: "cfg", checks: [{ os_service: "sshd", interval: "10s" }] },
      { config: true, path: "services[0]." },
    );
    await assert.rejects(
      startTestAgent({ services: [def] }),
      /os_service \(OSService\) checks are not supported/,
    );
  });

  test("a TTL over 24.8 days (Node's timer limit) does not lapse at once", async () => {
    assert.equal(
      (await agent.call("PUT", "/v1/agent/check/register", { Name: "long", TTL: "720h" })).status,
      200,
    );
    assert.equal((await agent.call("PUT", "/v1/agent/check/pass/long?note=fine")).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const checks = (await json("/v1/agent/checks")) as Record<
      string,
      { Status: string; Output: string }
    >;
    assert.equal(checks["long"]?.Status, "passing");
    assert.equal(checks["long"]?.Output, "fine");
    assert.deepEqual(
      warnings.filter((w) => w.name === "TimeoutOverflowWarning"),
      [],
    );
    await agent.call("PUT", "/v1/agent/check/deregister/long");
  });

  test("an interval and timeout over 24.8 days: one probe, which is not cut short", async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      // Answer late enough that a timeout firing at once (the overflow) would win.
      setTimeout(() => res.end("ok"), 100);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await agent.call("PUT", "/v1/agent/check/register", {
        Name: "slow",
        HTTP: `http://127.0.0.1:${port}/`,
        Interval: "800h",
        Timeout: "800h",
      });
      assert.equal(res.status, 200);
      // The first probe is staggered by up to 5 s.
      const deadline = Date.now() + 8000;
      const slow = async (): Promise<{ Status: string; Output: string } | undefined> =>
        ((await json("/v1/agent/checks")) as Record<string, { Status: string; Output: string }>)[
          "slow"
        ];
      while (Date.now() < deadline && (await slow())?.Output === "")
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await slow())?.Status, "passing", (await slow())?.Output);
      assert.equal(hits, 1);
      assert.deepEqual(
        warnings.filter((w) => w.name === "TimeoutOverflowWarning"),
        [],
      );
    } finally {
      await agent.call("PUT", "/v1/agent/check/deregister/slow");
      server.close();
    }
  });
});
