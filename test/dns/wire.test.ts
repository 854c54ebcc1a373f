/**
 * The DNS server's wire side under bad and hostile input, with raw bytes over real sockets:
 * malformed and oversize packets, compression-pointer loops, unknown opcodes and classes, a
 * garbage flood, a TCP client that stalls after its length prefix, more TCP connections than the
 * bound; and forwarding to recursors (a tiny upstream DNS server in the test), including one that
 * never answers. The resolver is the real one over a real agent's catalog.
 */
import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import * as packet from "dns-packet";
import type { DnsServer } from "../../src/dns/server.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { dig, dnsSettings, startDns } from "./dig.js";

/** Sends one datagram; resolves with the reply, or undefined when none comes within `ms`. */
async function udpAsk(port: number, msg: Buffer, ms = 1000): Promise<Buffer | undefined> {
  const s = createSocket("udp4");
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      s.on("message", (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      s.send(msg, port, "127.0.0.1");
    });
  } finally {
    s.close();
  }
}

const query = (name: string, type = "A", extra: Partial<packet.Packet> = {}): Buffer =>
  packet.encode({
    id: 4242,
    type: "query",
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type: type as "A" }],
    ...extra,
  });

const rcodeOf = (reply: Buffer | undefined): number => (reply ? reply.readUInt16BE(2) & 0xf : -1);

describe("dns wire - bad input", () => {
  let a: TestAgent;
  let server: DnsServer;
  let port: number;

  before(async () => {
    a = await startTestAgent();
    await a.call("PUT", "/v1/catalog/register", {
      Node: "n1",
      Address: "10.0.0.1",
      Service: { Service: "web", Port: 80 },
    });
    ({ server, port } = await startDns(a, dnsSettings(), {
      tcpIdleTimeoutMs: 300,
      maxTcpConnections: 20,
    }));
  });
  after(async () => {
    await server?.close();
    await a?.stop();
  });

  it("too short to have a header: dropped; a header with garbage after it: FORMERR with the id", async () => {
    assert.equal(await udpAsk(port, Buffer.from([1, 2, 3]), 300), undefined);
    const garbage = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0x40, 0xff, 0xff]),
    ]);
    const reply = await udpAsk(port, garbage);
    assert.equal(reply?.readUInt16BE(0), 0x1234);
    assert.equal(rcodeOf(reply), 1);
    assert.ok(((reply?.readUInt16BE(2) ?? 0) & 0x8000) !== 0, "QR set");
  });

  it("a compression pointer loop is FORMERR, never a hang or a crash", async () => {
    // The question name is a pointer to itself (offset 12).
    const loop = Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    assert.equal(rcodeOf(await udpAsk(port, loop)), 1);
    // Two pointers pointing at each other.
    const pair = Buffer.from([0, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
    assert.equal(rcodeOf(await udpAsk(port, pair)), 1);
  });

  it("two questions are FORMERR; another opcode or class is NOTIMP; a response is dropped", async () => {
    const two = packet.encode({
      id: 1,
      type: "query",
      questions: [
        { name: "web.service.consul", type: "A" },
        { name: "web.service.consul", type: "A" },
      ],
    });
    assert.equal(rcodeOf(await udpAsk(port, two)), 1);
    const status = Buffer.from(query("web.service.consul"));
    status.writeUInt16BE((2 << 11) | 0x100, 2);
    assert.equal(rcodeOf(await udpAsk(port, status)), 4);
    const chaos = packet.encode({
      id: 2,
      type: "query",
      questions: [{ name: "version.bind", type: "TXT", class: "CH" }],
    });
    assert.equal(rcodeOf(await udpAsk(port, chaos)), 4);
    const response = packet.encode({
      id: 3,
      type: "response",
      questions: [{ name: "x", type: "A" }],
    });
    assert.equal(await udpAsk(port, response, 300), undefined);
  });

  it("an unknown query type for a known service is NOERROR without answers, as Consul's NODATA", async () => {
    const reply = await udpAsk(port, query("web.service.consul", "UNKNOWN_65280"));
    const decoded = packet.decode(reply as Buffer);
    assert.equal(rcodeOf(reply), 0);
    assert.equal(decoded.answers?.length, 0);
    assert.equal(decoded.authorities?.[0]?.type, "SOA");
  });

  it("a flood of garbage datagrams leaves both DNS and the HTTP API answering", async () => {
    const s = createSocket("udp4");
    const junk = Buffer.alloc(1400);
    for (let i = 0; i < 3000; i++) {
      junk.writeUInt32BE((i * 2654435761) >>> 0, i % 1300);
      s.send(junk, port, "127.0.0.1");
    }
    const oversize = Buffer.alloc(60_000, 0xc0);
    s.send(oversize, port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 50));
    s.close();
    const r = await dig(port, ["web.service.consul"]);
    assert.deepEqual(
      r.answer.map((x) => x.data),
      ["10.0.0.1"],
    );
    assert.equal((await a.call("GET", "/v1/status/leader")).status, 200);
  });

  it("TCP: a length prefix and then nothing is closed after the idle timeout", async () => {
    const c = connect(port, "127.0.0.1");
    let closed = false;
    c.on("close", () => (closed = true));
    c.on("error", () => undefined);
    c.write(Buffer.from([0x01, 0x00]));
    await until(() => closed, "the stalled TCP connection to be closed", 5000);
  });

  it("TCP: connections past the bound are closed at once, and the server still answers after", async () => {
    // Idle connections are kept a minute here, so only the bound can close any within the wait.
    const bounded = await startDns(a, dnsSettings(), {
      tcpIdleTimeoutMs: 60_000,
      maxTcpConnections: 20,
    });
    const held: Socket[] = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const c = connect(bounded.port, "127.0.0.1");
      c.on("error", () => undefined);
      c.on("close", () => refused++);
      held.push(c);
    }
    await until(() => refused >= 20, "connections past maxTcpConnections to be closed", 5000);
    assert.equal(refused, 20);
    for (const c of held) c.destroy();
    const r = await dig(bounded.port, ["+tcp", "web.service.consul"]);
    assert.equal(r.status, "NOERROR");
    await bounded.server.close();
  });

  it("TCP: pipelined queries on one connection are answered in order", async () => {
    const c = connect(port, "127.0.0.1");
    const frames = ["web.service.consul", "nope.service.consul"].map((n) => {
      const q = query(n);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      return Buffer.concat([len, q]);
    });
    let got = Buffer.alloc(0);
    c.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    // Split mid-frame: the framing must reassemble.
    const all = Buffer.concat(frames);
    c.write(all.subarray(0, 5));
    c.write(all.subarray(5));
    const replies = (): Buffer[] => {
      const out: Buffer[] = [];
      let rest = got;
      while (rest.length >= 2 && rest.length >= 2 + rest.readUInt16BE(0)) {
        out.push(rest.subarray(2, 2 + rest.readUInt16BE(0)));
        rest = rest.subarray(2 + rest.readUInt16BE(0));
      }
      return out;
    };
    await until(() => replies().length === 2, "two TCP replies");
    c.destroy();
    assert.deepEqual(
      replies().map((r) => rcodeOf(r)),
      [0, 3],
    );
  });
});

