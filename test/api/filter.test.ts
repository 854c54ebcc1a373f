import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AUGUR_BIN } from "../helpers/agent-process.js";
import { compileFilter } from "../../src/api/filter/index.js";
import { applyFilter } from "../../src/api/filtering.js";
import { isAugurError } from "../../src/lib/errors.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { CATALOG } from "./filter-catalog.js";

const PREFIX = "Failed to create boolean expression evaluator: ";

function creationError(
  expression: string,
  target: Parameters<typeof compileFilter>[1] = "Node",
): string {
  try {
    applyFilter([], expression, target);
  } catch (err) {
    assert.ok(isAugurError(err, "INVALID_STATE"), String(err));
    assert.equal(err.status, 500);
    return err.message;
  }
  return assert.fail(`${expression} compiled`);
}

function matching(target: Parameters<typeof compileFilter>[1], expression: string): number[] {
  const f = compileFilter(expression, target);
  return CATALOG[target].flatMap((item, i) => (f(item) ? [i] : []));
}

describe("filter - go-bexpr 0.1.2 semantics", () => {
  it("filter - an unknown selector fails before evaluation, on an empty list and behind a short-circuit", () => {
    assert.equal(creationError("Node == x or Foo == y"), `${PREFIX}Selector "Foo" is not valid`);
    assert.equal(
      creationError("Meta.env.deeper == x"),
      `${PREFIX}Selector "Meta.env.deeper" is not valid`,
    );
    assert.equal(
      creationError("CreateIndex == 1"),
      `${PREFIX}Selector "CreateIndex" is not valid`,
      'RaftIndex is bexpr:"-"',
    );
    assert.equal(
      creationError("Definition.HTTP == x", "HealthCheck"),
      `${PREFIX}Selector "Definition" is not valid`,
    );
  });

  it("filter - operators are checked against the field's type", () => {
    assert.equal(
      creationError("Node is empty"),
      `${PREFIX}Invalid match operator "Is Empty" for selector "Node"`,
    );
    assert.equal(
      creationError("ServiceTags == v1", "ServiceNode"),
      `${PREFIX}Invalid match operator "Equal" for selector "ServiceTags"`,
    );
    assert.equal(
      creationError("Meta == x"),
      `${PREFIX}Invalid match operator "Equal" for selector "Meta"`,
    );
    assert.equal(
      creationError("Weights == x", "NodeService"),
      `${PREFIX}Invalid match operator "Equal" for selector "Weights"`,
    );
    assert.equal(
      creationError("Port contains 1", "NodeService"),
      `${PREFIX}Invalid match operator "In" for selector "Port"`,
    );
  });

  it("filter - values coerce as Go parses them", () => {
    assert.equal(
      creationError("Port == 1.5", "NodeService"),
      `${PREFIX}Failed to coerce value "1.5" for selector "Port": strconv.ParseInt: parsing "1.5": invalid syntax`,
    );
    assert.equal(
      creationError("EnableTagOverride == yes", "NodeService"),
      `${PREFIX}Failed to coerce value "yes" for selector "EnableTagOverride": strconv.ParseBool: parsing "yes": invalid syntax`,
    );
    assert.deepEqual(
      matching("ServiceNode", 'ServicePort == "0x1f90"'),
      [0],
      "ParseInt base 0 reads hex",
    );
    assert.deepEqual(matching("ServiceNode", 'ServicePort == "0xFFFF"'), [3]);
    assert.deepEqual(matching("NodeService", "EnableTagOverride == T"), [2]);
  });

  it("filter - strings unquote as Go does; bad escapes are syntax errors", () => {
    assert.deepEqual(matching("Node", 'Node == "\\u00e9-node\\n"'), [2]);
    // 0.1.2's string rule ends at the first quote, so `"db \"` is the literal and it does not unquote.
    assert.match(
      creationError('Node == "db \\"quoted\\""'),
      /1:9 \(8\): rule "string": invalid syntax/,
    );
    assert.match(creationError('Node == "a\\\'b"'), /rule "string": invalid syntax$/);
    assert.deepEqual(matching("Node", "Node == `é-node\n`"), [2]);
  });

  it("filter - keywords are bare values and selectors where the grammar allows", () => {
    assert.deepEqual(matching("Node", "in in Meta"), [2]);
    assert.deepEqual(matching("Node", "not in in Meta"), [0, 1, 3, 4, 5]);
    assert.deepEqual(matching("Node", "(Meta is not empty)"), [0, 2, 3, 5]);
  });

  it("filter - a missing map key answers per 0.1.2's table (matches is true)", () => {
    assert.deepEqual(matching("Node", "Meta.rack == r1"), [0]);
    assert.deepEqual(matching("Node", "Meta.rack != r1"), [1, 2, 3, 4, 5]);
    assert.deepEqual(
      matching("Node", 'Meta.rack matches "^r"'),
      [0, 1, 2, 3, 4],
      "absent keys match; node 5's rack is present and does not",
    );
    assert.deepEqual(matching("Node", 'Meta["a.b"] == dot'), [0]);
  });

  it("filter - a selector through a list matches when any element does", () => {
    assert.deepEqual(matching("ServiceHealth", "Checks.Status == critical"), [0, 3]);
    assert.deepEqual(
      matching("ServiceHealth", "Checks.Status != critical"),
      [0, 3],
      "any element, so empty lists never match",
    );
    assert.deepEqual(matching("ServiceHealth", "Checks is empty"), [1, 2]);
    assert.deepEqual(
      matching("ServiceNode", "ServiceProxy.Upstreams.LocalBindPort == 9000"),
      [1, 2],
    );
  });

  it("filter - selecting through a nil pointer is an error (go-bexpr 0.1.2 panics there)", () => {
    const f = compileFilter("Proxy.Mode == x", "AgentService");
    assert.throws(
      () => f({ ID: "plain" }),
      (err) => isAugurError(err, "INVALID_STATE") && /nested field selection/.test(err.message),
    );
  });

  it("filter - syntax 0.1.2 lacks is refused", () => {
    for (const e of [
      "Tags.0 == x",
      "Tags[0] == x",
      '"/Node" == x',
      "Node = x",
      "Node == x AND Node == y",
      "not(Node == x)",
    ]) {
      assert.ok(creationError(e).startsWith(PREFIX), e);
    }
  });

  it("filter - parsing stays linear on nested and unbalanced parentheses, and refuses what is too deep", () => {
    const started = performance.now();
    assert.match(
      creationError(`${"(".repeat(400)}Node == a${")".repeat(399)}`),
      /rule "grouping": Unmatched parentheses$/,
    );
    assert.deepEqual(matching("Node", `${"(".repeat(200)}Node == "web-1"${")".repeat(200)}`), [0]);
    assert.equal(
      creationError(`${"(".repeat(5000)}Node == a${")".repeat(5000)}`),
      `${PREFIX}expression is nested too deeply`,
    );
    assert.ok(performance.now() - started < 3000);
  });

  it("filter - matches is RE2: a catastrophic-backtracking pattern over long strings stays linear", () => {
    const items = Array.from({ length: 200 }, (_, i) => ({
      ServiceName: `${"a".repeat(5000)}${i}!`,
      ServiceTags: [],
    }));
    const started = performance.now();
    const kept = applyFilter(
      items,
      'ServiceName matches "(a+)+$" or ServiceName matches "^(a|aa)+$"',
      "ServiceNode",
    );
    const elapsed = performance.now() - started;
    assert.equal(kept.length, 0);
    assert.ok(elapsed < 3000, `took ${elapsed.toFixed(0)} ms`);
    assert.match(
      creationError('Node matches "(?<n>x)"'),
      /invalid or unsupported Perl syntax: `\(\?<`$/,
      "Go 1.19's RE2 has no (?<name>)",
    );
    assert.match(
      creationError('Node matches "\\\\"'),
      /trailing backslash at end of expression: ``$/,
    );
  });
});

