/**
 * Issue #15: the role in systemd mode, under a real systemd. deploy/ansible/test-cluster/
 * systemd-boot.sh boots this machine's own Debian with systemd-nspawn (an overlay of the host's
 * root with a tmpfs upper layer, private network, nothing of the host's default target started);
 * ansible-playbook runs inside it and applies the role to one server node (augur-etcd.service
 * and augur.service, the dedicated user). The agent is active, `systemctl reload augur` reaches it
 * as SIGHUP (it logs a reload, same main PID), a second run changes nothing, and stopping the
 * container leaves no process and no mount behind. Skips, with the reason, when systemd-nspawn
 * is not installed or the container does not boot.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "../helpers/until.js";
import { exists } from "./deploy-helpers.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const ANSIBLE = join(REPO, "deploy/ansible");
const BOOT = join(ANSIBLE, "test-cluster/systemd-boot.sh");
/**
 * Where the container sees this checkout (bound read-only by systemd-boot.sh): a fixed path
 * outside /tmp, which the container and the agent's unit (PrivateTmp) each replace.
 */
const REPO_INSIDE = "/opt/augur-repo";
const PLAYBOOK_TIMEOUT_MS = 150_000;
const BOOT_TIMEOUT_MS = 30_000;

interface Run {
  code: number;
  out: string;
}

function run(file: string, args: string[], timeout = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

const children = async (pid: number): Promise<number[]> =>
  (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => ""))
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);

/** Host pids of every process in the given pid namespace (e.g. "pid:[4026532801]"). */
async function processesIn(pidNs: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ns = await readlink(`/proc/${entry}/ns/pid`).catch(() => "");
    if (ns === pidNs) found.push(Number(entry));
  }
  return found;
}

function recap(out: string): { changed: number; failed: number } | undefined {
  const m = /^sd1\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/m.exec(out);
  return m ? { changed: Number(m[1]), failed: Number(m[2]) } : undefined;
}

async function missingTool(): Promise<string | false> {
  for (const bin of [
    "/usr/bin/systemd-nspawn",
    "/usr/bin/unshare",
    "/usr/bin/nsenter",
    "/usr/bin/ansible-playbook",
    "/usr/bin/etcd",
  ])
    if (!(await exists(bin))) return `${bin} is not installed`;
  if (process.getuid?.() !== 0) return "booting a container needs root";
  return false;
}

