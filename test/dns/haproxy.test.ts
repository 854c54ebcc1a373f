/**
 * Issue #12, item 6: Debian's HAProxy with a `resolvers` section on augur's DNS port and a
 * `server-template` on `_web._tcp.service.consul` fills its server slots from augur's SRV answers
 * (ports, and targets resolved by the additional section's A records), and its backends follow
 * the service as instances register, fail their HTTP checks, recover and deregister. HAProxy's
 * own `check` probes `/`, which always answers 200, so a backend leaving HAProxy can only come
 * from augur's answers; the runtime API (`show servers state`) shows what HAProxy made of them.
 *
 * Each instance has an address of its own (127.0.0.11-13), so each SRV record has its own target.
 * Several instances on one node share one target (`<node>.node.dc1.consul`); then HAProxy 2.6
 * fills only two slots when the additional section also carries the node-meta TXT records that
 * Consul adds by default (`enable_additional_node_meta_txt`; seen while writing this test). The
 * last suite shows that every slot fills with the TXT records turned off.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/free-port.js";
import { SRV_ADMF_MAINT, startHaproxy, type Haproxy } from "../helpers/haproxy-process.js";
import { until } from "../helpers/until.js";
import { startDnsAgent, type DnsAgent } from "./resolver-fixtures.js";

/** A web backend answering `/` with its name, and `/health` with a status the test sets. */
interface Backend {
  readonly name: string;
  /** Its own loopback address, as a host of its own would have. */
  readonly address: string;
  readonly port: number;
  healthy: boolean;
  readonly server: Server;
}

async function startBackend(name: string, address: string): Promise<Backend> {
  const backend = { name, address, port: 0, healthy: true } as {
    -readonly [K in keyof Backend]: Backend[K];
  };
  backend.server = createServer((req, res) => {
    if (req.url === "/health") res.statusCode = backend.healthy ? 200 : 500;
    res.end(name);
  }).listen(0, address);
  await once(backend.server, "listening");
  backend.port = (backend.server.address() as { port: number }).port;
  return backend;
}

const haproxyConfig = (dnsPort: number, frontendPort: number): string => `
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s

# Short holds and timeouts so HAProxy re-asks augur often; Consul's answers carry TTL 0.
resolvers augur
  nameserver augur 127.0.0.1:${dnsPort}
  accepted_payload_size 8192
  resolve_retries 3
  timeout resolve 100ms
  timeout retry 200ms
  hold valid 100ms
  hold nx 100ms
  hold other 100ms
  hold refused 100ms
  hold timeout 100ms
  hold obsolete 0s

frontend web_in
  bind 127.0.0.1:${frontendPort}
  default_backend web

backend web
  balance roundrobin
  server-template web 5 _web._tcp.service.consul resolvers augur resolve-prefer ipv4 init-addr none check inter 200ms
`;

/**
 * The slots HAProxy has in service (an address, no maintenance bit) as sorted `addr:port`s; with
 * `running`, only those its own check also sees up.
 */
async function inService(haproxy: Haproxy, running = false): Promise<string[]> {
  return (await haproxy.serversState("web"))
    .filter((s) => s.addr !== "-" && s.addr !== "0.0.0.0" && (s.adminState & SRV_ADMF_MAINT) === 0)
    .filter((s) => !running || s.opState === 2)
    .map((s) => `${s.addr}:${s.port}`)
    .sort();
}

/** Until HAProxy has exactly `expected` in service and running. */
async function waitForEndpoints(haproxy: Haproxy, expected: string[], what: string): Promise<void> {
  let last: string[] = [];
  const same = (a: string[], b: string[]): boolean => JSON.stringify(a) === JSON.stringify(b);
  await until(
    async () =>
      same((last = await inService(haproxy, true)), expected) &&
      same(await inService(haproxy), expected),
    what,
    20_000,
  ).catch((err: unknown) => {
    const state = `HAProxy runs ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`;
    throw new Error(`${String(err)}\n${state}\nHAProxy's log:\n${haproxy.output()}`);
  });
}