describe("filter - over HTTP", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  it("filter - a bad filter answers 500 with Consul's text, even when nothing would be filtered", async () => {
    const res = await a.call("GET", "/v1/catalog/service/nothing-here?filter=Foo%20%3D%3D%201");
    assert.equal(res.status, 500);
    assert.equal(await res.text(), `${PREFIX}Selector "Foo" is not valid`);
  });

  it("filter - each endpoint filters on its own Consul type", async () => {
    await a.call("PUT", "/v1/agent/service/register", {
      Name: "web",
      ID: "web1",
      Port: 8080,
      Tags: ["v1"],
      Meta: { env: "prod" },
    });
    const q = (s: string): string => encodeURIComponent(s);
    const nodes = (await (
      await a.call("GET", `/v1/catalog/nodes?filter=${q("Node == node1")}`)
    ).json()) as unknown[];
    assert.equal(nodes.length, 1);
    const svc = (await (
      await a.call(
        "GET",
        `/v1/catalog/service/web?filter=${q('ServiceMeta.env == prod and "v1" in ServiceTags')}`,
      )
    ).json()) as unknown[];
    assert.equal(svc.length, 1);
    const agentSvcs = (await (
      await a.call("GET", `/v1/agent/services?filter=${q("Port == 8080 and Weights.Passing == 1")}`)
    ).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(agentSvcs), ["web1"]);
    const node = (await (
      await a.call("GET", `/v1/catalog/node/node1?filter=${q("Tags contains v2")}`)
    ).json()) as { Services: Record<string, unknown> };
    assert.deepEqual(node.Services, {});
    const health = (await (
      await a.call(
        "GET",
        `/v1/health/service/web?filter=${q("Checks.CheckID == serfHealth and Service.Port == 8080")}`,
      )
    ).json()) as unknown[];
    assert.equal(health.length, 1);
    const wrongType = await a.call(
      "GET",
      `/v1/health/service/web?filter=${q("ServiceName == web")}`,
    );
    assert.equal(
      wrongType.status,
      500,
      "health/service filters CheckServiceNode, which has no ServiceName",
    );
  });

  it("filter - a catastrophic-backtracking regex over a catalog of long strings answers quickly", async () => {
    for (let i = 0; i < 20; i++) {
      const reg = await a.call("PUT", "/v1/agent/service/register", {
        Name: `${"a".repeat(8_000)}${i}!`,
        ID: `long${i}`,
        Tags: ["v1"],
      });
      assert.equal(reg.status, 200);
    }
    const started = performance.now();
    const filter = encodeURIComponent(
      'Service matches "(a+)+$" or Tags contains "b" or Service matches "^(a|aa)+$"',
    );
    const res = await a.call("GET", `/v1/agent/services?filter=${filter}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    const name = encodeURIComponent(`${"a".repeat(8_000)}1!`);
    const catalog = await a.call(
      "GET",
      `/v1/catalog/service/${name}?filter=${encodeURIComponent('ServiceName matches "(a|1|!)+$" and ServiceName not matches "(a+)+$"')}`,
    );
    assert.equal(((await catalog.json()) as unknown[]).length, 1);
    assert.ok(
      performance.now() - started < 3000,
      `took ${(performance.now() - started).toFixed(0)} ms`,
    );
  });

  it("event - node/service/tag filters are compiled as Go regexes", async () => {
    const bad = await a.call("PUT", `/v1/event/fire/deploy?node=${encodeURIComponent("(?<n>x)")}`);
    assert.equal(bad.status, 500, "Consul's EventFire answers a bad filter with a 500");
    assert.match(
      await bad.text(),
      /^Invalid node filter: error parsing regexp: invalid or unsupported Perl syntax/,
    );
    const ok = await a.call("PUT", `/v1/event/fire/deploy?node=${encodeURIComponent("(a+)+$")}`);
    assert.equal(ok.status, 200);
  });

  it("event - augur event compiles -node/-service/-tag as Go regexes before contacting the agent", () => {
    const r = spawnSync(process.execPath, [AUGUR_BIN, "event", "-name=e", "-node=(?<n>x)"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "Failed to compile node filter regexp: error parsing regexp: invalid or unsupported Perl syntax: `(?<`\n",
    );
  });
});
