/**
 * `augur <command>` as a real child process against a real `augur agent -dev`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUGUR_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { ConsulClient } from "../../src/client/index.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment minus anything that would point the CLI elsewhere. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of [
    "AUGUR_HTTP_ADDR",
    "CONSUL_HTTP_ADDR",
    "AUGUR_HTTP_TOKEN",
    "CONSUL_HTTP_TOKEN",
    "CONSUL_HTTP_SSL",
  ])
    delete env[k];
  return { ...env, ...extra };
}

function augur(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AUGUR_BIN, ...args], {
      env: cleanEnv(env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

void describe("augur CLI against a running agent", () => {
  let agent: AgentProcess;
  let dir: string;
  let client: ConsulClient;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], input?: string): Promise<Run> => augur(args, env, input);

  before(async () => {
    agent = await startAgentProcess();
    dir = await mkdtemp(join(tmpdir(), "augur-cli-"));
    env = { CONSUL_HTTP_ADDR: agent.httpAddr };
    client = new ConsulClient({ address: agent.httpAddr, env: {} });
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void test("kv put / get - Consul's success line, then the raw value", async () => {
    assert.deepEqual(await run(["kv", "put", "app/config", "hello world"]), {
      code: 0,
      stdout: "Success! Data written to: app/config\n",
      stderr: "",
    });
    assert.deepEqual(await run(["kv", "get", "app/config"]), {
      code: 0,
      stdout: "hello world\n",
      stderr: "",
    });
  });

  void test("kv get -detailed - Consul's field layout, flags included", async () => {
    await run(["kv", "put", "-flags=42", "app/flagged", "v"]);
    const r = await run(["kv", "get", "-detailed", "app/flagged"]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /^CreateIndex {6}\d+\nFlags {12}42\nKey {14}app\/flagged\nLockIndex {8}0\nModifyIndex {6}\d+\nSession {10}-\nValue {12}v\n$/,
    );
  });

  void test("kv get -recurse - key:value lines in key order; -keys lists names", async () => {
    await run(["kv", "put", "tree/b", "2"]);
    await run(["kv", "put", "tree/a", "1"]);
    await run(["kv", "put", "tree/sub/c", "3"]);
    assert.equal(
      (await run(["kv", "get", "-recurse", "tree/"])).stdout,
      "tree/a:1\ntree/b:2\ntree/sub/c:3\n",
    );
    assert.equal(
      (await run(["kv", "get", "-keys", "tree/"])).stdout,
      "tree/a\ntree/b\ntree/sub/\n",
    );
  });

  void test("kv put -cas - a stale index fails with 'CAS failed', the current one writes", async () => {
    await run(["kv", "put", "cas/key", "one"]);
    const index = (await client.kvGet("cas/key"))?.ModifyIndex;
    assert.ok(index);
    const stale = await run(["kv", "put", "-cas", `-modify-index=${index - 1}`, "cas/key", "two"]);
    assert.deepEqual(stale, {
      code: 1,
      stdout: "",
      stderr: "Error! Did not write to cas/key: CAS failed\n",
    });
    const fresh = await run(["kv", "put", "-cas", `-modify-index=${index}`, "cas/key", "two"]);
    assert.equal(fresh.code, 0);
    assert.equal((await run(["kv", "get", "cas/key"])).stdout, "two\n");
  });

  void test("kv put - data from stdin with '-'", async () => {
    assert.equal((await run(["kv", "put", "stdin/key", "-"], "piped\nvalue")).code, 0);
    assert.equal((await run(["kv", "get", "stdin/key"])).stdout, "piped\nvalue\n");
  });

  void test("kv delete - a key, then a prefix with -recurse; a missing key is an error to get", async () => {
    await run(["kv", "put", "del/a", "1"]);
    await run(["kv", "put", "del/b", "2"]);
    assert.deepEqual(await run(["kv", "delete", "del/a"]), {
      code: 0,
      stdout: "Success! Deleted key: del/a\n",
      stderr: "",
    });
    assert.deepEqual(await run(["kv", "get", "del/a"]), {
      code: 1,
      stdout: "",
      stderr: "Error! No key exists at: del/a\n",
    });
    assert.equal(
      (await run(["kv", "delete", "-recurse", "del/"])).stdout,
      "Success! Deleted keys with prefix: del/\n",
    );
    assert.equal(await client.kvGet("del/b"), undefined);
  });

  void test("members - Consul's columns with this agent alive", async () => {
    const self = await client.agentSelf();
    const r = await run(["members"]);
    assert.equal(r.code, 0);
    const [header, row] = r.stdout.split("\n");
    assert.match(
      header ?? "",
      /^Node +Address +Status +Type +Build +Protocol +DC +Partition +Segment$/,
    );
    assert.match(
      row ?? "",
      new RegExp(
        // -dev is a server in Consul: listed as such, in every segment.
        `^${self.Config.NodeName} +\\S+:\\d+ +alive +server +\\S+ +2 +dc1 +default +<all>$`,
      ),
    );
  });

  void test("catalog datacenters / nodes", async () => {
    const self = await client.agentSelf();
    assert.deepEqual(await run(["catalog", "datacenters"]), {
      code: 0,
      stdout: "dc1\n",
      stderr: "",
    });
    const nodes = await run(["catalog", "nodes"]);
    assert.match(nodes.stdout, /^Node +ID +Address +DC\n/);
    assert.match(
      nodes.stdout,
      new RegExp(`\\n${self.Config.NodeName} +[0-9a-f]{8} +\\S+ +dc1\\n$`),
    );
  });

  void test("services register -name/-port, catalog services -tags, deregister -id", async () => {
    assert.deepEqual(
      await run(["services", "register", "-name=web", "-port=8080", "-tag=blue", "-tag=v2"]),
      { code: 0, stdout: "Registered service: web\n", stderr: "" },
    );
    const instances = await client.catalogService("web");
    assert.equal(instances[0]?.ServicePort, 8080);
    assert.match((await run(["catalog", "services", "-tags"])).stdout, /^web +blue,v2$/m);
    assert.deepEqual(await run(["services", "deregister", "-id=web"]), {
      code: 0,
      stdout: "Deregistered service: web\n",
      stderr: "",
    });
    assert.deepEqual(await client.catalogService("web"), []);
  });

  void test("services register FILE - services and their checks from a config file; deregister FILE", async () => {
    const file = join(dir, "api.json");
    await writeFile(
      file,
      JSON.stringify({
        service: { name: "api", id: "api-1", port: 9000, tags: ["x"], check: { ttl: "30s" } },
      }),
    );
    assert.deepEqual(await run(["services", "register", file]), {
      code: 0,
      stdout: "Registered service: api\n",
      stderr: "",
    });
    const checks = await client.agentChecks();
    assert.equal(checks["service:api-1"]?.Type, "ttl");
    assert.equal((await client.catalogService("api"))[0]?.ServiceID, "api-1");
    assert.deepEqual(await run(["services", "deregister", file]), {
      code: 0,
      stdout: "Deregistered service: api-1\n",
      stderr: "",
    });
    assert.deepEqual(await client.catalogService("api"), []);
  });

  void test("services register - the agent's rejection is reported, exit 1", async () => {
    const r = await run(["services", "register", "-name=bad", "-meta", "consul-reserved=x"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error registering service "bad": Unexpected response code: 400 \(Invalid Service Meta: /,
    );
  });

  void test("event - prints the event ID; the payload reaches the event list", async () => {
    const r = await run(["event", "-name=deploy", "build-7"]);
    assert.equal(r.code, 0);
    const id = /^Event ID: ([0-9a-f-]{36})\n$/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    const list = (
      await client.request("GET", "/v1/event/list", { query: { name: "deploy" } })
    ).json<{ ID: string; Payload: string }[]>();
    const ev = list.find((e) => e.ID === id);
    assert.equal(Buffer.from(ev?.Payload ?? "", "base64").toString(), "build-7");
  });

  void test("maint - enable with a reason, list, disable", async () => {
    const node = (await client.agentSelf()).Config.NodeName;
    assert.deepEqual(await run(["maint", "-enable", "-reason", "kernel upgrade"]), {
      code: 0,
      stdout: "Node maintenance is now enabled\n",
      stderr: "",
    });
    assert.equal(
      (await run(["maint"])).stdout,
      `Node:\n  Name:   ${node}\n  Reason: kernel upgrade\n\n`,
    );
    assert.deepEqual(await run(["maint", "-disable"]), {
      code: 0,
      stdout: "Node maintenance is now disabled\n",
      stderr: "",
    });
    assert.equal((await run(["maint"])).stdout, "");
  });

  void test("reload - Consul's confirmation line", async () => {
    assert.deepEqual(await run(["reload"]), {
      code: 0,
      stdout: "Configuration reload triggered\n",
      stderr: "",
    });
  });

  void test("version - augur v<version> and the protocol line", async () => {
    const r = await run(["version"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^augur v\d+\.\d+\.\d+\nProtocol 2 spoken by default/);
  });

  void test("validate - a good file is valid; a bad one fails with the reason, exit 1", async () => {
    const good = join(dir, "good.json");
    await writeFile(
      good,
      JSON.stringify({
        datacenter: "dc1",
        data_dir: join(dir, "data"),
        services: [{ name: "web", port: 80 }],
      }),
    );
    assert.deepEqual(await run(["validate", good]), {
      code: 0,
      stdout: "Configuration is valid!\n",
      stderr: "",
    });
    assert.deepEqual(await run(["validate", "-quiet", good]), { code: 0, stdout: "", stderr: "" });
    const bad = join(dir, "bad.json");
    await writeFile(bad, '{"datacenter": "dc1", "data_dir": "/tmp", "services": [{"port": 80}]');
    const r = await run(["validate", bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Config validation failed: /);
  });

  void test("usage errors - exit 1 with the message and usage, nothing written", async () => {
    assert.deepEqual(await run(["kv", "get"]), {
      code: 1,
      stdout: "",
      stderr: "Error! Missing KEY argument\n",
    });
    const r = await run(["kv", "put", "-nope", "k"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^flag provided but not defined: -nope\n\nUsage: augur kv put \[options\] KEY \[DATA\]/,
    );
    assert.equal(await client.kvGet("k"), undefined);
  });
});

void describe("augur leave", () => {
  void test("leave - 'Graceful leave complete' and the agent exits", async () => {
    const agent = await startAgentProcess();
    try {
      const r = await augur(["leave", `-http-addr=${agent.url}`], {});
      assert.deepEqual(r, { code: 0, stdout: "Graceful leave complete\n", stderr: "" });
      const hasExited = (): boolean =>
        agent.proc.exitCode !== null || agent.proc.signalCode !== null;
      if (!hasExited()) {
        await Promise.race([
          new Promise<void>((resolve) => agent.proc.once("exit", () => resolve())),
          new Promise<void>((resolve) => setTimeout(resolve, 5000).unref()),
        ]);
      }
      assert.ok(hasExited(), "agent still running 5 s after leave");
    } finally {
      await agent.stop();
    }
  });
});

void describe("augur info, augur force-leave", () => {
  void test("info - the agent's Stats, sections and keys in name order; force-leave - one node name, Consul's errors", async () => {
    const agent = await startAgentProcess();
    try {
      const info = await augur(["info", `-http-addr=${agent.url}`], {});
      assert.equal(info.code, 0, info.stderr);
      assert.match(
        info.stdout,
        /^agent:\n\tcheck_monitors = 0\n\tchecks = 0\n\tservices = 0\nbuild:\n\tprerelease = \n\trevision = augur\n\tversion = \d+\.\d+\.\d+\nconsul:\n\tacl = disabled\n\tbootstrap = false\n\tknown_datacenters = 1\n\tleader = true\n\tleader_addr = 127\.0\.0\.1:8300\n\tserver = true\nruntime:\n\tarch = /,
      );
      const none = await augur(["force-leave", `-http-addr=${agent.url}`], {});
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^A single node name must be specified to force leave\.\n/);
      const unknown = await augur(["force-leave", `-http-addr=${agent.url}`, "ghost"], {});
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /Error force leaving: Unexpected response code: 500 \(agent: No node found with name 'ghost'\)/,
      );
    } finally {
      await agent.stop();
    }
  });
});
