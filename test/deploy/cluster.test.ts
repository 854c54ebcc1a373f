/**
 * Issue #15, item 4: the test cluster from one command. deploy/ansible/test-cluster/cluster.yml
 * makes 3 server and 2 client hosts, each a network namespace with its own address on a private
 * bridge, and runs the augur role on them under its plain supervisor (servers: an etcd member and
 * an agent; clients: an agent), with the seed's `checks` watch whose script appends a line.
 * Killing a client's agent shows up in every server's script output; a second run of the playbook
 * changes nothing; the teardown playbook leaves no namespace, process or file behind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "../helpers/until.js";
import { exists, alive } from "./deploy-helpers.js";

const ANSIBLE = fileURLToPath(new URL("../../../deploy/ansible/", import.meta.url));
const NETNS = join(ANSIBLE, "test-cluster/netns.sh");
/** Every run's namespaces are named `augurt-<random>-<host>`; "augurt" finds a crashed run's. */
const FAMILY = "augurt";
const SERVERS = ["s1", "s2", "s3"];
const HOSTS = [...SERVERS, "c1", "c2"];
const PLAYBOOK_TIMEOUT_MS = 240_000;

interface Run {
  code: number;
  out: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: ANSIBLE,
        env: { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_FORCE_COLOR: "0", ...env },
        timeout: PLAYBOOK_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, out: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** The PLAY RECAP's counters per host. */
function recap(out: string): Map<string, { changed: number; failed: number }> {
  const hosts = new Map<string, { changed: number; failed: number }>();
  const line = /^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/gm;
  for (const m of out.matchAll(line))
    hosts.set(m[1] ?? "", { changed: Number(m[2]), failed: Number(m[3]) });
  return hosts;
}

async function missingTool(): Promise<string | false> {
  for (const bin of ["/usr/bin/ansible-playbook", "/usr/bin/etcd", "/usr/bin/python3"])
    if (!(await exists(bin))) return `${bin} is not installed`;
  if ((await run("ip", ["netns", "list"])).code !== 0) return "ip netns is not available";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  return false;
}

describe("deploy - test cluster", { timeout: 4 * PLAYBOOK_TIMEOUT_MS }, async () => {
  const skip = await missingTool();
  const prefix = `${FAMILY}-${randomBytes(3).toString("hex")}`;
  let dir = "";
  const env = (): NodeJS.ProcessEnv => ({ AUGUR_TEST_PREFIX: prefix, AUGUR_TEST_DIR: dir });
  const playbook = (name: string): Promise<Run> =>
    run("ansible-playbook", ["-i", "test-cluster/inventory.yml", `test-cluster/${name}`], env());
  const namespaces = async (): Promise<string[]> =>
    (await run("ip", ["netns", "list"])).out
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((n) => n.startsWith(`${prefix}-`));
  const checksLog = (host: string): Promise<string> =>
    readFile(join(dir, host, "var/lib/augur/checks.log"), "utf8").catch(() => "");
  const pidOf = async (host: string, what: "augur" | "etcd"): Promise<number> =>
    Number((await readFile(join(dir, host, `run/augur/${what}.pid`), "utf8")).trim());
  const pids: number[] = [];

  before(async () => {
    if (skip) return;
    // A crashed earlier run may have left namespaces (and processes in them): remove them all.
    await run("/bin/sh", [NETNS, "down", FAMILY]);
    dir = await mkdtemp(join(tmpdir(), "augur-deploy-"));
  });
  after(async () => {
    if (skip) return;
    await run("/bin/sh", [NETNS, "down", prefix]);
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("deploy - the playbook brings up 3 servers and 2 clients", { skip }, async () => {
    const first = await playbook("cluster.yml");
    assert.equal(first.code, 0, first.out);
    const hosts = recap(first.out);
    assert.deepEqual([...hosts.keys()].sort(), [...HOSTS].sort(), first.out);
    for (const [host, r] of hosts) assert.equal(r.failed, 0, `${host} failed:\n${first.out}`);
    assert.deepEqual(
      (await namespaces()).sort(),
      [...HOSTS, "sw"].map((h) => `${prefix}-${h}`).sort(),
    );
    for (const host of HOSTS) pids.push(await pidOf(host, "augur"));
    for (const host of SERVERS) pids.push(await pidOf(host, "etcd"));
    // Every server's handler sees all five agents live.
    for (const host of SERVERS)
      await until(
        async () => {
          const last = (await checksLog(host)).trim().split("\n").at(-1) ?? "";
          return HOSTS.every((h) => last.includes(`${h}/serfHealth=passing`));
        },
        `${host}'s checks.log to list all five nodes passing`,
        60_000,
      );
  });

  it("deploy - a second run of the playbook changes nothing", { skip }, async () => {
    const second = await playbook("cluster.yml");
    assert.equal(second.code, 0, second.out);
    const hosts = recap(second.out);
    assert.equal(hosts.size, HOSTS.length, second.out);
    for (const [host, r] of hosts) assert.equal(r.changed, 0, `${host} changed:\n${second.out}`);
  });

  it(
    "deploy - a new service definition reloads the agent in place (SIGHUP), and the servers see it",
    { skip },
    async () => {
      const before = await pidOf("c2", "augur");
      const services = JSON.stringify({
        augur_services: [{ name: "web", port: 8080, check: { ttl: "60s" } }],
      });
      const rerun = await run(
        "ansible-playbook",
        [
          "-i",
          "test-cluster/inventory.yml",
          "--limit",
          "c2",
          "-e",
          services,
          "test-cluster/cluster.yml",
        ],
        env(),
      );
      assert.equal(rerun.code, 0, rerun.out);
      assert.ok((recap(rerun.out).get("c2")?.changed ?? 0) > 0, rerun.out);
      assert.match(rerun.out, /RUNNING HANDLER \[augur : Reload augur \(supervisor\)\]/);
      assert.doesNotMatch(rerun.out, /RUNNING HANDLER \[augur : Restart augur/);
      assert.equal(await pidOf("c2", "augur"), before, "reloaded, not restarted");
      // The new service's TTL check starts critical, on c2, in every server's script output.
      for (const host of SERVERS)
        await until(
          async () =>
            /c2\/service:web=critical/.test(
              (await checksLog(host)).trim().split("\n").at(-1) ?? "",
            ),
          `${host}'s checks.log to show c2's new service check`,
          60_000,
        );
    },
  );

  it(
    "deploy - killing a client's agent is recorded by the script on every server",
    { skip },
    async () => {
      process.kill(await pidOf("c1", "augur"), "SIGKILL");
      for (const host of SERVERS)
        await until(
          async () =>
            /c1\/serfHealth=critical/.test((await checksLog(host)).trim().split("\n").at(-1) ?? ""),
          `${host}'s checks.log to record c1 critical`,
          60_000,
        );
      // The other client stays passing in the same line.
      for (const host of SERVERS)
        assert.match(
          (await checksLog(host)).trim().split("\n").at(-1) ?? "",
          /c2\/serfHealth=passing/,
        );
    },
  );

  it("deploy - tearing down leaves nothing behind", { skip }, async () => {
    const down = await playbook("teardown.yml");
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(await namespaces(), []);
    assert.equal(await exists(dir), false, `${dir} is still there`);
    for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} still runs`);
  });
});
