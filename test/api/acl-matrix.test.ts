/**
 * The ACL policy matrix: for each endpoint family, a call a token's policy allows and the same
 * call by a token without it, over HTTP against an agent with `default_policy = "deny"`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { aclDenyByDefault, startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const MANAGEMENT = "22222222-2222-4222-8222-222222222222";

interface Row {
  readonly family: string;
  readonly rules: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string | object;
  /** The status the allowed call answers (200 unless said). */
  readonly allowed?: number;
  /** The denied call's status: 403 unless said (409 for txn). */
  readonly denied?: number;
}

const ROWS: Row[] = [
  {
    family: "kv read",
    rules: 'key_prefix "app/" { policy = "read" }',
    method: "GET",
    path: "/v1/kv/app/a",
  },
  {
    family: "kv write",
    rules: 'key_prefix "app/" { policy = "write" }',
    method: "PUT",
    path: "/v1/kv/app/b",
    body: "v",
  },
  {
    family: "kv delete",
    rules: 'key_prefix "app/" { policy = "write" }',
    method: "DELETE",
    path: "/v1/kv/app/zz",
  },
  {
    family: "txn",
    rules: 'key_prefix "app/" { policy = "write" }',
    method: "PUT",
    path: "/v1/txn",
    body: [{ KV: { Verb: "set", Key: "app/t", Value: "eA==" } }],
    denied: 409,
  },
  {
    family: "session create",
    rules: 'session_prefix "" { policy = "write" }',
    method: "PUT",
    path: "/v1/session/create",
    body: {},
  },
  {
    family: "event fire",
    rules: 'event_prefix "deploy" { policy = "write" }',
    method: "PUT",
    path: "/v1/event/fire/deploy",
  },
  {
    family: "catalog register",
    rules: 'node_prefix "n2" { policy = "write" }\nservice_prefix "web" { policy = "write" }',
    method: "PUT",
    path: "/v1/catalog/register",
    body: { Node: "n2", Address: "10.0.0.2", Service: { Service: "web" } },
  },
  {
    family: "agent service register",
    rules: 'service "api" { policy = "write" }',
    method: "PUT",
    path: "/v1/agent/service/register",
    body: { Name: "api" },
  },
  {
    family: "agent self",
    rules: 'agent_prefix "" { policy = "read" }',
    method: "GET",
    path: "/v1/agent/self",
  },
  {
    family: "agent metrics",
    rules: 'agent_prefix "" { policy = "read" }',
    method: "GET",
    path: "/v1/agent/metrics",
  },
  {
    family: "agent maintenance",
    rules: 'node_prefix "" { policy = "write" }',
    method: "PUT",
    path: "/v1/agent/maintenance?enable=false",
  },
  { family: "agent host", rules: 'operator = "read"', method: "GET", path: "/v1/agent/host" },
  {
    family: "agent watches",
    rules: 'agent_prefix "" { policy = "read" }',
    method: "GET",
    path: "/v1/agent/watches",
  },
  {
    family: "agent watch replay",
    rules: 'agent_prefix "" { policy = "write" }',
    method: "PUT",
    path: "/v1/agent/watch/replay/none",
    allowed: 404,
  },
  {
    family: "agent health",
    rules: 'service "web" { policy = "read" }',
    method: "GET",
    path: "/v1/agent/health/service/name/web",
    allowed: 404,
    denied: 403,
  },
  {
    family: "prepared query create",
    rules: 'query_prefix "q" { policy = "write" }',
    method: "POST",
    path: "/v1/query",
    body: { Name: "q1", Service: { Service: "web" } },
  },
  { family: "snapshot", rules: 'acl = "write"', method: "GET", path: "/v1/snapshot" },
  {
    family: "operator",
    rules: 'operator = "read"',
    method: "GET",
    path: "/v1/operator/raft/configuration",
  },
  {
    family: "coordinate",
    rules: 'node_prefix "" { policy = "read" }',
    method: "GET",
    path: "/v1/coordinate/node/node1",
    allowed: 404,
  },
  { family: "acl read", rules: 'acl = "read"', method: "GET", path: "/v1/acl/policies" },
];

