/**
 * start_join / retry_join on a real etcd with real agent processes: an agent with no etcd
 * endpoints learns them (and the key prefix) from another agent's HTTP API and joins its
 * catalog; retry_join keeps trying until an agent answers, and gives up after retry_max; joining
 * an agent that is not in cluster mode fails with a clear error.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { freePort } from "../helpers/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUGUR_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { until } from "../watch/manager-helpers.js";

/** Runs `augur agent args...` to its exit; the agent is expected to fail before listening. */
async function agentExit(args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(
    process.execPath,
    [AUGUR_BIN, "agent", "-http-port", "0", "-dns-port", "0", ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  proc.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [code] = (await once(proc, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, out };
}

describe("joining a cluster through another agent (start_join, retry_join)", () => {
  let etcd: EtcdCluster;
  let dir = "";
  let seed: AgentProcess;
  const agents: AgentProcess[] = [];
  const prefix = `join${process.pid}/`;
  const base = (node: string): string[] => [
    "-node",
    node,
    "-data-dir",
    join(dir, node),
    "-bind",
    "127.0.0.1",
  ];
  const start = async (args: string[], onOutput?: (out: string) => void): Promise<AgentProcess> => {
    const a = await startAgentProcess({
      args,
      startTimeoutMs: 30_000,
      ...(onOutput ? { onOutput } : {}),
    });
    agents.push(a);
    return a;
  };
  const members = async (a: AgentProcess): Promise<[string, number][]> =>
    (
      (await (await fetch(`${a.url}/v1/agent/members`)).json()) as {
        Name: string;
        Status: number;
      }[]
    ).map((m) => [m.Name, m.Status]);

  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-join-"));
    seed = await start([
      ...base("seed"),
      `-etcd=${etcd.clientUrls.join(",")}`,
      "-etcd-prefix",
      prefix,
    ]);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("join - an agent with only -retry-join learns the etcd endpoints and prefix and shares the catalog", async () => {
    const self = (await (await fetch(`${seed.url}/v1/agent/self`)).json()) as { Cluster: unknown };
    assert.deepEqual(self.Cluster, {
      Store: "etcd",
      Etcd: { Endpoints: etcd.clientUrls, Prefix: prefix },
    });
    const joiner = await start([...base("joiner"), "-retry-join", seed.httpAddr]);
    assert.deepEqual(
      ((await (await fetch(`${joiner.url}/v1/agent/self`)).json()) as { Cluster: unknown }).Cluster,
      self.Cluster,
    );
    await until(async () => (await members(seed)).length === 2, 10_000, "seed lists the joiner");
    assert.deepEqual(await members(seed), [
      ["joiner", 1],
      ["seed", 1],
    ]);
    await fetch(`${joiner.url}/v1/kv/joined`, { method: "PUT", body: "yes" });
    const kv = await (await fetch(`${seed.url}/v1/kv/joined?raw`)).text();
    assert.equal(kv, "yes", "one catalog: a write on the joiner is read on the seed");
    assert.match(joiner.output(), /Join cluster completed/);
  });

  it("join - a config file's start_join (host:port) joins once at start", async () => {
    const { writeFile } = await import("node:fs/promises");
    const conf = join(dir, "starter.json");
    await writeFile(
      conf,
      JSON.stringify({ start_join: [seed.httpAddr], server: true, bootstrap_expect: 3 }),
    );
    const starter = await start([...base("starter"), "-config-file", conf]);
    await until(
      async () => (await members(starter)).some(([n, s]) => n === "starter" && s === 1),
      10_000,
      "starter joined",
    );
    assert.ok((await members(starter)).some(([n]) => n === "seed"));
    assert.match(
      starter.output(),
      /"bootstrap_expect" has no effect: in augur the etcd members are the servers/,
      "Consul's Raft bootstrap keys load with a notice",
    );
    const self = (await (await fetch(`${starter.url}/v1/agent/self`)).json()) as {
      Config: { Server: boolean };
    };
    assert.equal(self.Config.Server, true, "server: true presents as a server");
  });

  it("join - retry_join keeps trying until an agent answers at the address", async () => {
    const port = await freePort();
    let failedRounds!: () => void;
    const twoFailedRounds = new Promise<void>((r) => (failedRounds = r));
    const late = start(
      [...base("late"), "-retry-join", `127.0.0.1:${port}`, "-retry-interval", "200ms"],
      (out) => {
        if ((out.match(/Join cluster failed, will retry/g) ?? []).length >= 2) failedRounds();
      },
    );
    // The target starts only once the late agent has failed twice: however slow the machine, the
    // retries are what this test sees, not a lucky first try.
    await twoFailedRounds;
    await start([
      ...base("target"),
      `-etcd=${etcd.clientUrls.join(",")}`,
      "-etcd-prefix",
      prefix,
      "-http-port",
      String(port),
    ]);
    const joined = await late;
    assert.match(
      joined.output(),
      /Join cluster failed, will retry: cluster=LAN retry_interval=200ms/,
    );
    await until(
      async () => (await members(joined)).some(([n, s]) => n === "late" && s === 1),
      10_000,
      "late joined",
    );
    assert.ok((await members(joined)).some(([n]) => n === "target"));
  });

  it("join - retry_max rounds without an answer stop the agent with exit 1", async () => {
    const port = await freePort();
    const { code, out } = await agentExit([
      ...base("never"),
      "-retry-join",
      `127.0.0.1:${port}`,
      "-retry-interval",
      "50ms",
      "-retry-max",
      "3",
    ]);
    assert.equal(code, 1);
    assert.equal(out.match(/Join cluster failed, will retry/g)?.length, 2, out);
    assert.match(out, /max join retry exhausted/);
  });

  it("join - start_join to an agent that is not in cluster mode fails with the reason", async () => {
    const dev = await start(["-dev"]);
    const { code, out } = await agentExit([...base("lost"), "-join", dev.httpAddr]);
    assert.equal(code, 1);
    assert.match(
      out,
      new RegExp(
        `Failed to join ${dev.httpAddr.replace(/\./g, "\\.")}: ${dev.httpAddr.replace(/\./g, "\\.")} is not in cluster mode \\(its store is memory\\)`,
      ),
    );
  });

  it("join - cloud auto-join addresses are refused at load", async () => {
    const { code, out } = await agentExit([
      ...base("cloud"),
      "-retry-join",
      "provider=aws tag_key=consul tag_value=x",
    ]);
    assert.equal(code, 1);
    assert.match(out, /retry_join: cloud auto-join \("provider=aws.*"\) is not supported/);
  });
});