describe("deploy - the role under systemd", { timeout: 4 * PLAYBOOK_TIMEOUT_MS }, async () => {
  let skip: string | false = await missingTool();
  const machine = `augur-test-${randomBytes(3).toString("hex")}`;
  let dir = "";
  let boot: ChildProcess | undefined;
  let bootOut = "";
  let init = 0;
  let pidNs = "";
  /** A command inside the container (all its namespaces and its root). */
  const inside = (script: string, timeout = 30_000): Promise<Run> =>
    run("/usr/bin/nsenter", ["-t", String(init), "-a", "/bin/sh", "-c", script], timeout);
  const playbook = (): Promise<Run> =>
    inside(
      `cd ${REPO_INSIDE}/deploy/ansible && ANSIBLE_NOCOLOR=1 exec ansible-playbook -i ${dir}/inventory.json test-cluster/systemd.yml`,
      PLAYBOOK_TIMEOUT_MS,
    );
  const reloads = async (): Promise<number> =>
    (
      (await inside("journalctl -u augur --no-pager -o cat")).out.match(
        /reloaded configuration/g,
      ) ?? []
    ).length;
  const mainPid = async (): Promise<string> =>
    (await inside("systemctl show -p MainPID --value augur")).out.trim();

  /** Stops the container (systemd halts on SIGTERM to nspawn) and waits for its boot script. */
  const stop = async (): Promise<void> => {
    if (!boot || boot.exitCode !== null || boot.signalCode !== null) return;
    const exited = new Promise((r) => boot?.once("exit", r));
    const nspawn = (await children(boot.pid ?? 0))[0];
    if (nspawn) process.kill(nspawn, "SIGTERM");
    const killAfter = setTimeout(() => {
      // --kill-child: the boot script's death takes nspawn and the container with it.
      boot?.kill("SIGKILL");
    }, 20_000);
    await exited;
    clearTimeout(killAfter);
  };

  before(async () => {
    if (skip) return;
    // On the root filesystem, not /tmp: the container's root is an overlay of the host's root
    // filesystem and has a /tmp of its own.
    dir = await mkdtemp("/var/tmp/augur-systemd-");
    const inventory = {
      all: {
        vars: {
          ansible_connection: "local",
          ansible_python_interpreter: "/usr/bin/python3",
          augur_service_manager: "systemd",
          // The repo's CLI: the install path has its own test (install.test.ts).
          augur_install: false,
          augur_bin: join(REPO_INSIDE, "bin/augur.js"),
          augur_bind_addr: "127.0.0.1",
          augur_liveness_ttl: "2s",
          augur_extra_config: { ports: { dns: -1 } },
        },
        children: {
          augur_servers: { vars: { augur_node_role: "server" }, hosts: { sd1: {} } },
        },
      },
    };
    // Written before the container starts: the overlay's lower layer is read as it was then.
    await writeFile(join(dir, "inventory.json"), JSON.stringify(inventory, null, 2));
    boot = spawn(
      "/usr/bin/unshare",
      ["--mount", "--fork", "--kill-child", "/bin/sh", BOOT, dir, machine, REPO.replace(/\/$/, "")],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    boot.stdout?.setEncoding("utf8").on("data", (d: string) => (bootOut += d));
    boot.stderr?.setEncoding("utf8").on("data", (d: string) => (bootOut += d));
    try {
      await until(
        async () => {
          if (boot?.exitCode !== null) return true;
          await new Promise((r) => setTimeout(r, 200));
          const nspawn = (await children(boot.pid ?? 0))[0];
          init = nspawn ? ((await children(nspawn))[0] ?? 0) : 0;
          if (!init) return false;
          const state = (await inside("systemctl is-system-running")).out.trim();
          return state === "running" || state === "degraded";
        },
        "the container's systemd to finish booting",
        BOOT_TIMEOUT_MS,
      );
      if (boot.exitCode !== null) skip = `systemd-nspawn exited: ${bootOut.trim()}`;
      else pidNs = await readlink(`/proc/${init}/ns/pid`);
    } catch (err) {
      skip = `systemd did not boot in the container: ${(err as Error).message}\n${bootOut.trim()}`;
      await stop();
    }
  });
  after(async () => {
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("deploy - the role starts etcd and the agent as systemd units", async (t) => {
    if (skip) return t.skip(skip);
    const first = await playbook();
    assert.equal(first.code, 0, first.out);
    assert.equal(recap(first.out)?.failed, 0, first.out);
    assert.ok((recap(first.out)?.changed ?? 0) > 0, first.out);
    const active = await inside("systemctl is-active augur augur-etcd");
    assert.deepEqual(active.out.trim().split("\n"), ["active", "active"], active.out);
    const user = await inside("id -u augur && getent passwd augur");
    assert.equal(user.code, 0, user.out);
    assert.match(user.out, /^augur:x:\d+:\d+::\/var\/lib\/augur:\/usr\/sbin\/nologin$/m);
    // The agent runs as that user, not root.
    const owner = await inside(`ps -o user= -p "$(systemctl show -p MainPID --value augur)"`);
    assert.equal(owner.out.trim(), "augur", owner.out);
    const info = await inside(
      `${join(REPO_INSIDE, "bin/augur.js")} info -http-addr 127.0.0.1:8500`,
    );
    assert.equal(info.code, 0, info.out);
    assert.match(info.out, /^agent:$/m);
  });

  it("deploy - systemctl reload augur re-reads the config in place (SIGHUP)", async (t) => {
    if (skip) return t.skip(skip);
    const pid = await mainPid();
    const before = await reloads();
    const r = await inside("systemctl reload augur");
    assert.equal(r.code, 0, r.out);
    await until(
      async () => {
        await new Promise((res) => setTimeout(res, 100));
        return (await reloads()) > before;
      },
      "the agent to log a reload",
      20_000,
    );
    assert.equal(await mainPid(), pid, "reloaded, not restarted");
  });

  it("deploy - a second run changes nothing", async (t) => {
    if (skip) return t.skip(skip);
    const second = await playbook();
    assert.equal(second.code, 0, second.out);
    assert.equal(recap(second.out)?.changed, 0, second.out);
  });

  it("deploy - stopping the container leaves no process and no mount", async (t) => {
    if (skip) return t.skip(skip);
    await stop();
    assert.deepEqual(await processesIn(pidNs), []);
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    assert.equal(mounts.includes(dir), false, `a mount under ${dir} is left:\n${mounts}`);
    assert.equal(await exists(`/run/systemd/nspawn/propagate/${machine}`), false);
  });
});
