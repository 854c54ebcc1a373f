/**
 * DNS under ACLs: answers are filtered by the default token (`acl.tokens.default`, else the
 * anonymous token), as Consul's DNS interface does, through Debian's `dig`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { aclDenyByDefault, startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { dig, dnsSettings } from "./dig.js";

const MANAGEMENT = "8a8b8c8d-8888-4888-8888-88888888abcd";

void describe("dns - ACLs filter answers by the default token", () => {
  let a: TestAgent;
  let port = 0;
  const as = { "X-Consul-Token": MANAGEMENT };
  before(async () => {
    a = await startTestAgent({
      dns: dnsSettings({}),
      acl: aclDenyByDefault(MANAGEMENT),
    });
    port = a.running.dnsAddresses[0]?.port ?? 0;
    for (const [node, addr, svc] of [
      ["pub1", "10.1.0.1", "web"],
      ["priv1", "10.1.0.2", "db"],
    ] as const) {
      const res = await a.call(
        "PUT",
        "/v1/catalog/register",
        { Node: node, Address: addr, Service: { Service: svc, Port: 80 } },
        as,
      );
      assert.equal(await res.text(), "true");
    }
  });
  after(() => a.stop());

  void it("dns - the anonymous token under default deny answers nothing", async () => {
    assert.equal((await dig(port, ["web.service.consul", "A"])).status, "NXDOMAIN");
    assert.equal((await dig(port, ["pub1.node.consul", "A"])).status, "NXDOMAIN");
    assert.equal((await dig(port, ["-x", "10.1.0.1"])).answer.length, 0);
  });

  void it("dns - a default token with service and node read sees just those", async () => {
    const policy = await a.call(
      "PUT",
      "/v1/acl/policy",
      {
        Name: "dns",
        Rules: 'service "web" { policy = "read" }\nnode "pub1" { policy = "read" }',
      },
      as,
    );
    assert.equal(policy.status, 200);
    const token = (await (
      await a.call("PUT", "/v1/acl/token", { Policies: [{ Name: "dns" }] }, as)
    ).json()) as { SecretID: string };
    const set = await a.call("PUT", "/v1/agent/token/default", { Token: token.SecretID }, as);
    assert.equal(set.status, 200);
    const web = await dig(port, ["web.service.consul", "A"]);
    assert.deepEqual(
      web.answer.map((r) => r.data),
      ["10.1.0.1"],
    );
    assert.equal((await dig(port, ["db.service.consul", "A"])).status, "NXDOMAIN");
    assert.equal((await dig(port, ["pub1.node.consul", "A"])).status, "NOERROR");
    assert.equal((await dig(port, ["priv1.node.consul", "A"])).status, "NXDOMAIN");
  });
});
