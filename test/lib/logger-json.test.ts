/**
 * `log_json` / `-log-json`: the agent's own lines are hclog's JSON objects, as Consul writes
 * them (and as `agent/monitor?logjson` streams them), not pino's `level`/`msg` layout.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../../src/lib/logger.js";

void test("logger - JSON output is hclog's: sorted @level/@message/@module/@timestamp and the fields", () => {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  const log = createLogger({ level: "info", json: true, out });
  log.info({ node: "n1", name: "agent.http", count: 2 }, "Synced <service>");
  log.debug("not at info");
  assert.equal(lines.length, 1);
  const line = lines[0] ?? "";
  assert.match(line, /\n$/);
  assert.ok(line.includes("\\u003cservice\\u003e"), "HTML-escaped as Go's encoder does");
  const obj = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(obj), [
    "@level",
    "@message",
    "@module",
    "@timestamp",
    "count",
    "node",
  ]);
  assert.equal(obj["@level"], "info");
  assert.equal(obj["@message"], "Synced <service>");
  assert.equal(obj["@module"], "agent.http");
  assert.match(String(obj["@timestamp"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});
