/**
 * Issue #15, item 1: `npm pack` makes a tarball with the built code, and
 * `npm install -g ./augur-<version>.tgz` puts a working `augur` on PATH, without dev dependencies.
 * Installing fetches the runtime dependencies from the npm registry.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const run = promisify(execFile);
const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

describe("deploy - npm package", { timeout: 180_000 }, () => {
  let dir = "";
  let prefix = "";
  let tarball = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-pack-"));
    prefix = join(dir, "prefix");
    // The tests run from the built dist/, so packing needs no second build (`prepare`).
    const { stdout } = await run(
      "npm",
      ["pack", "--ignore-scripts", "--json", "--pack-destination", dir],
      { cwd: REPO, timeout: 60_000 },
    );
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(info);
    tarball = join(dir, info.filename);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("deploy - the tarball holds the built CLI and no sources or tests", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.trim().split("\n");
    assert.ok(files.includes("package/bin/augur.js"), files.join("\n"));
    assert.ok(files.includes("package/dist/src/cli/main.js"), files.join("\n"));
    assert.ok(files.includes("package/deploy/systemd/augur.service"), files.join("\n"));
    assert.deepEqual(
      files.filter((f) => /^package\/(src|test|bench|dist\/test|node_modules)\//.test(f)),
      [],
    );
  });

  it("deploy - npm install -g gives a working augur on PATH without dev dependencies", async () => {
    await run("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", tarball], {
      cwd: dir,
      timeout: 150_000,
    });
    const bin = join(prefix, "bin");
    const env = { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` };
    const { stdout } = await run("augur", ["version"], { env, cwd: dir });
    const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
      version: string;
    };
    assert.match(stdout, new RegExp(`^augur v${pkg.version.replaceAll(".", "\\.")}\\n`));
    const modules = join(prefix, "lib/node_modules/augur/node_modules");
    for (const dev of ["typescript", "eslint", "prettier", "fast-check", "consul"])
      assert.equal(await exists(join(modules, dev)), false, `${dev} is a dev dependency`);

    // The installed agent starts with its on-disk store (lmdb's prebuilt binary) and serves.
    const agent = spawn(
      "augur",
      // Random ports: the test must not depend on 8500/8600 being free on the machine.
      [
        "agent",
        "-data-dir",
        join(dir, "data"),
        "-http-port",
        "0",
        "-dns-port",
        "0",
        "-node",
        "pack",
      ],
      { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    agent.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    agent.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise((r) => agent.once("exit", r));
    try {
      const deadline = Date.now() + 20_000;
      let addr: string | undefined;
      while (!(addr = /HTTP API listening on (\S+)/.exec(out)?.[1])) {
        if (Date.now() > deadline || agent.exitCode !== null)
          assert.fail(`the installed agent did not listen; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const self = (await (await fetch(`http://${addr}/v1/agent/self`)).json()) as {
        Config: { NodeName: string };
      };
      assert.equal(self.Config.NodeName, "pack");
    } finally {
      agent.kill("SIGTERM");
      await exited;
    }
  });
});
