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
