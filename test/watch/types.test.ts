import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  WATCH_TYPES,
  WATCH_TYPE_SPECS,
  isWatchType,
  watchTypeSpec,
} from "../../src/watch/types/index.js";
import { buildQuery } from "../../src/watch/query-definition.js";
import { Params } from "../../src/watch/params.js";

const SPEC_FUNCTIONS = ["parse", "request", "shape", "entities"] as const;

void test("watch types - every registered type has a complete spec", () => {
  assert.ok(WATCH_TYPES.length > 0);
  for (const type of WATCH_TYPES) {
    const spec = watchTypeSpec(type);
    for (const fn of SPEC_FUNCTIONS) assert.equal(typeof spec[fn], "function", `${type}.${fn}`);
    assert.equal(typeof spec.losslessJson, "boolean", `${type}.losslessJson`);
    assert.equal(typeof spec.indexOrdered, "boolean", `${type}.indexOrdered`);
    assert.ok(spec.model === "state" || spec.model === "occurrences", `${type}.model`);
  }
  assert.deepEqual([...WATCH_TYPES], Object.keys(WATCH_TYPE_SPECS));
});

void test("watch types - only registered names are types, not inherited object members", () => {
  for (const type of WATCH_TYPES) assert.ok(isWatchType(type));
  for (const name of ["toString", "__proto__", "constructor", "connect_roots", ""])
    assert.equal(isWatchType(name), false, name);
  assert.throws(() => buildQuery(new Params({}), "toString"), /Unsupported watch type: toString/);
});

void test("watch types - docs/watches.md lists every type and no other", () => {
  const doc = readFileSync(new URL("../../../docs/watches.md", import.meta.url), "utf8");
  const table = doc.slice(doc.indexOf("| type | request |"));
  const documented = [
    ...table.slice(0, table.indexOf("\n\n")).matchAll(/^\| `([a-z_]+)` \|/gm),
  ].map((m) => m[1]);
  assert.deepEqual(documented, [...WATCH_TYPES]);
});

/** The query a watch with these parameters makes (`type` is read by the caller, as Consul does). */
const query = (raw: Record<string, unknown>) => buildQuery(new Params(raw), String(raw["type"]));

void test("watch types - each type's request is Consul's", () => {
  const cases: [Record<string, unknown>, string, Record<string, unknown>, boolean][] = [
    [{ key: "a/b c" }, "/v1/kv/a/b%20c", {}, true],
    [{ type: "keyprefix", prefix: "p/" }, "/v1/kv/p/", { recurse: "" }, true],
    [{ type: "services", filter: "x" }, "/v1/catalog/services", { filter: "x" }, false],
    [{ type: "nodes" }, "/v1/catalog/nodes", {}, false],
    [
      { type: "service", service: "web", tag: ["a", "b"], passingonly: true },
      "/v1/health/service/web",
      { tag: ["a", "b"], passing: "1" },
      false,
    ],
    [{ type: "checks" }, "/v1/health/state/any", {}, false],
    [{ type: "checks", service: "web" }, "/v1/health/checks/web", {}, false],
    [{ type: "event", name: "deploy" }, "/v1/event/list", { name: "deploy" }, false],
  ];
  for (const [raw, path, params, notFoundIsEmpty] of cases) {
    const q = query({ type: "key", ...raw });
    assert.deepEqual(
      watchTypeSpec(q.type).request(q),
      { path, query: params, notFoundIsEmpty },
      JSON.stringify(raw),
    );
  }
});

void test("watch types - results are shaped as the Go client hands them over", () => {
  const kv = {
    Value: "dg==",
    Flags: 3,
    Key: "k",
    Session: "s",
    ModifyIndex: 2,
    CreateIndex: 1,
    LockIndex: 0,
  };
  const shaped = JSON.stringify(WATCH_TYPE_SPECS.key.shape([kv]));
  assert.equal(
    shaped,
    '{"Key":"k","CreateIndex":1,"ModifyIndex":2,"LockIndex":0,"Flags":3,"Value":"dg==","Session":"s"}',
  );
  assert.equal(WATCH_TYPE_SPECS.key.shape([]), null);
  assert.equal(WATCH_TYPE_SPECS.keyprefix.shape([]), null);
  assert.deepEqual(Object.keys(WATCH_TYPE_SPECS.services.shape({ b: [], a: ["x"] }) as object), [
    "a",
    "b",
  ]);
  assert.deepEqual(WATCH_TYPE_SPECS.nodes.shape(null), []);
  const losslessTypes = WATCH_TYPES.filter((t) => watchTypeSpec(t).losslessJson);
  assert.deepEqual(losslessTypes, ["key", "keyprefix"]);
});

void test("watch types - only events are occurrences; events and agent_service (a hash) have unordered indexes", () => {
  for (const type of WATCH_TYPES) {
    const spec = watchTypeSpec(type);
    assert.equal(spec.model, type === "event" ? "occurrences" : "state", type);
    assert.equal(spec.indexOrdered, type !== "event" && type !== "agent_service", type);
    assert.equal(spec.blockOn, type === "agent_service" ? "hash" : undefined, type);
  }
});

void test("watch types - checks takes tag (a string or a list) with a state, as filter terms on ServiceTags", () => {
  const withTags = query({ type: "checks", state: "critical", tag: ["v1", 'a"b\\c'] });
  assert.deepEqual(watchTypeSpec("checks").request(withTags), {
    path: "/v1/health/state/critical",
    query: { filter: '"v1" in ServiceTags and "a\\"b\\\\c" in ServiceTags' },
    notFoundIsEmpty: false,
  });
  const both = query({ type: "checks", tag: "v1", filter: 'Status == "critical"' });
  assert.deepEqual(watchTypeSpec("checks").request(both).query, {
    filter: '(Status == "critical") and "v1" in ServiceTags',
  });
  // With a service, Consul's checksWatch ignores the tags.
  const svc = query({ type: "checks", service: "web", tag: "v1" });
  assert.deepEqual(watchTypeSpec("checks").request(svc).query, {});
  assert.deepEqual(
    watchTypeSpec("agent_service").request(query({ type: "agent_service", service_id: "web 1" })),
    { path: "/v1/agent/service/web%201", query: {}, notFoundIsEmpty: false },
  );
});
