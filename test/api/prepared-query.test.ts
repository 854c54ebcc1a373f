/**
 * Prepared queries over HTTP against a real in-process agent: CRUD with Consul's shapes and
 * indexes, Consul's validation texts and statuses, execute's health/tag/meta filters, templates
 * (plain prefix and with a regexp), explain, blocking reads, 404s and the bounds.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import fc from "fast-check";
import { Catalog } from "../../src/catalog/catalog.js";
import { emptyQueryDefinition } from "../../src/catalog/prepared-query-types.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { goJson } from "../../src/api/response.js";

type Json = Record<string, unknown>;

describe("prepared queries (/v1/query)", () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent();
    // web on four nodes: n1 passing (primary, v1), n2 warning, n3 critical on an ignorable check,
    // n4 passing (backup, v2, rack b). db on n1.
    const register = async (
      node: string,
      meta: Json,
      id: string,
      tags: string[],
      svcMeta: Json,
      status: string,
      service = "web",
    ): Promise<void> => {
      const res = await agent.call("PUT", "/v1/catalog/register", {
        Node: node,
        Address: `10.0.0.${node.slice(1)}`,
        NodeMeta: meta,
        Service: { ID: id, Service: service, Tags: tags, Meta: svcMeta, Port: 80 },
        Checks: [{ CheckID: `chk-${id}`, Name: "probe", Status: status, ServiceID: id }],
      });
      assert.equal(res.status, 200, await res.text());
    };
    await register("n1", { rack: "a" }, "web1", ["primary", "v1"], { env: "prod" }, "passing");
    await register("n2", { rack: "a" }, "web2", ["primary"], { env: "prod" }, "warning");
    await register("n3", { rack: "a" }, "web3", ["primary"], { env: "test" }, "critical");
    await register("n4", { rack: "b" }, "web4", ["BACKUP", "v2"], { env: "prod" }, "passing");
    await register("n1", { rack: "a" }, "db1", ["primary"], {}, "passing", "db");
  });
  after(() => agent.stop());

  const create = async (body: unknown): Promise<{ status: number; text: string; id: string }> => {
    const res = await agent.call("POST", "/v1/query", body as object);
    const text = await res.text();
    const id = res.status === 200 ? ((JSON.parse(text) as { ID: string }).ID ?? "") : "";
    return { status: res.status, text, id };
  };
  const getJson = async (
    path: string,
  ): Promise<{ status: number; body: unknown; res: Response }> => {
    const res = await agent.call("GET", path);
    const text = await res.text();
    return { status: res.status, body: res.status === 200 ? JSON.parse(text) : text, res };
  };
  const executeNodes = async (idOrName: string, query = ""): Promise<string[]> => {
    const r = await getJson(`/v1/query/${encodeURIComponent(idOrName)}/execute${query}`);
    assert.equal(r.status, 200, String(r.body));
    const nodes = (r.body as { Nodes: { Node: { Node: string } }[] }).Nodes;
    return nodes.map((n) => n.Node.Node).sort();
  };
  const del = async (id: string): Promise<void> => {
    const res = await agent.call("DELETE", `/v1/query/${id}`);
    assert.equal(res.status, 200, await res.text());
  };

  it("query - create, list, read, update and delete with Consul's shapes and indexes", async () => {
    const made = await create({ Name: "crud", Service: { Service: "web" }, DNS: { TTL: "10s" } });
    assert.equal(made.status, 200, made.text);
    assert.match(made.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const one = await getJson(`/v1/query/${made.id}`);
    assert.equal(one.status, 200);
    const list = one.body as Json[];
    assert.equal(list.length, 1, "a read answers a one-element array, as Consul");
    const q = list[0] as Json;
    assert.deepEqual(Object.keys(q), [
      "ID",
      "Name",
      "Session",
      "Token",
      "Template",
      "Service",
      "DNS",
      "CreateIndex",
      "ModifyIndex",
    ]);
    assert.deepEqual(q.Template, { Type: "", Regexp: "", RemoveEmptyTags: false });
    assert.deepEqual(q.Service, {
      Service: "web",
      SamenessGroup: "",
      Failover: { NearestN: 0, Datacenters: null, Targets: null },
      OnlyPassing: false,
      IgnoreCheckIDs: null,
      Near: "",
      Tags: null,
      NodeMeta: null,
      ServiceMeta: null,
      Connect: false,
      Peer: "",
    });
    assert.deepEqual(q.DNS, { TTL: "10s" });
    assert.equal(q.CreateIndex, q.ModifyIndex);
    assert.equal(one.res.headers.get("x-consul-index"), String(q.ModifyIndex));

    const all = await getJson("/v1/query");
    assert.ok((all.body as Json[]).some((x) => x.ID === made.id));

    const upd = await agent.call("PUT", `/v1/query/${made.id}`, {
      Name: "crud",
      Service: { Service: "db", OnlyPassing: true, Tags: ["primary"] },
    });
    assert.equal(upd.status, 200, await upd.text());
    const after = ((await getJson(`/v1/query/${made.id}`)).body as Json[])[0] as Json;
    assert.equal((after.Service as Json).Service, "db");
    assert.equal(after.CreateIndex, q.CreateIndex);
    assert.ok((after.ModifyIndex as number) > (q.ModifyIndex as number));
    assert.deepEqual(after.DNS, { TTL: "" }, "an update replaces the whole definition");
    const upper = await agent.call("PUT", `/v1/query/${made.id.toUpperCase()}`, {
      Name: "crud",
      Service: { Service: "web" },
    });
    assert.equal(upper.status, 200, await upper.text());
    const crud = ((await getJson("/v1/query")).body as Json[]).filter((x) => x.Name === "crud");
    assert.deepEqual(
      crud.map((x) => [x.ID, (x.Service as Json).Service]),
      [[made.id, "web"]],
      "an ID matches in any case and keeps its stored spelling",
    );

    await del(made.id);
    const gone = await getJson(`/v1/query/${made.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body, "Query not found");
    // The name is free again once its query is gone.
    const again = await create({ Name: "CRUD", Service: { Service: "web" } });
    assert.equal(again.status, 200, again.text);
    await del(again.id);
  });

  it("query - refuses what Consul refuses, in Consul's words and statuses", async () => {
    const cases: [unknown, number, string][] = [
      [{ Name: "v1" }, 500, "Invalid prepared query: Must provide a Service name to query"],
      [{ Service: { Service: "web" } }, 500, "Invalid prepared query: Must be bound to a session"],
      [
        { ID: "x", Name: "v2", Service: { Service: "web" } },
        500,
        "ID must be empty when creating a new prepared query",
      ],
      [
        { Name: "v3", Service: { Service: "web", Failover: { NearestN: -1 } } },
        500,
        "Invalid prepared query: Bad NearestN '-1', must be >= 0",
      ],
      [
        {
          Name: "v3b",
          Service: { Service: "web", Failover: { NearestN: 1, Targets: [{ Peer: "p" }] } },
        },
        500,
        "Invalid prepared query: Targets cannot be populated with NearestN or Datacenters",
      ],
      [
        { Name: "v4", Service: { Service: "web" }, DNS: { TTL: "soon" } },
        500,
        `Invalid prepared query: Bad DNS TTL 'soon': time: invalid duration "soon"`,
      ],
      [
        { Name: "v5", Service: { Service: "web", NodeMeta: { "bad key": "x" } } },
        500,
        "Invalid prepared query: Couldn't load metadata pair ('bad key', 'x'): Key contains invalid characters",
      ],
      [
        { Name: "v6", Session: "nope", Service: { Service: "web" } },
        500,
        `raft apply failed: invalid session "nope"`,
      ],
      [
        { Name: "v7", Template: { Type: "regexp" }, Service: { Service: "web" } },
        500,
        "raft apply failed: failed compiling template: Bad Template.Type 'regexp'",
      ],
      [
        {
          Name: "v8",
          Template: { Type: "name_prefix_match", Regexp: "(" },
          Service: { Service: "web" },
        },
        500,
        "raft apply failed: failed compiling template: Bad Regexp: error parsing regexp: missing closing ): `(`",
      ],
      [
        { Name: "v9", Template: { Type: "name_prefix_match" }, Service: { Service: "${nope}" } },
        500,
        "raft apply failed: failed compiling template: Bad evaluation for '${nope}' in Service.Service: unknown variable accessed: nope",
      ],
      [
        {
          Name: "v10",
          Template: { Type: "name_prefix_match" },
          Service: { Service: "web", Tags: ["${name.full"] },
        },
        500,
        "raft apply failed: failed compiling template: Bad format '${name.full' in Service.Tags[0]: at column 1: unterminated interpolation \"${\"",
      ],
      [
        { Name: "v11", Service: { Service: 7 } },
        400,
        "Request decode failed: json: cannot unmarshal number into Go struct field PreparedQuery.Service.Service of type string",
      ],
      [
        { Name: "v12", Service: { Service: "web", Failover: { NearestN: 1.5 } } },
        400,
        "Request decode failed: json: cannot unmarshal number 1.5 into Go struct field PreparedQuery.Service.Failover.NearestN of type int",
      ],
      [
        [1],
        400,
        "Request decode failed: json: cannot unmarshal array into Go value of type structs.PreparedQuery",
      ],
    ];
    for (const [body, status, text] of cases) {
      const r = await create(body);
      assert.deepEqual([r.status, r.text], [status, text], JSON.stringify(body));
    }

    const first = await create({ Name: "Unique", Service: { Service: "web" } });
    assert.equal(first.status, 200);
    const dup = await create({ Name: "uNIQUE", Service: { Service: "web" } });
    assert.deepEqual(
      [dup.status, dup.text],
      [500, "raft apply failed: name 'uNIQUE' aliases an existing query name"],
    );
    const alias = await create({ Name: first.id, Service: { Service: "web" } });
    assert.deepEqual(
      [alias.status, alias.text],
      [500, `raft apply failed: name '${first.id}' aliases an existing query ID`],
    );
    // An update may keep its own name.
    const keep = await agent.call("PUT", `/v1/query/${first.id}`, {
      Name: "UNIQUE",
      Service: { Service: "db" },
    });
    assert.equal(keep.status, 200, await keep.text());
    await del(first.id);

    const missing = "0e8a3b5e-3bc1-4d1e-9a6c-7f3f4f0c0a11";
    for (const method of ["PUT", "DELETE"]) {
      const res = await agent.call(method, `/v1/query/${missing}`, {
        Name: "x",
        Service: { Service: "web" },
      });
      assert.deepEqual(
        [res.status, await res.text()],
        [500, `Cannot modify non-existent prepared query: '${missing}'`],
      );
    }
    const notUuid = await agent.call("GET", "/v1/query/not-a-uuid");
    assert.deepEqual(
      [notUuid.status, await notUuid.text()],
      [500, "failed prepared query lookup: index error: UUID must be 36 characters"],
    );
    const wrongMethod = await agent.call("PUT", `/v1/query/${missing}/execute`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "OPTIONS,GET");
  });

  it("query - execute answers Consul's response and applies the health, meta and tag filters", async () => {
    const q = await create({ Name: "all-web", Service: { Service: "web" }, DNS: { TTL: "5s" } });
    const r = await getJson("/v1/query/all-web/execute");
    assert.equal(r.status, 200);
    const body = r.body as Json;
    assert.deepEqual(Object.keys(body), [
      "Service",
      "Nodes",
      "DNS",
      "Datacenter",
      "PeerName",
      "Failovers",
      "Index",
      "LastContact",
      "KnownLeader",
      "ConsistencyLevel",
      "NotModified",
      "Backend",
      "ResultsFilteredByACLs",
    ]);
    assert.equal(body.Service, "web");
    assert.deepEqual(body.DNS, { TTL: "5s" });
    assert.equal(body.Datacenter, "dc1");
    assert.equal(body.Failovers, 0);
    const entry = (body.Nodes as Json[])[0] as Json;
    assert.deepEqual(Object.keys(entry), ["Node", "Service", "Checks"]);
    // Critical is always dropped; warning stays unless OnlyPassing.
    assert.deepEqual(await executeNodes("all-web"), ["n1", "n2", "n4"]);
    assert.deepEqual(await executeNodes(q.id), ["n1", "n2", "n4"], "by ID as by name");
    assert.deepEqual(await executeNodes("ALL-WEB"), ["n1", "n2", "n4"], "names match in any case");

    const variants: [Json, string[]][] = [
      [{ Service: "web", OnlyPassing: true }, ["n1", "n4"]],
      [{ Service: "web", IgnoreCheckIDs: ["chk-web3"] }, ["n1", "n2", "n3", "n4"]],
      [{ Service: "web", Tags: ["primary"] }, ["n1", "n2"]],
      [{ Service: "web", Tags: ["!Primary"] }, ["n4"]],
      [{ Service: "web", Tags: ["backup", "V2"] }, ["n4"]],
      [{ Service: "web", NodeMeta: { rack: "a" } }, ["n1", "n2"]],
      [{ Service: "web", ServiceMeta: { env: "prod" }, OnlyPassing: true }, ["n1", "n4"]],
      [{ Service: "nothing" }, []],
    ];
    for (const [svc, expected] of variants) {
      const upd = await agent.call("PUT", `/v1/query/${q.id}`, { Name: "all-web", Service: svc });
      assert.equal(upd.status, 200, await upd.text());
      assert.deepEqual(await executeNodes("all-web"), expected, JSON.stringify(svc));
    }

    await agent.call("PUT", `/v1/query/${q.id}`, { Name: "all-web", Service: { Service: "web" } });
    assert.equal((await executeNodes("all-web", "?limit=2")).length, 2);
    for (let i = 0; i < 5; i++) {
      const near = await getJson("/v1/query/all-web/execute?near=n4");
      const nodes = (near.body as { Nodes: { Node: { Node: string } }[] }).Nodes;
      assert.equal(nodes[0]?.Node.Node, "n4", "the near node comes first");
    }
    const badLimit = await agent.call("GET", "/v1/query/all-web/execute?limit=many");
    assert.deepEqual(
      [badLimit.status, await badLimit.text()],
      [500, `Bad limit: strconv.Atoi: parsing "many": invalid syntax`],
    );
    const otherDc = await agent.call("GET", "/v1/query/all-web/execute?dc=dc9");
    assert.equal(otherDc.status, 500);
    for (const sub of ["execute", "explain"]) {
      const res = await agent.call("GET", `/v1/query/no-such-query/${sub}`);
      assert.deepEqual([res.status, await res.text()], [404, "Query not found"]);
    }
    await del(q.id);
  });

  it("query - templates: prefix match, regexp groups, exact name first, longest prefix, explain", async () => {
    const plain = await create({
      Name: "geo-",
      Template: { Type: "name_prefix_match" },
      Service: {
        Service: "${name.suffix}",
        Tags: ["${name.prefix}", ""],
        Near: "${agent.segment}",
      },
    });
    assert.equal(plain.status, 200, plain.text);
    const ex = await getJson("/v1/query/geo-db/explain");
    assert.equal(ex.status, 200);
    const explained = (ex.body as { Query: Json }).Query;
    assert.equal(explained.ID, plain.id);
    assert.deepEqual(explained.Service && (explained.Service as Json).Service, "db");
    assert.deepEqual((explained.Service as Json).Tags, ["geo-", ""]);
    assert.equal((explained.Service as Json).Near, "");
    assert.deepEqual(await executeNodes("geo-db"), [], "tag geo- is on no db instance");

    const re = await create({
      Name: "geo-web-",
      Template: {
        Type: "name_prefix_match",
        Regexp: "^geo-web-(primary|backup)(-v\\d)?$",
        RemoveEmptyTags: true,
      },
      Service: { Service: "web", Tags: ["${match(1)}", "${match(2)}", "${match(9)}"] },
    });
    assert.equal(re.status, 200, re.text);
    const reExplained = (
      (await getJson("/v1/query/geo-web-backup/explain")).body as { Query: Json }
    ).Query;
    assert.equal(reExplained.ID, re.id, "the longest template prefix wins");
    assert.deepEqual((reExplained.Service as Json).Tags, ["backup"], "empty tags removed");
    assert.deepEqual(await executeNodes("geo-web-backup"), ["n4"]);
    assert.deepEqual(await executeNodes("geo-web-primary"), ["n1", "n2"]);

    // An exact name beats any template prefix.
    const exact = await create({ Name: "geo-web-primary", Service: { Service: "db" } });
    assert.deepEqual(await executeNodes("geo-web-primary"), ["n1"]);
    const templateById = await agent.call("GET", `/v1/query/${re.id}/execute`);
    assert.deepEqual(
      [templateById.status, await templateById.text()],
      [500, "prepared query templates can only be resolved up by name, not by ID"],
    );
    // GET by ID shows a template as stored, unrendered.
    const stored = ((await getJson(`/v1/query/${re.id}`)).body as Json[])[0] as Json;
    assert.deepEqual((stored.Service as Json).Tags, ["${match(1)}", "${match(2)}", "${match(9)}"]);

    // One template may have an empty name: it catches every name nothing else matches.
    const catchAll = await create({
      Template: { Type: "name_prefix_match" },
      Service: { Service: "${name.full}" },
    });
    assert.equal(catchAll.status, 200, catchAll.text);
    const second = await create({
      Template: { Type: "name_prefix_match" },
      Service: { Service: "x" },
    });
    assert.deepEqual(
      [second.status, second.text],
      [500, "raft apply failed: a query template with an empty name already exists"],
    );
    assert.deepEqual(await executeNodes("db"), ["n1"]);
    for (const id of [plain.id, re.id, exact.id, catchAll.id]) await del(id);
    const res = await agent.call("GET", "/v1/query/db/execute");
    assert.equal(res.status, 404);
  });

  it("query - the list blocks until the queries table changes", async () => {
    const first = await agent.call("GET", "/v1/query");
    const index = Number(first.headers.get("x-consul-index"));
    assert.ok(index > 0);
    const parkedBefore = agent.parked();
    const blocked = agent.call("GET", `/v1/query?index=${index}&wait=30s`);
    await until(() => agent.parked() > parkedBefore, "the list to park");
    const made = await create({ Name: "wakes", Service: { Service: "web" } });
    const res = await blocked;
    assert.ok(Number(res.headers.get("x-consul-index")) > index);
    assert.ok(((await res.json()) as Json[]).some((q) => q.ID === made.id));
    await del(made.id);
  });

  it("query - a session's queries go with the session", async () => {
    const s = await agent.call("PUT", "/v1/session/create", { Name: "owner" });
    const sid = ((await s.json()) as { ID: string }).ID;
    const bound = await create({ Session: sid, Service: { Service: "web" } });
    assert.equal(bound.status, 200, bound.text);
    assert.equal((await getJson(`/v1/query/${bound.id}`)).status, 200);
    await agent.call("PUT", `/v1/session/destroy/${sid}`);
    await until(
      async () => (await agent.call("GET", `/v1/query/${bound.id}`)).status === 404,
      "the session's query to be deleted",
    );
  });

  it("query - execute on a service with many instances answers every one, in Consul's shape", async () => {
    const count = 300;
    for (let i = 0; i < count; i++) {
      const res = await agent.call("PUT", "/v1/catalog/register", {
        Node: `m${i}`,
        Address: "10.1.0.1",
        Service: { ID: `many${i}`, Service: "many", Tags: ["<&>"] },
      });
      assert.equal(res.status, 200);
    }
    const q = await create({ Name: "many", Service: { Service: "many" }, DNS: { TTL: "1s" } });
    const res = await agent.call("GET", "/v1/query/many/execute");
    assert.equal(res.headers.get("content-type"), "application/json");
    const text = await res.text();
    assert.ok(text.includes("\\u003c\\u0026\\u003e"), "HTML-escaped as Go encodes it");
    const body = JSON.parse(text) as Json;
    assert.equal(Object.keys(body)[0], "Service");
    assert.equal(Object.keys(body)[1], "Nodes");
    assert.equal(body.Service, "many");
    assert.deepEqual(body.DNS, { TTL: "1s" });
    assert.equal((body.Nodes as Json[]).length, count);
    assert.equal(text, goJson(body), "the same bytes as encoding the whole answer at once");
    const pretty = (await (
      await agent.call("GET", "/v1/query/many/execute?pretty")
    ).json()) as Json;
    assert.equal((pretty.Nodes as Json[]).length, count);
    await del(q.id);
  });

  it("query - random definitions and names get a Consul status and never wedge the agent", async () => {
    const templateish = fc.constantFrom(
      "${name.full}",
      "${match(1)}",
      "$${x}",
      "${",
      "${nope}",
      "web",
    );
    const definition = fc.record(
      {
        Name: fc.oneof(fc.string(), fc.constant("")),
        Session: fc.oneof(fc.constant(""), fc.uuid()),
        Template: fc.record(
          {
            Type: fc.constantFrom("", "name_prefix_match", "regexp"),
            Regexp: fc.oneof(fc.string(), fc.constantFrom("(a+)+$", "^(.*)-(.*)$", "(")),
            RemoveEmptyTags: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
        Service: fc.oneof(
          fc.anything(),
          fc.record(
            {
              Service: fc.oneof(templateish, fc.string()),
              Tags: fc.array(fc.oneof(templateish, fc.string()), { maxLength: 4 }),
              NodeMeta: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
              OnlyPassing: fc.boolean(),
              Failover: fc.record({ NearestN: fc.integer({ min: -2, max: 3 }) }),
            },
            { requiredKeys: [] },
          ),
        ),
        DNS: fc.record({ TTL: fc.constantFrom("", "1s", "soon", "-1s") }),
      },
      { requiredKeys: [] },
    );
    const made: string[] = [];
    await fc.assert(
      fc.asyncProperty(definition, fc.string(), async (def, lookup) => {
        const r = await create(def);
        assert.ok([200, 400, 500].includes(r.status), `${r.status} ${r.text}`);
        if (r.status === 200) made.push(r.id);
        for (const sub of ["execute", "explain"]) {
          const res = await agent.call(
            "GET",
            `/v1/query/${encodeURIComponent(lookup || "x")}/${sub}`,
          );
          await res.arrayBuffer();
          assert.ok([200, 404, 500].includes(res.status), `${sub} ${res.status}`);
        }
      }),
      { numRuns: 150 },
    );
    for (const id of made) await del(id);
    assert.equal((await agent.call("GET", "/v1/status/leader")).status, 200);
  });

  it("query - bounds: body size, name length, and an evil regexp stays linear", async () => {
    const big = await create({
      Name: "big",
      Service: { Service: "web", Tags: ["x".repeat(20_000)] },
    });
    assert.equal(big.status, 400);
    assert.match(big.text, /limited to 16384 bytes/);
    const longName = await create({ Name: "n".repeat(600), Service: { Service: "web" } });
    assert.deepEqual(
      [longName.status, longName.text],
      [500, "Invalid prepared query: Name is too long (limit: 512 characters)"],
    );
    // A pattern that backtracks exponentially in a JS RegExp; RE2 matches it in linear time.
    const evil = await create({
      Name: "evil-",
      Template: { Type: "name_prefix_match", Regexp: "^evil-(a+)+$" },
      Service: { Service: "web", Tags: ["${match(1)}"] },
    });
    assert.equal(evil.status, 200, evil.text);
    const name = `evil-${"a".repeat(5000)}b`;
    const [res, ping] = await Promise.all([
      agent.call("GET", `/v1/query/${name}/explain`),
      agent.call("GET", "/v1/status/leader"),
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(
      (((await res.json()) as { Query: Json }).Query.Service as Json).Tags,
      [""],
      "no match, so match(1) is empty",
    );
    assert.equal(ping.status, 200);
    await del(evil.id);
  });
});

describe("prepared queries - the catalog under contention and at its bound", () => {
  it("query - concurrent creates of one name: one wins; no more than the bound may exist", async () => {
    const store = new MemoryStore();
    const catalog = new Catalog(store, { datacenter: "dc1", maxPreparedQueries: 3 });
    await catalog.start();
    try {
      const def = (name: string): ReturnType<typeof emptyQueryDefinition> => {
        const d = emptyQueryDefinition();
        d.Name = name;
        d.Service.Service = "web";
        return d;
      };
      // Started in one tick, every create passes the view's name check before any commits: only
      // the name claim's compare in the store lets exactly one through.
      const raced = await Promise.allSettled(
        ["race", "RACE", "Race", "rAce"].map((n) => catalog.queries.create(def(n))),
      );
      const won = raced.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1, JSON.stringify(raced));
      for (const r of raced)
        if (r.status === "rejected")
          assert.match(
            (r.reason as Error).message,
            /^raft apply failed: name '\w+' aliases an existing query name$/,
          );
      await catalog.queries.delete((won[0] as PromiseFulfilledResult<string>).value);

      const ids = [];
      for (const n of ["a", "b", "c"]) ids.push(await catalog.queries.create(def(n)));
      await assert.rejects(catalog.queries.create(def("d")), {
        code: "INVALID_STATE",
        message: "Too many prepared queries: at most 3 may exist",
      });
      await catalog.queries.delete(ids[0] as string);
      await catalog.queries.create(def("d"));
      assert.equal(catalog.queries.list().value.length, 3);
    } finally {
      await catalog.stop();
      await store.close();
    }
  });
});
