import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { columnize, tabwrite } from "../../src/cli/format.js";
import { prettyKVPair } from "../../src/cli/commands/kv-get.js";
import { servicesWithTags } from "../../src/cli/commands/catalog-services.js";
import { nodeRows } from "../../src/cli/commands/catalog-nodes.js";

void describe("Consul's table layouts", () => {
  void test("columnize - two-space glue, last column unpadded, cells trimmed", () => {
    assert.equal(
      columnize([
        ["Node", "Address", "Status"],
        ["a-long-name", " 1.2.3.4:8301 ", "alive"],
      ]),
      "Node         Address       Status\na-long-name  1.2.3.4:8301  alive",
    );
  });

  void test("tabwrite - a column is its widest cell plus 6; text after the last tab is not a column", () => {
    assert.equal(tabwrite("a\tx\nlonger\ty\n"), "a           x\nlonger      y\n");
    // A tab-less line ends the column block, so the blocks are sized separately.
    assert.equal(tabwrite("a\t1\nplain\nbbbbbbbb\t2"), "a      1\nplain\nbbbbbbbb      2");
  });

  void test("kv get -detailed - Consul's field order and padding", () => {
    const pair = {
      Key: "foo",
      Value: Buffer.from("bar").toString("base64"),
      Flags: 42,
      LockIndex: 0,
      CreateIndex: 7,
      ModifyIndex: 9,
    };
    const expected = [
      "CreateIndex      7",
      "Flags            42",
      "Key              foo",
      "LockIndex        0",
      "ModifyIndex      9",
      "Session          -",
      "Value            bar",
    ].join("\n");
    assert.equal(prettyKVPair(pair, false).toString(), expected);
    assert.match(
      prettyKVPair({ ...pair, Session: "s1" }, true).toString(),
      /Session          s1\nValue            YmFy$/,
    );
  });

  void test("catalog services -tags - names padded, tags sorted and comma-joined", () => {
    // Go's tabwriter pads "db" even with no tags after it; only the ends are trimmed.
    assert.equal(servicesWithTags({ web: ["v2", "blue"], db: [] }), "db       \nweb      blue,v2");
  });

  void test("catalog nodes - the ID is cut at its first dash unless -detailed", () => {
    const node = {
      ID: "b3974d26-91e1-460b-af30-f71598842566",
      Node: "n1",
      Address: "10.0.0.1",
      Datacenter: "dc1",
      TaggedAddresses: { lan: "10.0.0.1" },
      Meta: { b: "2", a: "1" },
      CreateIndex: 1,
      ModifyIndex: 1,
    };
    assert.deepEqual(nodeRows([node], false)[1], ["n1", "b3974d26", "10.0.0.1", "dc1"]);
    assert.deepEqual(nodeRows([node], true)[1], [
      "n1",
      node.ID,
      "10.0.0.1",
      "dc1",
      "lan=10.0.0.1",
      "a=1, b=2",
    ]);
  });
});
