/**
 * Issue #15: the role's install path (augur_install) with an `npm pack` tarball, on one server
 * host (a network namespace, supervisor mode, every file under a temp root, augur under a temp
 * npm prefix). The first run installs augur and runs etcd and the agent from the installed
 * package; a second run changes nothing; an installed version that differs from the tarball's is
 * reinstalled and the agent restarted on the new install. The host also gets the role's ACL and
 * TLS material (an HTTPS port with a certificate made by openssl at test time, an ACL block with
 * an initial management token), checked over HTTPS with that token.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTlsMaterial, type TlsMaterial } from "../helpers/tls-material.js";
import { exists, alive } from "./deploy-helpers.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const ANSIBLE = join(REPO, "deploy/ansible");
const NETNS = join(ANSIBLE, "test-cluster/netns.sh");
/** Not the cluster test's "augurt": its start-up sweep must not remove this test's namespaces. */
const FAMILY = "augurd";
const HOST = "i1";
const ADDR = "10.254.0.31";
const PLAYBOOK_TIMEOUT_MS = 180_000;
const HTTPS_PORT = 8501;
const MANAGEMENT_TOKEN = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d";

interface Run {
  code: number;
  out: string;
}

function run(file: string, args: string[], timeout = PLAYBOOK_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: ANSIBLE,
        env: { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_FORCE_COLOR: "0" },
        timeout,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, out: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** The PLAY RECAP's counters of the one host. */
function recap(out: string): { changed: number; failed: number } | undefined {
  const m = new RegExp(
    `^${HOST}\\s+:\\s+ok=\\d+\\s+changed=(\\d+)\\s+unreachable=\\d+\\s+failed=(\\d+)`,
    "m",
  ).exec(out);
  return m ? { changed: Number(m[1]), failed: Number(m[2]) } : undefined;
}

async function missingTool(): Promise<string | false> {
  for (const bin of ["/usr/bin/ansible-playbook", "/usr/bin/etcd", "/usr/bin/python3"])
    if (!(await exists(bin))) return `${bin} is not installed`;
  if ((await run("npm", ["--version"], 30_000)).code !== 0) return "npm is not installed";
  if ((await run("ip", ["netns", "list"], 30_000)).code !== 0) return "ip netns is not available";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  return false;
}

describe(
  "deploy - the role installs augur from a tarball",
  { timeout: 4 * PLAYBOOK_TIMEOUT_MS },
  async () => {
    const skip = await missingTool();
    const prefix = `${FAMILY}-${randomBytes(3).toString("hex")}`;
    const ns = `${prefix}-${HOST}`;
    let dir = "";
    let tls: TlsMaterial | undefined;
    let tarball = "";
    let version = "";
    const npmPrefix = (): string => join(dir, "npm");
    const installedManifest = (): string =>
      join(npmPrefix(), "lib/node_modules/augur/package.json");
    const agentPid = async (): Promise<number> =>
      Number((await readFile(join(dir, HOST, "run/augur/augur.pid"), "utf8")).trim());
    const pids: number[] = [];
    const playbook = (): Promise<Run> =>
      run("ansible-playbook", ["-i", join(dir, "inventory.json"), "test-cluster/cluster.yml"]);
    /** The installed CLI, inside the host's namespace, asks the agent there for its config. */
    const agentSelf = async (): Promise<{ Config: { NodeName: string; Version: string } }> => {
      const r = await run(
        "ip",
        ["netns", "exec", ns, join(npmPrefix(), "bin/augur"), "info", "-http-addr", `${ADDR}:8500`],
        30_000,
      );
      assert.equal(r.code, 0, r.out);
      const py = await run(
        "ip",
        [
          "netns",
          "exec",
          ns,
          "/usr/bin/python3",
          "-c",
          "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
          `http://${ADDR}:8500/v1/agent/self`,
        ],
        30_000,
      );
      assert.equal(py.code, 0, py.out);
      return JSON.parse(py.out) as { Config: { NodeName: string; Version: string } };
    };

    before(async () => {
      if (skip) return;
      await run("/bin/sh", [NETNS, "down", FAMILY], 30_000);
      dir = await mkdtemp(join(tmpdir(), "augur-install-"));
      tls = await makeTlsMaterial();
      const hostCert = await tls.ca.issue("i1", { san: `IP:${ADDR}` });
      // The tests run from the built dist/, so packing needs no second build (`prepare`).
      const pack = await run(
        "npm",
        ["pack", "--ignore-scripts", "--json", "--pack-destination", dir, REPO],
        60_000,
      );
      assert.equal(pack.code, 0, pack.out);
      const [info] = JSON.parse(pack.out.slice(pack.out.indexOf("["))) as {
        filename: string;
        version: string;
      }[];
      assert.ok(info);
      tarball = join(dir, info.filename);
      version = info.version;
      const inventory = {
        all: {
          vars: {
            ansible_connection: "local",
            ansible_python_interpreter: "/usr/bin/python3",
            augur_test_prefix: prefix,
            augur_service_manager: "supervisor",
            augur_exec_prefix: ["ip", "netns", "exec", ns],
            augur_root: join(dir, HOST),
            augur_bind_addr: ADDR,
            augur_client_addr: ADDR,
            augur_install: true,
            augur_package: tarball,
            augur_install_prefix: npmPrefix(),
            augur_manage_user: false,
            augur_user: "root",
            augur_group: "root",
            augur_extra_config: { ports: { dns: -1 } },
            augur_https_port: HTTPS_PORT,
            augur_tls_ca_src: tls.ca.cert,
            augur_tls_cert_src: hostCert.cert,
            augur_tls_key_src: hostCert.key,
            augur_acl: {
              enabled: true,
              default_policy: "allow",
              tokens: { initial_management: MANAGEMENT_TOKEN },
            },
          },
          children: {
            augur_servers: {
              vars: { augur_node_role: "server" },
              hosts: { [HOST]: {} },
            },
          },
        },
      };
      // JSON is YAML: ansible reads it as an inventory.
      await writeFile(join(dir, "inventory.json"), JSON.stringify(inventory, null, 2));
    });
    after(async () => {
      if (skip) return;
      await run("/bin/sh", [NETNS, "down", prefix], 30_000);
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
      await tls?.cleanup();
    });

    it(
      "deploy - the first run installs augur and runs the agent from the install",
      { skip },
      async () => {
        const first = await playbook();
        assert.equal(first.code, 0, first.out);
        assert.equal(recap(first.out)?.failed, 0, first.out);
        assert.match(first.out, /TASK \[augur : Install augur with npm\] \*+\nchanged: /);
        const installed = JSON.parse(await readFile(installedManifest(), "utf8")) as {
          version: string;
        };
        assert.equal(installed.version, version);
        const pid = await agentPid();
        pids.push(pid);
        // The running agent is the installed package's, not the repo's.
        const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
        assert.ok(
          cmdline.includes(join(npmPrefix(), "bin/augur")),
          `the agent runs ${cmdline.join(" ")}`,
        );
        assert.match(
          await readlink(join(npmPrefix(), "bin/augur")),
          /node_modules\/augur\/bin\/augur\.js$/,
        );
        const self = await agentSelf();
        assert.equal(self.Config.NodeName, HOST);
        // The role's TLS and ACL material: HTTPS with the CA, and the management token it made.
        const https = await run(
          "ip",
          [
            "netns",
            "exec",
            ns,
            "/usr/bin/python3",
            "-c",
            [
              "import ssl, sys, urllib.request",
              "ctx = ssl.create_default_context(cafile=sys.argv[2])",
              "req = urllib.request.Request(sys.argv[1], headers={'X-Consul-Token': sys.argv[3]})",
              "sys.stdout.write(urllib.request.urlopen(req, timeout=5, context=ctx).read().decode())",
            ].join("\n"),
            `https://${ADDR}:${HTTPS_PORT}/v1/acl/token/self`,
            tls?.ca.cert ?? "",
            MANAGEMENT_TOKEN,
          ],
          30_000,
        );
        assert.equal(https.code, 0, https.out);
        const token = JSON.parse(https.out) as { SecretID: string; Policies: { Name: string }[] };
        assert.equal(token.SecretID, MANAGEMENT_TOKEN);
        assert.deepEqual(
          token.Policies.map((p) => p.Name),
          ["global-management"],
        );
      },
    );

    it("deploy - a second run changes nothing", { skip }, async () => {
      const second = await playbook();
      assert.equal(second.code, 0, second.out);
      assert.equal(recap(second.out)?.changed, 0, second.out);
      assert.match(second.out, /TASK \[augur : Install augur with npm\] \*+\nskipping: /);
    });

    it(
      "deploy - another installed version is replaced, and the agent restarted on it",
      { skip },
      async () => {
        const before = await agentPid();
        const manifest = JSON.parse(await readFile(installedManifest(), "utf8")) as Record<
          string,
          unknown
        >;
        await writeFile(installedManifest(), JSON.stringify({ ...manifest, version: "0.0.0-old" }));
        const rerun = await playbook();
        assert.equal(rerun.code, 0, rerun.out);
        assert.ok((recap(rerun.out)?.changed ?? 0) > 0, rerun.out);
        assert.match(rerun.out, /RUNNING HANDLER \[augur : Restart augur \(supervisor\)\]/);
        const installed = JSON.parse(await readFile(installedManifest(), "utf8")) as {
          version: string;
        };
        assert.equal(installed.version, version);
        const after = await agentPid();
        pids.push(after);
        assert.notEqual(after, before, "restarted");
        assert.equal(alive(before), false, `the old agent ${before} still runs`);
        assert.equal((await agentSelf()).Config.NodeName, HOST);
      },
    );
  },
);
