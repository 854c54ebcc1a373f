/**
 * FileLocalStatePersistence: one file per entry, atomic replace, unfinished temporary files
 * ignored, removals idempotent, ids of any shape.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLocalStatePersistence } from "../../src/agent/file-persistence.js";
import type { HealthCheck, NodeService } from "../../src/catalog/types.js";

const service = (id: string, port = 80): NodeService => ({
  ID: id,
  Service: "web",
  Tags: [],
  Address: "",
  Meta: {},
  Port: port,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Proxy: {},
  Connect: {},
  CreateIndex: 0,
  ModifyIndex: 0,
});
const check = (id: string): HealthCheck => ({
  Node: "n",
  CheckID: id,
  Name: id,
  Status: "critical",
  Notes: "",
  Output: "",
  ServiceID: "",
  ServiceName: "",
  ServiceTags: [],
  Type: "",
  Interval: "",
  Timeout: "",
  ExposedPort: 0,
  Definition: {},
  CreateIndex: 0,
  ModifyIndex: 0,
});

void test("file persistence - save, replace, remove and reload; temp files from a crash are dropped", async () => {
  const dir = await mkdtemp(join(tmpdir(), "augur-fp-"));
  try {
    const p = new FileLocalStatePersistence(dir);
    assert.deepEqual(await p.load(), { services: [], checks: [], states: [] });
    await p.saveService({ service: service("web/1 ?#") });
    await p.saveService({ service: service("web/1 ?#", 81) });
    await p.saveService({ service: service("gone") });
    await p.removeService("gone");
    await p.removeService("never-there");
    await p.saveCheck({ check: check("_node_maintenance"), source: "maintenance" });
    await p.saveCheckState({ checkId: "t", status: "passing", output: "ok", expires: 123 });
    // A write that died between open and rename.
    await writeFile(join(dir, "services", "abc.1234.tmp"), "{ torn");
    const again = await new FileLocalStatePersistence(dir).load();
    assert.deepEqual(
      again.services.map((s) => [s.service.ID, s.service.Port]),
      [["web/1 ?#", 81]],
    );
    assert.deepEqual(
      again.checks.map((c) => [c.check.CheckID, c.source]),
      [["_node_maintenance", "maintenance"]],
    );
    assert.deepEqual(again.states, [
      { checkId: "t", status: "passing", output: "ok", expires: 123 },
    ]);
    assert.equal(
      (await readdir(join(dir, "services"))).length,
      1,
      "the temporary file was removed",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("file persistence - concurrent save and remove of one id end in the order they were called", async () => {
  const dir = await mkdtemp(join(tmpdir(), "augur-fp-"));
  try {
    const p = new FileLocalStatePersistence(dir);
    await Promise.all([
      p.saveService({ service: service("x") }),
      p.removeService("x"),
      p.saveService({ service: service("y") }),
    ]);
    assert.deepEqual(
      (await p.load()).services.map((s) => s.service.ID),
      ["y"],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
