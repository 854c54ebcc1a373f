/**
 * DNS from a real `augur agent -dev -dns-port 0` process, through dig over UDP and TCP: the
 * listener line in the log, a service registered through the agent API answered as A and SRV,
 * the agent's own node, and `-dns-port -1` turning DNS off.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { until } from "../helpers/until.js";
import { dig } from "./dig.js";

describe("dns - a real agent process", () => {
  let agent: AgentProcess;
  let port = 0;

  before(async () => {
    agent = await startAgentProcess({ args: ["-dev", "-node", "dns-proc"] });
    await until(
      () => /DNS listening on 127\.0\.0\.1:(\d+) \(udp and tcp\)/.test(agent.output()),
      "the DNS listening line",
    );
    port = Number(/DNS listening on 127\.0\.0\.1:(\d+)/.exec(agent.output())?.[1]);
    const res = await fetch(`${agent.url}/v1/agent/service/register`, {
      method: "PUT",
      body: JSON.stringify({ Name: "web", Port: 8080, Tags: ["blue"] }),
    });
    assert.equal(res.status, 200);
  });
  after(() => agent?.stop());

  for (const t of [[], ["+tcp"]]) {
    it(`web.service.consul SRV and A ${t.length ? "over TCP" : "over UDP"}`, async () => {
      // Registration reaches the catalog through anti-entropy's first sync: poll for it.
      await until(
        async () => (await dig(port, [...t, "web.service.consul", "SRV"])).answer.length === 1,
        "web in DNS",
      );
      const srv = await dig(port, [...t, "web.service.consul", "SRV"]);
      assert.equal(srv.answer[0]?.data, "1 1 8080 dns-proc.node.dc1.consul.");
      assert.deepEqual(
        srv.additional.filter((x) => x.type === "A").map((x) => `${x.name} ${x.data}`),
        ["dns-proc.node.dc1.consul. 127.0.0.1"],
      );
      assert.equal(
        (await dig(port, [...t, "blue.web.service.consul"])).answer[0]?.data,
        "127.0.0.1",
      );
      assert.equal((await dig(port, [...t, "dns-proc.node.consul"])).answer[0]?.data, "127.0.0.1");
      // -dev is a server: the consul service names this agent as the domain's name server.
      const ns = await dig(port, [...t, "consul", "NS"]);
      assert.deepEqual(
        ns.answer.map((x) => x.data),
        ["dns-proc.node.dc1.consul."],
      );
    });
  }

  it("-dns-port -1 disables DNS", async () => {
    const off = await startAgentProcess({ args: ["-dev", "-dns-port", "-1"] });
    try {
      // The DNS line would come before "watches started", which the agent logs last at start.
      await until(() => off.output().includes("watches started"), "the agent's last start line");
      assert.ok(!off.output().includes("DNS listening"));
      assert.equal((await fetch(`${off.url}/v1/status/leader`)).status, 200);
    } finally {
      await off.stop();
    }
  });
});
