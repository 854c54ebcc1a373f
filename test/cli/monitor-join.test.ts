/**
 * `augur monitor`, `augur join` and the refused Consul commands, as a user runs them: the `augur`
 * binary as a child process against real agent processes (and, for join, a real etcd).
 *
 * - monitor: streams the agent's lines (below its own level with `-log-level debug`, JSON with
 *   `-log-json`), ends cleanly on SIGINT (exit 0), reports a refused level as Consul does, and
 *   says "Remote side ended the monitor!" (exit 1) when the agent goes away.
 * - join: Consul's texts; succeeds against an agent that shares this agent's etcd and prefix,
 *   and otherwise says how to start this agent on the other agent's etcd.
 * - keyring, connect, services export...: one line saying why augur has none, exit 1, and a
 *   heading of their own in `augur --help`.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUGUR_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { until } from "../helpers/until.js";

interface Cli {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

function augur(args: string[]): Cli {
  const proc = spawn(process.execPath, [AUGUR_BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  proc.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  // Never leave a child behind if a test fails half way.
  const guard = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const exited = once(proc, "exit").then(([code]) => {
    clearTimeout(guard);
    return code as number | null;
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function runToExit(
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const cli = augur(args);
  const code = await cli.exited;
  return { code, out: cli.stdout(), err: cli.stderr() };
}

const reload = async (a: AgentProcess): Promise<void> => {
  assert.equal((await fetch(`${a.url}/v1/agent/reload`, { method: "PUT" })).status, 200);
};

describe("augur monitor", () => {
  let agent: AgentProcess;
  before(async () => {
    // At info: the monitor's debug lines are below the agent's own level.
    agent = await startAgentProcess({ args: ["-dev"] });
  });
  after(async () => {
    await agent.stop();
  });

  it("streams the agent's lines, debug included below the agent's own level; SIGINT ends it with 0", async () => {
    const cli = augur(["monitor", "-http-addr", agent.httpAddr, "-log-level", "debug"]);
    // The monitor's own request shows once its subscription is live: poll with requests until then.
    await until(async () => {
      await fetch(`${agent.url}/v1/agent/self`);
      return cli.stdout().includes("url=/v1/agent/self");
    }, "the monitor to show a debug line");
    await reload(agent);
    await until(() => cli.stdout().includes("reloaded configuration"), "the reload line");
    assert.match(
      cli.stdout(),
      /\[DEBUG\] agent\.http: Request finished: method=GET url=\/v1\/agent\/self/,
    );
    assert.match(cli.stdout(), /\[INFO\] {2}agent: reloaded configuration\n/);
    assert.ok(!agent.output().includes("[DEBUG]"), "the agent itself logs info and above");
    cli.proc.kill("SIGINT");
    assert.equal(await cli.exited, 0);
    assert.equal(cli.stderr(), "");
  });

  it("-log-json prints hclog JSON lines", async () => {
    const cli = augur(["monitor", `-http-addr=${agent.httpAddr}`, "-log-json"]);
    await until(async () => {
      await reload(agent);
      return cli.stdout().includes("reloaded configuration");
    }, "a JSON reload line");
    const line =
      cli
        .stdout()
        .split("\n")
        .find((l) => l.includes("reloaded configuration")) ?? "";
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ["@level", "@message", "@module", "@timestamp"]);
    assert.equal(parsed["@level"], "info");
    assert.equal(parsed["@message"], "reloaded configuration");
    cli.proc.kill("SIGINT");
    assert.equal(await cli.exited, 0);
  });

  it("a level the agent refuses: Consul's 'Error starting monitor', exit 1", async () => {
    const r = await runToExit(["monitor", "-http-addr", agent.httpAddr, "-log-level", "loud"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "Error starting monitor: Unexpected response code: 400 (Unknown log level: loud)\n",
    );
  });

  it("the agent going away ends the monitor: 'Remote side ended the monitor!', exit 1", async () => {
    const doomed = await startAgentProcess({ args: ["-dev"] });
    const cli = augur(["monitor", "-http-addr", doomed.httpAddr]);
    await until(async () => {
      await reload(doomed);
      return cli.stdout().includes("reloaded configuration");
    }, "the monitor to stream");
    await doomed.stop();
    assert.equal(await cli.exited, 1);
    assert.match(
      cli.stdout(),
      /\nRemote side ended the monitor! This usually means that the\nremote side has exited or crashed\.\n$/,
    );
  });
});

describe("augur join", () => {
  let etcd: EtcdCluster;
  let dir = "";
  const agents: AgentProcess[] = [];
  let seed: AgentProcess;
  let member: AgentProcess;
  let loner: AgentProcess;
  const prefix = `monjoin${process.pid}/`;
  const base = (node: string): string[] => ["-node", node, "-data-dir", join(dir, node)];
  const start = async (args: string[]): Promise<AgentProcess> => {
    const a = await startAgentProcess({ args, startTimeoutMs: 30_000 });
    agents.push(a);
    return a;
  };

  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-monjoin-"));
    seed = await start([
      ...base("seed"),
      `-etcd=${etcd.clientUrls.join(",")}`,
      "-etcd-prefix",
      prefix,
    ]);
    // Learns the etcd endpoints and prefix from the seed at start (-join).
    member = await start([...base("member"), "-join", seed.httpAddr]);
    loner = await start([...base("loner")]);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("no address: Consul's usage error, exit 1", async () => {
    const r = await runToExit(["join", "-http-addr", seed.httpAddr]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^At least one address to join must be specified\.\n\nUsage: augur join /);
  });

  it("an agent already on the same etcd and prefix: joined", async () => {
    const r = await runToExit(["join", "-http-addr", member.httpAddr, seed.httpAddr]);
    assert.deepEqual(
      [r.code, r.out, r.err],
      [0, "Successfully joined cluster by contacting 1 nodes.\n", ""],
    );
  });

  it("an agent on its own store: how to start it on the other agent's etcd, exit 1", async () => {
    const r = await runToExit(["join", "-http-addr", loner.httpAddr, seed.httpAddr]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const lines = r.err.split("\n");
    assert.equal(
      lines[0],
      `Error joining address '${seed.httpAddr}': Unexpected response code: 500 (Failed to join ${seed.httpAddr}: this agent keeps its catalog in its own disk store and cannot move it to that agent's etcd while running; restart this agent with -join=${seed.httpAddr} (or -etcd=${etcd.clientUrls.join(",")} -etcd-prefix=${prefix}))`,
    );
    assert.equal(lines[1], "Failed to join any nodes.");
  });

  it("a target that is not in cluster mode, and one that does not answer, are errors; one success is enough", async () => {
    const r = await runToExit([
      "join",
      "-http-addr",
      member.httpAddr,
      loner.httpAddr,
      "127.0.0.1:9",
      seed.httpAddr,
    ]);
    assert.equal(r.code, 0);
    assert.equal(r.out, "Successfully joined cluster by contacting 1 nodes.\n");
    assert.match(
      r.err,
      new RegExp(
        `^Error joining address '${loner.httpAddr}': Unexpected response code: 500 \\(Failed to join ${loner.httpAddr}: ${loner.httpAddr} is not in cluster mode \\(its store is disk\\)`,
      ),
    );
    assert.match(
      r.err,
      /\nError joining address '127\.0\.0\.1:9': Unexpected response code: 500 \(Failed to join 127\.0\.0\.1:9: /,
    );
  });

  it("-wan: refused, augur has no WAN pool", async () => {
    const r = await runToExit(["join", "-wan", "-http-addr", member.httpAddr, seed.httpAddr]);
    assert.equal(r.code, 1);
    assert.match(r.err, /augur has no WAN pool to join/);
  });

  it("an agent under another prefix of the same etcd: names the prefixes", async () => {
    const other = await start([
      ...base("other"),
      `-etcd=${etcd.clientUrls.join(",")}`,
      "-etcd-prefix",
      `${prefix}other/`,
    ]);
    const r = await runToExit(["join", "-http-addr", other.httpAddr, seed.httpAddr]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(
        `that agent's catalog is under etcd prefix "${prefix}", this agent's under "${prefix}other/"; restart this agent with -join=`,
      ),
    );
  });
});

describe("Consul commands augur refuses", () => {
  it("each answers one line saying why, exit 1, whatever its arguments", async () => {
    for (const args of [
      ["keyring", "-list"],
      ["connect", "envoy", "-sidecar-for", "web"],
      ["services", "export", "-name", "web"],
    ]) {
      const r = await runToExit(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.equal(r.out, "");
      const lines = r.err.split("\n");
      assert.equal(lines.length, 2, r.err);
      assert.match(
        lines[0] ?? "",
        /^"consul (keyring|connect|services export)" .*; augur has no (gossip|service mesh)/,
      );
    }
  });

  it("augur --help lists them under their own heading, not among the available commands", async () => {
    const r = await runToExit(["--help"]);
    assert.equal(r.code, 0);
    const [available, refused] = r.out.split(
      "Consul commands augur does not have (no gossip, no service mesh):\n",
    );
    assert.ok(refused, r.out);
    for (const name of ["keyring", "keygen", "rtt", "connect", "intention", "config", "peering"]) {
      assert.match(refused, new RegExp(`^ {4}${name} +\\S`, "m"), name);
      assert.doesNotMatch(available ?? "", new RegExp(`^ {4}${name} `, "m"), name);
    }
    assert.match(available ?? "", /^ {4}monitor +Stream logs/m);
    assert.match(available ?? "", /^ {4}join +Tell an augur agent/m);
    assert.doesNotMatch(r.out, /^ {4}acl /m, "acl is left for the ACL work");
  });
});
