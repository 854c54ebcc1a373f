/**
 * Replies assembled from pre-encoded records (src/dns/wire.ts) against dns-packet: for random
 * questions (mixed case, random ids and flags) and random answer sets, the assembled reply decodes
 * to exactly what dns-packet's own encoding of the same reply decodes to, and its uncompressed
 * length is dns-packet's. Then over a real socket: a service answer echoes the question as asked,
 * comes compressed, and the cached records follow a catalog change.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { after, before, describe, it } from "node:test";
import * as packet from "dns-packet";
import type { Answer } from "dns-packet";
import { assembleReply, plainQuestionEnd, uncompressedLength } from "../../src/dns/wire.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { dnsSettings, startDns } from "./dig.js";
import type { DnsServer } from "../../src/dns/server.js";

/** A seeded generator, so a failure names the seed that reproduces it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function label(r: () => number): string {
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
  const n = 1 + Math.floor(r() * 20);
  let s = "";
  for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
  return s;
}

function record(r: () => number, name: string): Answer {
  const ttl = Math.floor(r() * 100_000);
  const octet = (): number => Math.floor(r() * 256);
  switch (Math.floor(r() * 4)) {
    case 0:
      return { type: "A", name, ttl, data: `${octet()}.${octet()}.${octet()}.${octet()}` };
    case 1:
      return { type: "AAAA", name, ttl, data: `2001:db8::${octet().toString(16)}` };
    case 2:
      return { type: "CNAME", name, ttl, data: `${label(r)}.${label(r)}` };
    default:
      return { type: "TXT", name, ttl, data: [Buffer.from(label(r))] };
  }
}

const OPT = (size: number): Answer =>
  ({
    type: "OPT",
    name: ".",
    udpPayloadSize: size,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  }) as Answer;

describe("dns assembled replies", () => {
  it("decode as dns-packet's own encoding of the same reply, for random answer sets", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const labels = Array.from({ length: 1 + Math.floor(r() * 4) }, () => label(r));
      const qtype = (["A", "AAAA", "ANY", "TXT"] as const)[Math.floor(r() * 4)] as string;
      const id = Math.floor(r() * 65536);
      const query = packet.encode({
        id,
        type: "query",
        flags: r() < 0.5 ? packet.RECURSION_DESIRED : 0,
        questions: [
          { type: qtype, name: labels.join("."), class: r() < 0.8 ? "IN" : "ANY" },
        ] as packet.Question[],
      });
      const q = packet.decode(query).questions?.[0] as packet.Question;
      const answers = Array.from({ length: 1 + Math.floor(r() * 12) }, () => record(r, q.name));
      const opt = r() < 0.5 ? OPT(512 + Math.floor(r() * 4000)) : undefined;
      const flags =
        packet.AUTHORITATIVE_ANSWER |
        (r() < 0.5 ? packet.TRUNCATED_RESPONSE : 0) |
        (r() < 0.2 ? 3 : 0);
      const expected = packet.encode({
        id,
        type: "response",
        flags,
        questions: [q],
        answers,
        additionals: opt ? [opt] : [],
      });
      const end = plainQuestionEnd(query);
      assert.equal(end, 12 + packet.encodingLength({ questions: [q] }) - 12, `seed ${seed}`);
      const trailer = opt ? packet.encode({ additionals: [opt] }).subarray(12) : undefined;
      // Twice: the second time every record's wire form comes from the cache.
      for (let round = 0; round < 2; round++) {
        const got = assembleReply(query, end as number, flags, answers, trailer);
        assert.deepEqual(packet.decode(got), packet.decode(expected), `seed ${seed}`);
        assert.ok(got.length <= expected.length, `seed ${seed}: compressed is no longer`);
        // The question is echoed byte for byte as asked.
        assert.deepEqual(got.subarray(12, end), query.subarray(12, end), `seed ${seed}`);
      }
      assert.equal(
        uncompressedLength(end as number, answers),
        expected.length - (opt ? 11 : 0),
        `seed ${seed}`,
      );
    }
  });

  it("only questions that can be echoed as they came are taken", () => {
    const ok = packet.encode({ id: 1, type: "query", questions: [{ type: "A", name: "a.b" }] });
    assert.equal(plainQuestionEnd(ok), ok.length);
    const chaos = Buffer.from(ok);
    chaos.writeUInt16BE(3, ok.length - 2);
    assert.equal(plainQuestionEnd(chaos), undefined, "class CH");
    const qu = Buffer.from(ok);
    qu.writeUInt16BE(0x8001, ok.length - 2);
    assert.equal(plainQuestionEnd(qu), undefined, "the mDNS QU bit");
    const pointer = Buffer.from([...ok.subarray(0, 12), 0xc0, 0x0c, 0, 1, 0, 1]);
    assert.equal(plainQuestionEnd(pointer), undefined, "a compression pointer");
    assert.equal(plainQuestionEnd(ok.subarray(0, ok.length - 1)), undefined, "cut short");
  });
});

describe("dns assembled replies over a real socket", () => {
  let agent: TestAgent;
  let server: DnsServer;
  let port: number;

  before(async () => {
    agent = await startTestAgent();
    ({ server, port } = await startDns(agent, dnsSettings()));
    for (const [id, address] of [
      ["w1", "10.1.0.1"],
      ["w2", "10.1.0.2"],
    ] as const)
      assert.ok(
        (
          await agent.call("PUT", "/v1/agent/service/register", {
            ID: id,
            Name: "web",
            Address: address,
          })
        ).ok,
      );
  });
  after(async () => {
    await server.close();
    await agent.stop();
  });

  async function ask(name: string, id: number): Promise<Buffer> {
    const s = createSocket("udp4");
    try {
      const reply = new Promise<Buffer>((resolve) => s.once("message", resolve));
      s.send(
        packet.encode({ id, type: "query", questions: [{ type: "A", name }] }),
        port,
        "127.0.0.1",
      );
      return await reply;
    } finally {
      s.close();
    }
  }

  it("echoes the question as asked, compresses the answers, and follows catalog changes", async () => {
    await until(
      async () => packet.decode(await ask("web.service.consul", 1)).answers?.length === 2,
      "both instances in the answers",
    );
    const first = await ask("wEb.SERVICE.consul", 4242);
    const decoded = packet.decode(first);
    assert.equal(decoded.id, 4242);
    assert.equal(decoded.questions?.[0]?.name, "wEb.SERVICE.consul");
    assert.deepEqual(
      decoded.answers?.map((a) => a.name),
      ["wEb.SERVICE.consul", "wEb.SERVICE.consul"],
    );
    assert.deepEqual(decoded.answers?.map((a) => ("data" in a ? a.data : undefined)).sort(), [
      "10.1.0.1",
      "10.1.0.2",
    ]);
    // 12 header + 24 question + two A records of 2 (pointer) + 14 bytes.
    assert.equal(first.length, 12 + 24 + 2 * 16);
    // A second ask takes the cached records; then a change to the service must show.
    const again = packet.decode(await ask("web.service.consul", 7));
    assert.equal(again.answers?.[0]?.name, "web.service.consul");
    assert.ok((await agent.call("PUT", "/v1/agent/service/deregister/w2")).ok);
    await until(
      async () =>
        JSON.stringify(
          packet
            .decode(await ask("wEb.SERVICE.consul", 8))
            .answers?.map((a) => ("data" in a ? a.data : undefined)),
        ) === JSON.stringify(["10.1.0.1"]),
      "the deregistered instance gone from the answers",
    );
  });
});