describe("dns wire - recursors", () => {
  let a: TestAgent;
  let upstream: UdpSocket;
  let silent: UdpSocket;
  let upstreamPort: number;
  let silentPort: number;
  const servers: DnsServer[] = [];

  before(async () => {
    a = await startTestAgent();
    upstream = createSocket("udp4");
    upstream.on("message", (msg, rinfo) => {
      const q = packet.decode(msg);
      upstream.send(
        packet.encode({
          id: q.id ?? 0,
          type: "response",
          flags: packet.RECURSION_AVAILABLE,
          questions: q.questions ?? [],
          answers: [{ type: "A", name: q.questions?.[0]?.name ?? "", ttl: 60, data: "192.0.2.10" }],
        }),
        rinfo.port,
        rinfo.address,
      );
    });
    silent = createSocket("udp4");
    silent.on("message", () => undefined);
    await Promise.all([
      new Promise<void>((r) => upstream.bind(0, "127.0.0.1", () => r())),
      new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r())),
    ]);
    upstreamPort = upstream.address().port;
    silentPort = silent.address().port;
  });
  after(async () => {
    for (const s of servers) await s.close();
    upstream?.close();
    silent?.close();
    await a?.stop();
  });

  it("a name outside the domain is forwarded to the recursor and its answer relayed", async () => {
    const { server, port } = await startDns(
      a,
      dnsSettings({ recursors: [{ host: "127.0.0.1", port: upstreamPort }] }),
    );
    servers.push(server);
    const r = await dig(port, ["example.com", "A"]);
    assert.equal(r.status, "NOERROR");
    assert.deepEqual(
      r.answer.map((x) => `${x.name} ${x.data}`),
      ["example.com. 192.0.2.10"],
    );
    assert.ok(r.flags.includes("ra"));
    // Over TCP from the client too; and an unknown reverse name goes upstream as well.
    assert.equal((await dig(port, ["+tcp", "example.org", "A"])).answer[0]?.data, "192.0.2.10");
    assert.equal((await dig(port, ["-x", "192.0.2.1"])).status, "NOERROR");
  });

  it("a recursor that never answers is skipped after recursor_timeout; none answering is SERVFAIL", async () => {
    const { server, port } = await startDns(
      a,
      dnsSettings({
        recursorTimeoutMs: 200,
        recursors: [
          { host: "127.0.0.1", port: silentPort },
          { host: "127.0.0.1", port: upstreamPort },
        ],
      }),
    );
    servers.push(server);
    assert.equal((await dig(port, ["example.com"])).answer[0]?.data, "192.0.2.10");
    const { server: s2, port: p2 } = await startDns(
      a,
      dnsSettings({ recursorTimeoutMs: 200, recursors: [{ host: "127.0.0.1", port: silentPort }] }),
    );
    servers.push(s2);
    const r = await dig(p2, ["example.com"]);
    assert.equal(r.status, "SERVFAIL");
  });
});
