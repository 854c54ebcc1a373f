/**
 * The DNS interface through a real resolver client, Debian's `dig`, over UDP and TCP, against an
 * in-process agent: every name form (service, tag, RFC 2782, node, prepared query, addr, reverse)
 * and every record kind (A, AAAA, SRV + additional, TXT, SOA, NS, PTR, NXDOMAIN, NODATA).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { dig, dnsSettings, type DigRecord } from "./dig.js";

const data = (rs: DigRecord[], type?: string): string[] =>
  rs
    .filter((r) => type === undefined || r.type === type)
    .map((r) => r.data)
    .sort();

describe("dns - dig against an in-process agent", () => {
  let a: TestAgent;
  let port: number;
  const register = async (body: object): Promise<void> => {
    const res = await a.call("PUT", "/v1/catalog/register", body);
    assert.equal(await res.text(), "true");
  };

  before(async () => {
    a = await startTestAgent({
      dns: dnsSettings({
        altDomain: "alt.test.",
        serviceTtlSeconds: { web: 30, "*": 5 },
        nodeTtlSeconds: 7,
      }),
    });
    port = a.running.dnsAddresses[0]?.port ?? 0;
    assert.ok(port > 0);
    await register({
      Node: "n1",
      Address: "10.0.0.1",
      NodeMeta: { rack: "r1", "rfc1035-raw": "plain" },
      Service: { ID: "web1", Service: "web", Port: 8080, Tags: ["v1"] },
    });
    await register({
      Node: "n2",
      Address: "10.0.0.2",
      Service: { ID: "web2", Service: "web", Port: 8081, Address: "10.0.1.2", Tags: ["v2"] },
    });
    await register({
      Node: "n6",
      Address: "fd00::6",
      Service: { ID: "db6", Service: "db", Port: 5432 },
    });
    await register({
      Node: "srv1",
      Address: "10.0.0.9",
      Service: { ID: "consul", Service: "consul", Port: 8300 },
    });
    await register({
      Node: "n3",
      Address: "10.0.0.3",
      Service: { ID: "web3", Service: "web", Port: 8082 },
      Check: { CheckID: "web3-down", Name: "down", Status: "critical", ServiceID: "web3" },
    });
    const q = await a.call("POST", "/v1/query", { Name: "webq", Service: { Service: "web" } });
    assert.equal(q.status, 200);
  });
  after(() => a?.stop());

  for (const tcp of [false, true]) {
    const t = tcp ? ["+tcp"] : [];
    const over = tcp ? "TCP" : "UDP";

    it(`service A over ${over} - instances' service address, else node address; critical ones left out`, async () => {
      const r = await dig(port, [...t, "web.service.consul", "A"]);
      assert.equal(r.status, "NOERROR");
      assert.ok(r.flags.includes("aa"));
      assert.deepEqual(data(r.answer), ["10.0.0.1", "10.0.1.2"]);
      assert.ok(r.answer.every((x) => x.ttl === 30 && x.name === "web.service.consul."));
    });

    it(`service SRV over ${over} - port and target, the target's A in the additional section`, async () => {
      const r = await dig(port, [...t, "web.service.consul", "SRV"]);
      assert.equal(r.status, "NOERROR");
      assert.deepEqual(data(r.answer), [
        "1 1 8080 n1.node.dc1.consul.",
        "1 1 8081 0a000102.addr.dc1.consul.",
      ]);
      const extra = r.additional.filter((x) => x.type === "A");
      assert.deepEqual(extra.map((x) => `${x.name} ${x.data}`).sort(), [
        "0a000102.addr.dc1.consul. 10.0.1.2",
        "n1.node.dc1.consul. 10.0.0.1",
      ]);
      // Node meta as TXT for the node target (enable_additional_node_meta_txt).
      assert.deepEqual(data(r.additional, "TXT"), ['"plain"', '"rack=r1"']);
    });

    it(`tag and RFC 2782 names over ${over}`, async () => {
      assert.deepEqual(data((await dig(port, [...t, "v1.web.service.consul"])).answer), [
        "10.0.0.1",
      ]);
      assert.deepEqual(data((await dig(port, [...t, "_web._v2.service.consul", "SRV"])).answer), [
        "1 1 8081 0a000102.addr.dc1.consul.",
      ]);
      assert.equal((await dig(port, [...t, "_web._tcp.service.consul", "SRV"])).answer.length, 2);
      assert.equal((await dig(port, [...t, "_web._tcp.consul", "SRV"])).answer.length, 2);
    });

    it(`node A, AAAA, TXT and ANY over ${over}`, async () => {
      const n1 = await dig(port, [...t, "n1.node.consul", "A"]);
      assert.deepEqual(data(n1.answer), ["10.0.0.1"]);
      assert.equal(n1.answer[0]?.ttl, 7);
      assert.deepEqual(data(n1.additional, "TXT"), ['"plain"', '"rack=r1"']);
      assert.deepEqual(data((await dig(port, [...t, "n6.node.dc1.consul", "AAAA"])).answer), [
        "fd00::6",
      ]);
      assert.deepEqual(data((await dig(port, [...t, "n1.node.consul", "TXT"])).answer), [
        '"plain"',
        '"rack=r1"',
      ]);
      const any = await dig(port, [...t, "n1.node.consul", "ANY"]);
      assert.deepEqual(data(any.answer, "A"), ["10.0.0.1"]);
      assert.equal(any.answer.filter((x) => x.type === "TXT").length, 2);
    });

    it(`service AAAA, prepared query, addr and PTR over ${over}`, async () => {
      assert.deepEqual(data((await dig(port, [...t, "db.service.consul", "AAAA"])).answer), [
        "fd00::6",
      ]);
      assert.deepEqual(data((await dig(port, [...t, "webq.query.consul", "A"])).answer), [
        "10.0.0.1",
        "10.0.1.2",
      ]);
      assert.equal((await dig(port, [...t, "webq.query.consul", "SRV"])).answer.length, 2);
      assert.deepEqual(data((await dig(port, [...t, "0a000001.addr.consul", "A"])).answer), [
        "10.0.0.1",
      ]);
      assert.deepEqual(data((await dig(port, [...t, "-x", "10.0.0.2"])).answer), [
        "n2.node.dc1.consul.",
      ]);
      assert.deepEqual(data((await dig(port, [...t, "-x", "10.0.1.2"])).answer), [
        "web.service.dc1.consul.",
      ]);
      assert.deepEqual(data((await dig(port, [...t, "-x", "fd00::6"])).answer), [
        "n6.node.dc1.consul.",
      ]);
    });

    it(`SOA and NS for the domain over ${over}`, async () => {
      const soa = await dig(port, [...t, "consul", "SOA"]);
      assert.equal(soa.status, "NOERROR");
      assert.match(
        soa.answer[0]?.data ?? "",
        /^ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/,
      );
      assert.deepEqual(data(soa.authority, "NS"), ["srv1.node.dc1.consul."]);
      const ns = await dig(port, [...t, "consul", "NS"]);
      assert.deepEqual(data(ns.answer), ["srv1.node.dc1.consul."]);
      assert.deepEqual(data(ns.additional, "A"), ["10.0.0.9"]);
    });

    it(`unknown names are NXDOMAIN with the SOA; known names without the type are NOERROR with the SOA (${over})`, async () => {
      for (const name of [
        "nope.service.consul",
        "n9.node.consul",
        "x.y.consul",
        "web.service.dc2.consul",
        "nq.query.consul",
      ]) {
        const r = await dig(port, [...t, name, "A"]);
        assert.equal(r.status, "NXDOMAIN", name);
        assert.equal(r.answer.length, 0);
        assert.equal(r.authority[0]?.type, "SOA", name);
      }
      const mx = await dig(port, [...t, "web.service.consul", "MX"]);
      assert.equal(mx.status, "NOERROR");
      assert.equal(mx.answer.length, 0);
      assert.equal(mx.authority[0]?.type, "SOA");
      const ptr = await dig(port, [...t, "-x", "192.0.2.77"]);
      assert.equal(ptr.status, "NXDOMAIN");
    });
  }

  it("names are case-insensitive, and the alt domain answers in its own name", async () => {
    const r = await dig(port, ["WEB.Service.CONSUL", "A"]);
    assert.deepEqual(data(r.answer), ["10.0.0.1", "10.0.1.2"]);
    const alt = await dig(port, ["web.service.alt.test", "SRV"]);
    assert.deepEqual(data(alt.answer), [
      "1 1 8080 n1.node.dc1.alt.test.",
      "1 1 8081 0a000102.addr.dc1.alt.test.",
    ]);
    const soa = await dig(port, ["nope.service.alt.test"]);
    assert.equal(soa.status, "NXDOMAIN");
    assert.equal(soa.authority[0]?.name, "alt.test.");
  });

  it("service_ttl: the exact name first, else the wildcard", async () => {
    const db = await dig(port, ["db.service.consul", "AAAA"]);
    assert.equal(db.answer[0]?.ttl, 5);
  });

  it("a check turning critical drops the instance; passing again brings it back", async () => {
    const body = (status: string): object => ({
      Node: "n1",
      Address: "10.0.0.1",
      Check: { CheckID: "web1-c", Name: "c", Status: status, ServiceID: "web1" },
    });
    await register(body("critical"));
    assert.deepEqual(data((await dig(port, ["web.service.consul"])).answer), ["10.0.1.2"]);
    await register(body("warning"));
    assert.deepEqual(data((await dig(port, ["web.service.consul"])).answer), [
      "10.0.0.1",
      "10.0.1.2",
    ]);
    await register(body("passing"));
    assert.deepEqual(data((await dig(port, ["web.service.consul"])).answer), [
      "10.0.0.1",
      "10.0.1.2",
    ]);
  });

  it("names outside the domain are refused without recursors", async () => {
    const r = await dig(port, ["example.com", "A"]);
    assert.equal(r.status, "REFUSED");
  });
});
