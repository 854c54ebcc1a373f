/**
 * A reload hands the DNS interface its new settings, as Consul reloads dns_config: the service
 * TTL, only_passing and the domain change on the same listener.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { startAgent, type AgentSettings } from "../../src/main.js";
import { createLogger } from "../../src/lib/logger.js";
import { dig, dnsSettings } from "./dig.js";
import { testAgentSettings } from "../helpers/in-process-agent.js";

describe("dns - reload", () => {
  it("reload - dns_config, domain and only_passing apply to the running listener", async () => {
    let settings: AgentSettings = testAgentSettings({ dns: dnsSettings() });
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const running = await startAgent(settings, {
      logger: createLogger({ level: "warn", json: false, out: sink }),
      reloadSettings: async () => settings,
    });
    try {
      const port = running.dnsAddresses[0]?.port ?? 0;
      const http = running.addresses[0];
      const res = await fetch(`http://127.0.0.1:${http?.port}/v1/catalog/register`, {
        method: "PUT",
        body: JSON.stringify({
          Node: "n1",
          Address: "10.0.0.1",
          Service: { ID: "web1", Service: "web", Port: 80 },
          Check: { CheckID: "w", Name: "w", Status: "warning", ServiceID: "web1" },
        }),
      });
      assert.equal(res.status, 200);
      const before = await dig(port, ["web.service.consul"]);
      assert.equal(before.answer[0]?.ttl, 0);
      assert.equal(before.answer[0]?.data, "10.0.0.1");

      settings = {
        ...settings,
        dns: dnsSettings({
          domain: "corp.",
          serviceTtlSeconds: { web: 42 },
          addresses: settings.dns?.addresses ?? [],
        }),
      };
      await running.reload();
      const renamed = await dig(port, ["web.service.corp"]);
      assert.equal(renamed.answer[0]?.ttl, 42);
      assert.equal((await dig(port, ["web.service.consul"])).status, "REFUSED");

      settings = { ...settings, dns: dnsSettings({ domain: "corp.", onlyPassing: true }) };
      await running.reload();
      assert.equal((await dig(port, ["web.service.corp"])).status, "NXDOMAIN");
    } finally {
      await running.stop();
    }
  });
});