/** Lists answer the token's share of the data, and say they were filtered. */
const FILTERED: {
  family: string;
  rules: string;
  path: string;
  visible: (body: unknown) => boolean;
}[] = [
  {
    family: "kv keys",
    rules: 'key_prefix "app/" { policy = "list" }',
    path: "/v1/kv/?keys",
    visible: (b) =>
      (b as string[]).length > 0 && (b as string[]).every((k) => k.startsWith("app/")),
  },
  {
    family: "kv recurse",
    rules: 'key_prefix "app/" { policy = "read" }',
    path: "/v1/kv/?recurse",
    visible: (b) => (b as { Key: string }[]).every((p) => p.Key.startsWith("app/")),
  },
  {
    family: "catalog nodes",
    rules: 'node "n2" { policy = "read" }',
    path: "/v1/catalog/nodes",
    visible: (b) => (b as { Node: string }[]).map((n) => n.Node).join() === "n2",
  },
  {
    family: "catalog services",
    rules: 'service "web" { policy = "read" }',
    path: "/v1/catalog/services",
    visible: (b) => Object.keys(b as object).join() === "web",
  },
  {
    family: "health service",
    rules: 'service "web" { policy = "read" }',
    path: "/v1/health/service/web",
    visible: (b) => (b as unknown[]).length === 0,
  },
  {
    family: "agent members",
    rules: 'node "nobody" { policy = "read" }',
    path: "/v1/agent/members",
    visible: (b) => (b as unknown[]).length === 0,
  },
  {
    family: "session list",
    rules: 'session "nobody" { policy = "read" }',
    path: "/v1/session/list",
    visible: (b) => (b as unknown[]).length === 0,
  },
  {
    family: "event list",
    rules: 'event "other" { policy = "read" }',
    path: "/v1/event/list",
    visible: (b) => (b as unknown[]).length === 0,
  },
  {
    family: "ui services",
    rules: 'service "web" { policy = "read" }',
    path: "/v1/internal/ui/services",
    visible: (b) => (b as { Name: string }[]).every((s) => s.Name === "web"),
  },
  {
    family: "prepared queries",
    rules: 'query "nope" { policy = "read" }',
    path: "/v1/query",
    visible: (b) => (b as unknown[]).length === 0,
  },
];

