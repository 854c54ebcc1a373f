/**
 * Issue #12, item 6: Debian's dnsmasq forwarding the `consul` domain to augur, configured as
 * Consul's DNS forwarding guide configures it (`server=/consul/127.0.0.1#8600`, here with the
 * agent's random DNS port), answers service, SRV and node lookups, follows check changes (augur's
 * TTL 0 keeps dnsmasq from caching), and passes augur's NXDOMAIN through, over UDP and TCP.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startDnsmasq, type Dnsmasq } from "../helpers/dnsmasq-process.js";
import { until } from "../helpers/until.js";
import { dig, type DigRecord } from "./dig.js";
import { startDnsAgent, type DnsAgent } from "./resolver-fixtures.js";

const dataOf = (records: readonly DigRecord[]): string[] => records.map((r) => r.data).sort();
/** An SRV record's data: `<priority> <weight> <port> <target>`. */
const srvField = (r: DigRecord, i: number): string => r.data.split(" ")[i] ?? "";

describe("dnsmasq forwarding consul to augur", () => {
  let augur: DnsAgent;
  let dnsmasq: Dnsmasq;
  before(async () => {
    augur = await startDnsAgent();
    dnsmasq = await startDnsmasq({ config: [`server=/consul/127.0.0.1#${augur.dnsPort}`] });
    for (const [i, port] of [
      [1, 8081],
      [2, 8082],
    ] as const) {
      await augur.call("PUT", "/v1/agent/service/register", {
        ID: `web-${i}`,
        Name: "web",
        Address: `127.0.0.2${i}`,
        Port: port,
        Check: { TTL: "60s", Status: "passing" },
      });
    }
  });
  after(async () => {
    await dnsmasq?.stop();
    await augur?.agent.stop();
  });

  it("dnsmasq - a service's A records come from augur through the forwarder", async () => {
    const viaDnsmasq = await dig(dnsmasq.port, ["web.service.consul", "A"]);
    assert.equal(viaDnsmasq.status, "NOERROR", dnsmasq.output());
    assert.deepEqual(dataOf(viaDnsmasq.answer), ["127.0.0.21", "127.0.0.22"]);
    const direct = await dig(augur.dnsPort, ["web.service.consul", "A"]);
    assert.deepEqual(dataOf(viaDnsmasq.answer), dataOf(direct.answer));
  });

  it("dnsmasq - SRV answers keep augur's ports, targets and additional A records", async () => {
    const srv = await dig(dnsmasq.port, ["web.service.consul", "SRV"]);
    assert.equal(srv.status, "NOERROR");
    const ports = srv.answer.map((r) => srvField(r, 2)).sort();
    assert.deepEqual(ports, ["8081", "8082"]);
    const targets = srv.answer.map((r) => srvField(r, 3));
    const glue = new Map(srv.additional.filter((r) => r.type === "A").map((r) => [r.name, r.data]));
    assert.deepEqual(targets.map((t) => glue.get(t)).sort(), ["127.0.0.21", "127.0.0.22"]);
  });

  it("dnsmasq - RFC 2782 names and node names resolve through it", async () => {
    const rfc = await dig(dnsmasq.port, ["_web._tcp.service.consul", "SRV"]);
    assert.deepEqual(rfc.answer.map((r) => srvField(r, 2)).sort(), ["8081", "8082"]);
    const node = await dig(dnsmasq.port, [`${augur.nodeName}.node.consul`, "A"]);
    assert.equal(node.status, "NOERROR");
    assert.deepEqual(dataOf(node.answer), ["127.0.0.1"]);
  });

  it("dnsmasq - augur's NXDOMAIN for an unknown service reaches the client", async () => {
    const missing = await dig(dnsmasq.port, ["nope.service.consul", "A"]);
    assert.equal(missing.status, "NXDOMAIN");
    assert.deepEqual(missing.answer, []);
  });

  it("dnsmasq - over TCP, dnsmasq forwards over TCP to augur", async () => {
    const tcp = await dig(dnsmasq.port, ["web.service.consul", "A", "+tcp"]);
    assert.equal(tcp.status, "NOERROR");
    assert.deepEqual(dataOf(tcp.answer), ["127.0.0.21", "127.0.0.22"]);
  });

  it("dnsmasq - a critical instance leaves its answers, and comes back when it passes", async () => {
    const addresses = async (): Promise<string> =>
      dataOf((await dig(dnsmasq.port, ["web.service.consul", "A"])).answer).join(",");
    await augur.call("PUT", "/v1/agent/check/fail/service:web-2");
    await until(async () => (await addresses()) === "127.0.0.21", "web-2 to leave the answers");
    await augur.call("PUT", "/v1/agent/check/pass/service:web-2");
    await until(
      async () => (await addresses()) === "127.0.0.21,127.0.0.22",
      "web-2 to come back into the answers",
    );
  });
});
