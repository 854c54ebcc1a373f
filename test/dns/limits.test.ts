/**
 * Answer sizes and selection, through dig: udp_answer_limit without EDNS, the EDNS0 buffer size,
 * TCP for the whole set, the TC bit only under enable_truncate, a_record_limit, only_passing, the
 * per-query shuffle; and a service with 10,000 instances, whose answers stay bounded and whose
 * resolution is measured against the event loop.
 */
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import type { DnsServer } from "../../src/dns/server.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { dig, dnsSettings, startDns } from "./dig.js";

const ipOf = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function registerMany(
  a: TestAgent,
  service: string,
  count: number,
  nodes: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const res = await a.call("PUT", "/v1/catalog/register", {
        Node: `${service}-n${i % nodes}`,
        Address: ipOf(100_000 + (i % nodes)),
        Service: {
          ID: `${service}-${i}`,
          Service: service,
          Port: 1000 + (i % 60_000),
          Address: ipOf(i + 1),
        },
      });
      assert.equal(res.status, 200);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

describe("dns limits - answer counts, sizes and truncation", () => {
  let a: TestAgent;
  const servers: DnsServer[] = [];
  let port: number;

  before(async () => {
    a = await startTestAgent({
      dns: dnsSettings({ udpAnswerLimit: 3, enableTruncate: true }),
    });
    port = a.running.dnsAddresses[0]?.port ?? 0;
    await registerMany(a, "many", 20, 20);
  });
  after(async () => {
    for (const s of servers) await s.close();
    await a?.stop();
  });

  it("UDP without EDNS: udp_answer_limit answers and the TC bit; TCP: all of them", async () => {
    const udp = await dig(port, ["+noedns", "+ignore", "many.service.consul"]);
    assert.equal(udp.answer.length, 3);
    assert.ok(udp.flags.includes("tc"), udp.raw);
    const tcp = await dig(port, ["+tcp", "many.service.consul"]);
    assert.equal(tcp.answer.length, 20);
    assert.ok(!tcp.flags.includes("tc"));
    // dig retries over TCP on its own when it sees TC, as resolvers do.
    assert.equal((await dig(port, ["+noedns", "many.service.consul"])).answer.length, 20);
  });

  it("EDNS0: the client's buffer size is honoured (all 20 in 4096 bytes, fewer in 600, with TC)", async () => {
    const big = await dig(port, ["+bufsize=4096", "+ignore", "many.service.consul"]);
    assert.equal(big.answer.length, 20);
    assert.ok(!big.flags.includes("tc"));
    const small = await dig(port, ["+bufsize=600", "+ignore", "many.service.consul", "SRV"]);
    assert.ok(small.answer.length > 0 && small.answer.length < 20, String(small.answer.length));
    assert.ok(small.flags.includes("tc"));
    // Each kept SRV still has its target's address.
    for (const srv of small.answer) {
      const target = srv.data.split(" ")[3];
      assert.ok(
        small.additional.some((x) => x.name === target && x.type === "A"),
        target,
      );
    }
  });

  it("without enable_truncate the answer is cut without the TC bit, as Consul", async () => {
    const s = await startDns(a, dnsSettings({ udpAnswerLimit: 3 }));
    servers.push(s.server);
    const r = await dig(s.port, ["+noedns", "+ignore", "many.service.consul"]);
    assert.equal(r.answer.length, 3);
    assert.ok(!r.flags.includes("tc"));
  });

  it("a_record_limit caps address answers on every transport", async () => {
    const s = await startDns(a, dnsSettings({ aRecordLimit: 2 }));
    servers.push(s.server);
    assert.equal((await dig(s.port, ["+tcp", "many.service.consul"])).answer.length, 2);
  });

  it("answers are shuffled per query", async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 30 && firsts.size < 2; i++)
      firsts.add((await dig(port, ["+tcp", "many.service.consul"])).answer[0]?.data ?? "");
    assert.ok(firsts.size >= 2);
  });

  it("only_passing drops instances with a warning check; the default keeps them", async () => {
    const res = await a.call("PUT", "/v1/catalog/register", {
      Node: "many-n0",
      Address: ipOf(100_000),
      Check: { CheckID: "warn", Name: "w", Status: "warning", ServiceID: "many-0" },
    });
    assert.equal(res.status, 200);
    const s = await startDns(a, dnsSettings({ onlyPassing: true }));
    servers.push(s.server);
    const strict = await dig(s.port, ["+tcp", "many.service.consul"]);
    assert.equal(strict.answer.length, 19);
    assert.ok(!strict.answer.some((x) => x.data === ipOf(1)));
    assert.equal((await dig(port, ["+tcp", "many.service.consul"])).answer.length, 20);
  });
});

describe("dns limits - a service with 10,000 instances", () => {
  let a: TestAgent;
  let port: number;

  before(async () => {
    a = await startTestAgent({ dns: dnsSettings() });
    port = a.running.dnsAddresses[0]?.port ?? 0;
    await registerMany(a, "huge", 10_000, 100);
  });
  after(() => a?.stop());

  it("answers stay within the packet (UDP: 3, TCP: what fits 64 KiB) and the event loop keeps going", async () => {
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const udp = await dig(port, ["+noedns", "+ignore", "huge.service.consul"]);
    const tcpA = await dig(port, ["+tcp", "huge.service.consul"]);
    const tcpSrv = await dig(port, ["+tcp", "huge.service.consul", "SRV"]);
    h.disable();
    assert.equal(udp.answer.length, 3);
    assert.ok(tcpA.answer.length > 1000 && tcpA.answer.length <= 4096, String(tcpA.answer.length));
    assert.ok(
      tcpSrv.answer.length > 100 && tcpSrv.answer.length <= 1024,
      String(tcpSrv.answer.length),
    );
    assert.equal(tcpSrv.status, "NOERROR");
    // Measured, not asserted (a loaded machine must not fail the test): the worst stall.
    console.log(`10,000 instances: worst event-loop delay ${(h.max / 1e6).toFixed(1)} ms`);
    assert.equal((await a.call("GET", "/v1/status/leader")).status, 200);
  });
});