void describe("ACL policy matrix (default_policy deny)", () => {
  let a: TestAgent;
  const as = (token: string) => ({ "X-Consul-Token": token });
  let empty = "";
  const tokenFor = async (rules: string): Promise<string> => {
    const name = `p${Math.random().toString(36).slice(2)}`;
    const p = await a.call("PUT", "/v1/acl/policy", { Name: name, Rules: rules }, as(MANAGEMENT));
    assert.equal(p.status, 200, await p.clone().text());
    const t = await a.call("PUT", "/v1/acl/token", { Policies: [{ Name: name }] }, as(MANAGEMENT));
    return ((await t.json()) as { SecretID: string }).SecretID;
  };

  before(async () => {
    a = await startTestAgent({
      acl: aclDenyByDefault(MANAGEMENT),
    });
    const m = as(MANAGEMENT);
    for (const [path, body] of [
      ["/v1/kv/app/a", "1"],
      ["/v1/kv/secret/b", "2"],
    ] as const)
      assert.equal((await a.call("PUT", path, body, m)).status, 200);
    await a.call(
      "PUT",
      "/v1/catalog/register",
      { Node: "n2", Address: "10.0.0.2", Service: { Service: "web" } },
      m,
    );
    await a.call(
      "PUT",
      "/v1/catalog/register",
      { Node: "n3", Address: "10.0.0.3", Service: { Service: "db" } },
      m,
    );
    await a.call("PUT", "/v1/session/create", {}, m);
    await a.call("PUT", "/v1/event/fire/deploy", undefined, m);
    await a.call("POST", "/v1/query", { Name: "qq", Service: { Service: "web" } }, m);
    empty = await tokenFor("");
  });
  after(() => a.stop());

  for (const row of ROWS) {
    void it(`${row.family} - allowed with its rule, refused without`, async () => {
      const token = await tokenFor(row.rules);
      const ok = await a.call(row.method, row.path, row.body, as(token));
      assert.equal(ok.status, row.allowed ?? 200, `${row.family}: ${await ok.text()}`);
      const refused = await a.call(row.method, row.path, row.body, as(empty));
      const text = await refused.text();
      assert.equal(refused.status, row.denied ?? 403, `${row.family}: ${text}`);
      assert.match(text, /Permission denied/);
      const anonymous = await a.call(row.method, row.path, row.body);
      assert.equal(anonymous.status, row.denied ?? 403);
    });
  }

  for (const row of FILTERED) {
    void it(`${row.family} - filtered to the token's rules, with X-Consul-Results-Filtered-By-ACLs`, async () => {
      const token = await tokenFor(row.rules);
      const res = await a.call("GET", row.path, undefined, as(token));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-consul-results-filtered-by-acls"), "true");
      assert.ok(row.visible(await res.json()), row.family);
      const full = await a.call("GET", row.path, undefined, as(MANAGEMENT));
      assert.equal(full.headers.get("x-consul-results-filtered-by-acls"), null);
    });
  }

  void it("status - needs no token, as in Consul", async () => {
    assert.equal((await a.call("GET", "/v1/status/leader")).status, 200);
  });

  void it("txn - a denied op is listed with Consul's text and nothing is written", async () => {
    const token = await tokenFor('key_prefix "app/" { policy = "write" }');
    const res = await a.call(
      "PUT",
      "/v1/txn",
      [
        { KV: { Verb: "set", Key: "app/ok", Value: "eA==" } },
        { KV: { Verb: "set", Key: "secret/no", Value: "eA==" } },
      ],
      as(token),
    );
    assert.equal(res.status, 409);
    const body = (await res.json()) as { Errors: { OpIndex: number; What: string }[] };
    assert.equal(body.Errors.length, 1);
    assert.equal(body.Errors[0]?.OpIndex, 1);
    assert.match(body.Errors[0]?.What ?? "", /lacks permission 'key:write' on "secret\/no"$/);
    assert.equal((await a.call("GET", "/v1/kv/app/ok", undefined, as(MANAGEMENT))).status, 404);
  });

  void it("prepared query execute - nodes filtered by the caller's service and node read", async () => {
    const reader = await tokenFor(
      'service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }',
    );
    const seen = (await (
      await a.call("GET", "/v1/query/qq/execute", undefined, as(reader))
    ).json()) as { Nodes: unknown[] };
    assert.equal(seen.Nodes.length, 1);
    const blind = (await (
      await a.call("GET", "/v1/query/qq/execute", undefined, as(empty))
    ).json()) as { Nodes: unknown[] };
    assert.equal(blind.Nodes.length, 0);
  });

  void it("prepared query - its own Token filters the execution, and is hidden from readers", async () => {
    const webReader = await tokenFor(
      'service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }',
    );
    const created = await a.call(
      "POST",
      "/v1/query",
      { Name: "qtok", Token: webReader, Service: { Service: "web" } },
      as(MANAGEMENT),
    );
    assert.equal(created.status, 200, await created.clone().text());
    const caller = await tokenFor('query_prefix "qtok" { policy = "read" }');
    const run = (await (
      await a.call("GET", "/v1/query/qtok/execute", undefined, as(caller))
    ).json()) as { Nodes: unknown[] };
    assert.equal(run.Nodes.length, 1, "the query's token reads web, the caller's does not");
    const listed = (await (await a.call("GET", "/v1/query", undefined, as(caller))).json()) as {
      Name: string;
      Token: string;
    }[];
    assert.deepEqual(
      listed.map((q) => [q.Name, q.Token]),
      [["qtok", "<hidden>"]],
    );
  });

  void it("kv - a recursive delete needs write on everything under the prefix", async () => {
    const token = await tokenFor(
      'key_prefix "" { policy = "write" }\nkey "app/a" { policy = "read" }',
    );
    assert.equal((await a.call("DELETE", "/v1/kv/app/?recurse", undefined, as(token))).status, 403);
    assert.equal((await a.call("GET", "/v1/kv/app/a", undefined, as(MANAGEMENT))).status, 200);
  });
  void it("snapshot - restoring one taken before ACLs keeps the management token working", async () => {
    const off = await startTestAgent();
    let archive: Buffer;
    try {
      archive = Buffer.from(await (await off.call("GET", "/v1/snapshot")).arrayBuffer());
    } finally {
      await off.stop();
    }
    const restored = await a.call("PUT", "/v1/snapshot", archive, as(MANAGEMENT));
    assert.equal(restored.status, 200, await restored.clone().text());
    assert.equal((await a.call("GET", "/v1/acl/policies", undefined, as(MANAGEMENT))).status, 200);
    assert.equal((await a.call("GET", "/v1/kv/app/a")).status, 403);
  });
});
