import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, parseAgentFlags } from "../../src/config/index.js";
import { decodeServiceDefinition, decodeCheckDefinition } from "../../src/config/definitions.js";
import { isAugurError } from "../../src/lib/errors.js";
import { startTestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";

describe("config", () => {
  let dir = "";
  before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-config-"))));
  after(async () => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, text: string): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, text);
    return p;
  };

  it("config - the rendered Consul file from the issue loads with notices", async () => {
    const p = await file(
      "consul.json",
      JSON.stringify({
        node_name: "consulServer",
        addresses: { http: "127.0.0.1 127.0.0.2" },
        server: true,
        advertise_addr: "127.0.0.1",
        client_addr: "127.0.0.1",
        connect: { enabled: true },
        data_dir: join(dir, "data"),
        bootstrap: true,
        watches: [{ type: "checks", handler: "/etc/augur/watch_script.py" }],
      }),
    );
    const { config, notices } = await loadConfig({
      flags: parseAgentFlags([]),
      files: [p],
      dirs: [],
    });
    assert.equal(config.nodeName, "consulServer");
    assert.deepEqual(config.httpAddresses, [
      { host: "127.0.0.1", port: 8500 },
      { host: "127.0.0.2", port: 8500 },
    ]);
    assert.equal(config.watches.length, 1);
    assert.ok(config.server && config.cluster.bootstrap);
    for (const key of ["connect", "bootstrap"])
      assert.ok(
        notices.some((n) => n.includes(`"${key}"`)),
        `no notice for ${key}`,
      );
    // server is honoured now (the agent presents as a Consul server), so it gets no notice.
    assert.ok(!notices.some((n) => n.includes(`"server"`)), notices.join("\n"));
  });

  it("config - store { history_max_revisions, history_max_bytes } bounds the embedded store's history; bad values are refused", async () => {
    const ok = await file(
      "store.hcl",
      'data_dir = "/tmp/x"\nstore {\n  history_max_revisions = 500\n  history_max_bytes = "16MiB"\n}\n',
    );
    const { config } = await loadConfig({ flags: parseAgentFlags([]), files: [ok], dirs: [] });
    assert.deepEqual(config.storeHistory, { maxRevisions: 500, maxBytes: 16 * 1024 * 1024 });
    for (const [name, body, what] of [
      ["s1.json", { store: { history_max_bytes: "lots" } }, "store.history_max_bytes"],
      ["s2.json", { store: { history_max_bytes: 1000 } }, "store.history_max_bytes"],
      ["s3.json", { store: { history_max_revisions: 0 } }, "store.history_max_revisions"],
    ] as const) {
      const p = await file(name, JSON.stringify({ data_dir: "/tmp/x", ...body }));
      await assert.rejects(
        loadConfig({ flags: parseAgentFlags([]), files: [p], dirs: [] }),
        (err) => isAugurError(err, "CONFIG_INVALID") && err.message.includes(what),
      );
    }
  });

  it("config - HCL with repeated service blocks, checks and a watch", async () => {
    const p = await file(
      "a.hcl",
      `node_name = "h1"\ndata_dir = "${join(dir, "d2")}"\nports { http = 18600 }\nservice {\n  name = "web"\n  port = 80\n  check = { http = "http://127.0.0.1:80/", interval = "10s" }\n}\nservice {\n  name = "db"\n  tags = ["primary"]\n}\nwatches = [{ type = "key", key = "a", args = ["/bin/true"] }]\n`,
    );
    const { config } = await loadConfig({ flags: parseAgentFlags([]), files: [p], dirs: [] });
    assert.deepEqual(
      config.services.map((s) => s.name),
      ["web", "db"],
    );
    assert.equal(config.services[0]?.checks[0]?.id, "service:web");
    assert.equal(config.services[0]?.checks[0]?.type, "http");
    assert.equal(config.httpAddresses[0]?.port, 18600);
    assert.equal(config.watches.length, 1);
  });

  it("config - dir files load in name order and flags override files", async () => {
    const d = join(dir, "conf.d");
    await mkdir(d);
    await writeFile(
      join(d, "b.json"),
      JSON.stringify({ datacenter: "second", data_dir: join(dir, "d3") }),
    );
    await writeFile(join(d, "a.json"), JSON.stringify({ datacenter: "first", node_name: "x" }));
    await writeFile(join(d, "ignored.txt"), "not config");
    const { config } = await loadConfig({
      flags: parseAgentFlags(["-node=from-flag"]),
      files: [],
      dirs: [d],
    });
    assert.equal(config.datacenter, "second");
    assert.equal(config.nodeName, "from-flag");
  });

  it("config - a wrong type names the file, the key path and the expectation", async () => {
    const p = await file(
      "bad.json",
      JSON.stringify({ data_dir: "/tmp/x", ports: { http: "8500" } }),
    );
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags([]), files: [p], dirs: [] }),
      (err) =>
        isAugurError(err, "CONFIG_INVALID") &&
        err.message === `${p}: ports.http: expected a number, got string "8500"`,
    );
    const svc = await file(
      "svc.json",
      JSON.stringify({ data_dir: "/tmp/x", services: [{ name: "a", port: "80" }] }),
    );
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags([]), files: [svc], dirs: [] }),
      /svc\.json: services\[0\]\.Port: expected integer, got string/,
    );
  });

  it("config - malformed JSON and HCL name the file", async () => {
    const j = await file("broken.json", "{ nope");
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [j], dirs: [] }),
      (err) => isAugurError(err) && err.message.startsWith(`${j}: malformed JSON`),
    );
    const h = await file("broken.hcl", "service {");
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [h], dirs: [] }),
      (err) => isAugurError(err) && err.message.startsWith(`${h}: malformed HCL`),
    );
  });

  it("config - a bad watch fails the load with Consul's text", async () => {
    const p = await file(
      "w.json",
      JSON.stringify({ watches: [{ type: "key", key: "a", handler: "x", args: ["y"] }] }),
    );
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [p], dirs: [] }),
      /Only one watch handler allowed/,
    );
  });

  it("config - without -dev a data_dir is required", async () => {
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags([]), files: [], dirs: [] }),
      /data_dir cannot be empty/,
    );
  });

  it("config - reconnect_timeout defaults to 72h and, as in Consul, must be at least 8h", async () => {
    assert.equal(
      (await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [], dirs: [] })).config
        .reconnectTimeoutMs,
      72 * 3600_000,
    );
    const ok = await file("rt-ok.json", JSON.stringify({ reconnect_timeout: "8h" }));
    assert.equal(
      (await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [ok], dirs: [] })).config
        .reconnectTimeoutMs,
      8 * 3600_000,
    );
    const short = await file("rt-short.json", JSON.stringify({ reconnect_timeout: "4h" }));
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [short], dirs: [] }),
      (err) =>
        isAugurError(err, "CONFIG_INVALID") &&
        err.message === `${short}: reconnect_timeout must be >= 8h0m0s`,
    );
  });

  it("config - etcd.liveness_ttl: whole seconds, 2s to 1h; kept for endpoints learned by joining", async () => {
    const ok = await file(
      "ttl-ok.json",
      JSON.stringify({ etcd: { endpoints: ["http://127.0.0.1:2379"], liveness_ttl: "2500ms" } }),
    );
    assert.equal(
      (await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [ok], dirs: [] })).config.etcd
        ?.livenessTtlSeconds,
      3,
    );
    const joinOnly = await file(
      "ttl-join.json",
      JSON.stringify({ retry_join: ["10.0.0.1"], etcd: { liveness_ttl: "3s" } }),
    );
    const joined = (
      await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [joinOnly], dirs: [] })
    ).config;
    assert.equal(joined.etcd, undefined);
    assert.equal(joined.etcdLivenessTtlSeconds, 3);
    const short = await file(
      "ttl-short.json",
      JSON.stringify({ etcd: { endpoints: ["http://127.0.0.1:2379"], liveness_ttl: "1s" } }),
    );
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [short], dirs: [] }),
      (err) =>
        isAugurError(err, "CONFIG_INVALID") &&
        err.message === `${short}: etcd.liveness_ttl must be between 2s and 1h, got "1s"`,
    );
    const bad = await file(
      "ttl-bad.json",
      JSON.stringify({ etcd: { endpoints: ["http://127.0.0.1:2379"], liveness_ttl: 4 } }),
    );
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [bad], dirs: [] }),
      /etcd\.liveness_ttl: expected a duration such as "4s", got number 4/,
    );
  });

  it("flags - Go style single dash, = and repeats", () => {
    const f = parseAgentFlags([
      "-dev",
      "-config-file=a.json",
      "-config-file",
      "b.hcl",
      "-http-port",
      "0",
      "--node",
      "n",
    ]);
    assert.deepEqual(f.configFiles, ["a.json", "b.hcl"]);
    assert.equal(f.httpPort, 0);
    assert.equal(f.node, "n");
    assert.throws(() => parseAgentFlags(["-nope"]), /flag provided but not defined: -nope/);
  });

  it("definitions - defaults, aliases, generated check ids and Consul's errors", () => {
    const s = decodeServiceDefinition({
      name: "api",
      checks: [
        { ttl: "10s" },
        {
          script_args: ["/bin/true"],
          interval: 5_000_000_000,
          deregister_critical_service_after: "1m",
        },
      ],
    });
    assert.equal(s.id, "api");
    assert.deepEqual(s.weights, { Passing: 1, Warning: 1 });
    assert.deepEqual(
      s.checks.map((c) => [c.id, c.name, c.type, c.status]),
      [
        ["service:api:1", "Service 'api' check", "ttl", "critical"],
        ["service:api:2", "Service 'api' check", "script", "critical"],
      ],
    );
    assert.equal(s.checks[1]?.intervalMs, 5000);
    assert.equal(s.checks[1]?.deregisterCriticalServiceAfterMs, 60_000);
    assert.throws(
      () => decodeServiceDefinition({ port: 1 }),
      /^AugurError: Missing service name$|Missing service name/,
    );
    assert.throws(
      () => decodeServiceDefinition({ name: "a", check: { http: "http://x" } }),
      /Invalid check: Interval must be > 0/,
    );
    assert.throws(
      () => decodeServiceDefinition({ name: "a", meta: { "consul-x": "1" } }),
      /Invalid Service Meta: Key prefix 'consul-' is reserved/,
    );
    assert.throws(
      () => decodeServiceDefinition({ name: "a", check: { ttl: "1s", status: "meh" } }),
      /Status for checks must 'passing', 'warning', 'critical'/,
    );
    assert.throws(() => decodeCheckDefinition({ ttl: "1s" }), /Missing check name/);
    assert.throws(() => decodeCheckDefinition({ name: "x", ttl: "soon" }), /invalid duration/);
  });
});