describe("HAProxy server-template on augur's SRV answers", () => {
  let augur: DnsAgent;
  let haproxy: Haproxy;
  let frontendPort: number;
  const backends: Backend[] = [];

  const endpointsOf = (...indexes: number[]): string[] =>
    indexes.map((i) => `${backends[i]?.address}:${backends[i]?.port}`).sort();
  const waitFor = (expected: string[], what: string): Promise<void> =>
    waitForEndpoints(haproxy, expected, what);
  const register = (i: number): Promise<string> =>
    augur.call("PUT", "/v1/agent/service/register", {
      ID: `web-${i}`,
      Name: "web",
      Address: backends[i]?.address,
      Port: backends[i]?.port,
      Check: { HTTP: `http://${backends[i]?.address}:${backends[i]?.port}/health`, Interval: "1s" },
    });

  before(async () => {
    for (let i = 0; i < 3; i++) backends.push(await startBackend(`web-${i}`, `127.0.0.${11 + i}`));
    augur = await startDnsAgent();
    frontendPort = await freePort();
    haproxy = await startHaproxy(haproxyConfig(augur.dnsPort, frontendPort));
  });
  after(async () => {
    await haproxy?.stop();
    await augur?.agent.stop();
    for (const b of backends) b.server.close();
  });

  it("haproxy - no instance registered: every slot waits in maintenance", async () => {
    assert.deepEqual(await inService(haproxy), []);
    assert.equal((await haproxy.serversState("web")).length, 5);
  });

  it("haproxy - instances appear in its slots as they register and pass", async () => {
    await register(0);
    await register(1);
    await waitFor(endpointsOf(0, 1), "web-0 and web-1 in service");
    await register(2);
    await waitFor(endpointsOf(0, 1, 2), "web-2 joining");
  });

  it("haproxy - requests through it reach every instance in service", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++)
      seen.add(await (await fetch(`http://127.0.0.1:${frontendPort}/`)).text());
    assert.deepEqual([...seen].sort(), ["web-0", "web-1", "web-2"]);
  });

  it("haproxy - an instance whose check turns critical leaves, and returns on recovery", async () => {
    const failing = backends[1] as Backend;
    failing.healthy = false;
    await waitFor(endpointsOf(0, 2), "web-1 to leave after its check failed");
    assert.match(haproxy.output(), /entry removed from SRV record/);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++)
      seen.add(await (await fetch(`http://127.0.0.1:${frontendPort}/`)).text());
    assert.deepEqual([...seen].sort(), ["web-0", "web-2"]);
    failing.healthy = true;
    await waitFor(endpointsOf(0, 1, 2), "web-1 to come back after its check passed");
  });

  it("haproxy - a deregistered instance leaves its slot", async () => {
    await augur.call("PUT", "/v1/agent/service/deregister/web-0");
    await waitFor(endpointsOf(1, 2), "web-0 to leave after deregistration");
  });
});

describe("HAProxy and several instances on one node (one SRV target)", () => {
  let augur: DnsAgent;
  let haproxy: Haproxy;
  let dir: string;
  const backends: Backend[] = [];
  before(async () => {
    for (let i = 0; i < 3; i++) backends.push(await startBackend(`web-${i}`, "127.0.0.1"));
    dir = await mkdtemp(join(tmpdir(), "augur-haproxy-agent-"));
    await writeFile(
      join(dir, "dns.hcl"),
      "dns_config {\n  enable_additional_node_meta_txt = false\n}\n",
    );
    augur = await startDnsAgent(["-config-file", join(dir, "dns.hcl")]);
    haproxy = await startHaproxy(haproxyConfig(augur.dnsPort, await freePort()));
  });
  after(async () => {
    await haproxy?.stop();
    await augur?.agent.stop();
    for (const b of backends) b.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("haproxy - without node-meta TXT records, every instance behind the node's target gets a slot", async () => {
    for (const [i, b] of backends.entries())
      await augur.call("PUT", "/v1/agent/service/register", {
        ID: `web-${i}`,
        Name: "web",
        Port: b.port,
        Check: { HTTP: `http://127.0.0.1:${b.port}/health`, Interval: "1s" },
      });
    const all = backends.map((b) => `127.0.0.1:${b.port}`).sort();
    await waitForEndpoints(haproxy, all, "three instances of one node in service");
    const failing = backends[0] as Backend;
    failing.healthy = false;
    const rest = all.filter((e) => e !== `127.0.0.1:${failing.port}`);
    await waitForEndpoints(haproxy, rest, "web-0 to leave after its check failed");
    failing.healthy = true;
    await waitForEndpoints(haproxy, all, "web-0 to come back after its check passed");
  });
});
