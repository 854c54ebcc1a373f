/**
 * `augur snapshot save|restore|inspect` as real child processes against a real `augur agent -dev`
 * process: Consul's output lines and errors, the inspect table's layout, and a restore that
 * brings the saved state back.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { AUGUR_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { ConsulClient } from "../../src/client/index.js";
import { readTar } from "../../src/lib/tar.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function augur(args: string[], httpAddr: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, CONSUL_HTTP_ADDR: httpAddr };
  delete env["AUGUR_HTTP_ADDR"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AUGUR_BIN, ...args], { env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

describe("augur snapshot against a running agent", () => {
  let agent: AgentProcess;
  let dir = "";
  let client: ConsulClient;
  const run = (...args: string[]): Promise<Run> => augur(args, agent.httpAddr);

  before(async () => {
    agent = await startAgentProcess();
    dir = await mkdtemp(join(tmpdir(), "augur-snapshot-cli-"));
    client = new ConsulClient({ address: agent.httpAddr, env: {} });
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("snapshot save writes a verified 0600 file and prints its index", async () => {
    await client.kvPut("app/config", "v1");
    await client.kvPut("app/flag", "on");
    const file = join(dir, "backup.snap");
    const res = await run("snapshot", "save", file);
    assert.equal(res.stderr, "");
    assert.equal(res.code, 0);
    const m = /^Saved and verified snapshot to index (\d+)\n$/.exec(res.stdout);
    assert.ok(m, res.stdout);
    const meta = JSON.parse(
      Buffer.from(readTar(gunzipSync(await readFile(file)))[0]?.data ?? "").toString(),
    ) as { Index: number };
    assert.equal(meta.Index, Number(m[1]));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ["backup.snap"], "no .unverified file is left");
  });

  it("snapshot inspect prints Consul's metadata and type table", async () => {
    const file = join(dir, "backup.snap");
    const [metaEntry, stateEntry] = readTar(gunzipSync(await readFile(file)));
    const meta = JSON.parse(Buffer.from(metaEntry?.data ?? "").toString()) as {
      ID: string;
      Size: number;
      Index: number;
    };
    // Each record's size is its line in state.bin (the header line is not a record).
    const lines = Buffer.from(stateEntry?.data ?? "")
      .toString()
      .split("\n")
      .slice(1, -1);
    const size = (prefix: string): number =>
      lines
        .filter((l) => (JSON.parse(l) as { Key: string }).Key.startsWith(prefix))
        .reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    // Register: the node and the consul service a -dev agent (a server) registers on it.
    const [kvs, registers] = [size("kv/"), size("nodes/") + size("services/")];
    const bytes = (n: number): string => `${n}B`;
    assert.ok(registers > kvs && kvs < 1024 && registers < 1024, "the order and units below hold");
    // Consul's ByteSize: binary units, one decimal, ".0" dropped.
    const total = kvs + registers;
    const totalText =
      total < 1024 ? bytes(total) : `${(total / 1024).toFixed(1).replace(/\.0$/, "")}KB`;
    const res = await run("snapshot", "inspect", file);
    assert.equal(res.stderr, "");
    assert.equal(
      res.stdout,
      [
        ` ID           ${meta.ID}`,
        ` Size         ${meta.Size}`,
        ` Index        ${meta.Index}`,
        " Term         1",
        " Version      1",
        "",
        " Type          Count      Size",
        " ----          ----       ----",
        ` Register      2          ${bytes(registers)}`,
        ` KVS           2          ${bytes(kvs)}`,
        " ----          ----       ----",
        ` Total                    ${totalText}`,
        "",
      ].join("\n"),
    );

    const details = await run("snapshot", "inspect", "-kvdetails", "-kvdepth", "1", file);
    assert.match(
      details.stdout,
      /\n\n Key Name      Count      Size\n ----          ----       ----\n app           2          \d+B\n/,
    );

    const json = await run("snapshot", "inspect", "-format", "json", file);
    const out = JSON.parse(json.stdout) as { Meta: unknown; StatsKV: unknown; TotalSize: number };
    assert.deepEqual(out.Meta, {
      ID: meta.ID,
      Size: meta.Size,
      Index: meta.Index,
      Term: 1,
      Version: 1,
    });
    assert.equal(out.StatsKV, null);
    assert.equal(out.TotalSize, total);
  });

  it("snapshot restore brings the saved state back", async () => {
    await client.kvPut("app/config", "v2");
    await client.kvDelete("app/flag");
    await client.kvPut("app/new", "x");
    const res = await run("snapshot", "restore", join(dir, "backup.snap"));
    assert.deepEqual(res, { code: 0, stdout: "Restored snapshot\n", stderr: "" });
    const pairs = await client.kvList("app/");
    assert.deepEqual(
      pairs.map((p) => [p.Key, Buffer.from(p.Value ?? "", "base64").toString()]),
      [
        ["app/config", "v1"],
        ["app/flag", "on"],
      ],
    );
  });

  it("snapshot commands fail as Consul's do", async () => {
    const junk = join(dir, "junk.snap");
    await writeFile(junk, "not a snapshot");
    assert.deepEqual(await run("snapshot", "restore", junk), {
      code: 1,
      stdout: "",
      stderr:
        "Error restoring snapshot: Unexpected response code: 500 (failed to decompress snapshot: gzip: invalid header)\n",
    });
    assert.deepEqual(await run("snapshot", "inspect", junk), {
      code: 1,
      stdout: "",
      stderr: "Error reading snapshot: failed to decompress snapshot: gzip: invalid header\n",
    });
    const missing = await run("snapshot", "restore", join(dir, "missing.snap"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error opening snapshot file: ENOENT/);
    assert.deepEqual(await run("snapshot", "save"), {
      code: 1,
      stdout: "",
      stderr: "Missing FILE argument\n",
    });
    assert.deepEqual(await run("snapshot", "inspect", "a", "b"), {
      code: 1,
      stdout: "",
      stderr: "Too many arguments (expected 1, got 2)\n",
    });
  });
});