describe("config - node_meta", () => {
  it("node_meta - the config key and -node-meta flags (which win) become the node's Meta; Consul's metadata rules refuse the rest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-node-meta-"));
    try {
      const f = join(dir, "meta.hcl");
      await writeFile(f, 'node_meta {\n  rack = "r1"\n  zone = "a"\n}\n');
      const { config } = await loadConfig({
        flags: parseAgentFlags(["-dev", "-node-meta", "zone:b", "-node-meta", "flag-only"]),
        files: [f],
        dirs: [],
      });
      assert.deepEqual(config.nodeMeta, { rack: "r1", zone: "b", "flag-only": "" });
      for (const [meta, why] of [
        [{ "consul-x": "1" }, /Key prefix 'consul-' is reserved for internal use/],
        [{ "bad key": "1" }, /Key contains invalid characters/],
        [{ k: "v".repeat(513) }, /Value is too long \(limit: 512 characters\)/],
        [
          Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])),
          /cannot contain more than 64 key\/value pairs/,
        ],
      ] as const) {
        const bad = join(dir, "bad.json");
        await writeFile(bad, JSON.stringify({ node_meta: meta }));
        await assert.rejects(
          loadConfig({ flags: parseAgentFlags(["-dev"]), files: [bad], dirs: [] }),
          (err) => isAugurError(err, "CONFIG_INVALID") && why.test(err.message),
        );
      }
      const a = await startTestAgent({ nodeMeta: config.nodeMeta ?? {} });
      try {
        const node = (await (await a.call("GET", "/v1/catalog/node/node1")).json()) as {
          Node: { Meta: Record<string, string> };
        };
        assert.equal(node.Node.Meta["rack"], "r1");
        assert.equal(node.Node.Meta["zone"], "b");
        const byMeta = (await (
          await a.call("GET", "/v1/catalog/nodes?node-meta=rack:r1")
        ).json()) as { Node: string }[];
        assert.deepEqual(
          byMeta.map((n) => n.Node),
          ["node1"],
        );
      } finally {
        await a.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("config - ports augur does not listen on", () => {
  it("ports - grpc loads with a notice instead of being silently ignored; dns is served (https: tls-config.test)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-ports-"));
    try {
      const f = join(dir, "ports.json");
      await writeFile(f, JSON.stringify({ ports: { http: 8501, dns: 8600, grpc: 8502 } }));
      const { config, notices } = await loadConfig({
        flags: parseAgentFlags(["-dev"]),
        files: [f],
        dirs: [],
      });
      assert.equal(config.httpAddresses[0]?.port, 8501);
      assert.deepEqual(config.dns.addresses, [{ host: "127.0.0.1", port: 8600 }]);
      assert.ok(!notices.some((n) => n.includes('"ports.dns"')));
      for (const key of ["grpc"])
        assert.ok(
          notices.some((n) => n.includes(`"ports.${key}" is not used`)),
          `no notice for ports.${key}: ${notices.join(" | ")}`,
        );
      assert.ok(!notices.some((n) => n.includes('"ports.http"')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("config - session_ttl_min", () => {
  it("session_ttl_min - sets the shortest session TTL accepted, with Consul's error text naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-ttl-min-"));
    try {
      const f = join(dir, "s.json");
      await writeFile(f, JSON.stringify({ session_ttl_min: "2s" }));
      const { config } = await loadConfig({
        flags: parseAgentFlags(["-dev"]),
        files: [f],
        dirs: [],
      });
      assert.equal(config.sessionTtlMinMs, 2000);
      const bad = join(dir, "bad.json");
      await writeFile(bad, JSON.stringify({ session_ttl_min: "0s" }));
      await assert.rejects(
        loadConfig({ flags: parseAgentFlags(["-dev"]), files: [bad], dirs: [] }),
        /session_ttl_min/,
      );
      const a = await startTestAgent({ sessionTtlMinMs: 2000 });
      try {
        const short = await a.call("PUT", "/v1/session/create", { TTL: "1s" });
        assert.deepEqual(
          [short.status, await short.text()],
          [500, "Invalid Session TTL '1000000000', must be between [2s=24h0m0s]"],
        );
        assert.equal(
          (await a.call("PUT", "/v1/session/create", { TTL: "3s" })).status,
          200,
          "3 s is allowed where Consul's default 10 s minimum would refuse it",
        );
      } finally {
        await a.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("config - tagged_addresses, disable_coordinates", () => {
  it("tagged_addresses join the node's lan/wan addresses; disable_coordinates makes the coordinate endpoints answer Consul's 401", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-tagged-"));
    try {
      const f = join(dir, "t.json");
      await writeFile(
        f,
        JSON.stringify({
          tagged_addresses: { wan: "203.0.113.7", custom: "10.9.9.9" },
          disable_coordinates: true,
        }),
      );
      const { config } = await loadConfig({
        flags: parseAgentFlags(["-dev"]),
        files: [f],
        dirs: [],
      });
      assert.deepEqual(config.taggedAddresses, { wan: "203.0.113.7", custom: "10.9.9.9" });
      assert.equal(config.disableCoordinates, true);
      const a = await startTestAgent({
        taggedAddresses: config.taggedAddresses ?? {},
        disableCoordinates: true,
      });
      try {
        const node = (await (await a.call("GET", "/v1/catalog/node/node1")).json()) as {
          Node: { TaggedAddresses: Record<string, string> };
        };
        assert.equal(node.Node.TaggedAddresses["custom"], "10.9.9.9");
        assert.equal(node.Node.TaggedAddresses["wan"], "203.0.113.7");
        assert.equal(node.Node.TaggedAddresses["lan"], "127.0.0.1");
        const coords = await a.call("GET", "/v1/coordinate/nodes");
        assert.deepEqual(
          [coords.status, await coords.text()],
          [401, "Coordinate support disabled"],
        );
      } finally {
        await a.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("config - discard_check_output", () => {
  it("discard_check_output - a check's status is stored, its output is not", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-discard-"));
    try {
      const f = join(dir, "d.json");
      await writeFile(f, JSON.stringify({ discard_check_output: true }));
      const { config } = await loadConfig({
        flags: parseAgentFlags(["-dev"]),
        files: [f],
        dirs: [],
      });
      assert.equal(config.discardCheckOutput, true);
      for (const discard of [true, false]) {
        const a = await startTestAgent({ discardCheckOutput: discard });
        try {
          assert.equal(
            (
              await a.call("PUT", "/v1/agent/check/register", {
                Name: "t",
                CheckID: "t",
                TTL: "30s",
              })
            ).status,
            200,
          );
          assert.equal((await a.call("PUT", "/v1/agent/check/warn/t?note=pid%201234")).status, 200);
          const [byNode] = (
            (await (await a.call("GET", "/v1/health/node/node1")).json()) as {
              CheckID: string;
              Status: string;
              Output: string;
            }[]
          ).filter((c) => c.CheckID === "t");
          assert.equal(byNode?.Status, "warning");
          assert.equal(byNode?.Output, discard ? "" : "pid 1234");
        } finally {
          await a.stop();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("config - check_output_max_size", () => {
  it("check_output_max_size - the output a check keeps when it sets none, and the most one may set", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-outmax-"));
    try {
      const f = join(dir, "o.json");
      await writeFile(f, JSON.stringify({ check_output_max_size: 10 }));
      const { config } = await loadConfig({
        flags: parseAgentFlags(["-dev"]),
        files: [f],
        dirs: [],
      });
      assert.equal(config.checkOutputMaxSize, 10);
      const bad = join(dir, "bad.json");
      await writeFile(bad, JSON.stringify({ check_output_max_size: 0 }));
      await assert.rejects(
        loadConfig({ flags: parseAgentFlags(["-dev"]), files: [bad], dirs: [] }),
        /check_output_max_size/,
      );
      const a = await startTestAgent({ checkOutputMaxSize: 10, enableScriptChecks: true });
      try {
        const script = ["/bin/sh", "-c", "printf '%0100d' 0"];
        for (const [id, size] of [
          ["none", undefined],
          ["lower", 5],
          ["higher", 50],
        ] as const) {
          const res = await a.call("PUT", "/v1/agent/check/register", {
            Name: id,
            CheckID: id,
            Args: script,
            Interval: "1s",
            ...(size ? { OutputMaxSize: size } : {}),
          });
          assert.equal(res.status, 200, await res.text());
        }
        const outputs = async (): Promise<Record<string, string>> => {
          const checks = (await (await a.call("GET", "/v1/agent/checks")).json()) as Record<
            string,
            { Output: string }
          >;
          return Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v.Output]));
        };
        await until(
          async () => Object.values(await outputs()).every((o) => o.startsWith("Captured")),
          "every script check to run",
        );
        const out = await outputs();
        assert.match(
          out["none"] ?? "",
          /^Captured 10 of 100 bytes/,
          "the agent's size for a check that sets none",
        );
        assert.match(out["lower"] ?? "", /^Captured 5 of 100 bytes/, "a check may lower it");
        assert.match(out["higher"] ?? "", /^Captured 10 of 100 bytes/, "but not raise it");
      } finally {
        await a.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
