import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyOrder } from "../../src/lib/key-order.js";

const collect = (order: KeyOrder, prefix: string): string[] => {
  const out: string[] = [];
  order.forEachWithPrefix(prefix, (k) => out.push(k));
  return out;
};

test("key order - a prefix visits exactly its keys, in order, U+FFFF at the end of a prefix included", () => {
  const keys = [
    "",
    "a",
    "a/b",
    "a/",
    "a\uffff",
    "a\uffffb",
    "ab",
    "b",
    "\uffff",
    "\uffff\uffff",
    "é",
    "😀",
  ];
  const order = new KeyOrder();
  for (const k of [...keys].reverse()) order.add(k);
  order.add("a"); // again: still one
  order.add("gone");
  order.delete("gone");
  order.delete("never there");
  for (const prefix of ["", "a", "a/", "a\uffff", "\uffff", "\uffff\uffff", "z", "é", "\ud83d"])
    assert.deepEqual(
      collect(order, prefix),
      keys.filter((k) => k.startsWith(prefix)).sort(),
      JSON.stringify(prefix),
    );
  assert.deepEqual(collect(new KeyOrder(), ""), []);
  // A prefix with no end of its own, past every key: nothing, not the whole tree.
  const small = new KeyOrder();
  small.add("a");
  small.add("b");
  assert.deepEqual(collect(small, "\uffff"), []);
});
