import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWatchDefinition, withUniqueIds } from "../../src/watch/definition.js";
import { isAugurError } from "../../src/lib/errors.js";

function rejects(raw: Record<string, unknown>, message: string): void {
  assert.throws(
    () => parseWatchDefinition(raw),
    (err: unknown) => isAugurError(err, "BAD_REQUEST") && err.message === message,
    `expected ${JSON.stringify(message)}`,
  );
}

const script = { args: ["/bin/true"] };

void test("definition - Consul's texts for missing type, unknown type and required parameters", () => {
  rejects({ key: "a", ...script }, "Watch type must be specified");
  rejects({ type: "connect_roots", ...script }, "Unsupported watch type: connect_roots");
  rejects({ type: "key", ...script }, "Must specify a single key to watch");
  rejects({ type: "keyprefix", ...script }, "Must specify a single prefix to watch");
  rejects({ type: "service", ...script }, "Must specify a single service to watch");
  rejects(
    { type: "checks", service: "web", state: "critical", ...script },
    "Cannot specify service and state",
  );
});

void test("definition - wrong types are worded as Consul's assignValue*", () => {
  rejects({ type: "key", key: 1, ...script }, "Expecting key to be a string");
  rejects({ type: "key", key: "a", stale: "yes", ...script }, "Expecting stale to be a boolean");
  rejects(
    { type: "service", service: "web", passingonly: "true", ...script },
    "Expecting passingonly to be a boolean",
  );
  rejects(
    { type: "service", service: "web", tag: ["a", 1], ...script },
    "Index 1 of tag expected to be string",
  );
});

void test("definition - unknown parameters are listed as Go prints a []string", () => {
  rejects({ type: "key", key: "a", foo: 1, bar: true, ...script }, "Invalid parameters: [foo bar]");
  // Consul's event watch does not take `stale`, nor key watches `filter`.
  rejects({ type: "event", stale: true, ...script }, "Invalid parameters: [stale]");
  rejects({ type: "key", key: "a", filter: "x", ...script }, "Invalid parameters: [filter]");
  // Without handler_type http, an http config is an unknown parameter, as in Consul.
  rejects(
    { type: "key", key: "a", http_handler_config: { path: "http://x" }, ...script },
    "Invalid parameters: [http_handler_config]",
  );
});

void test("definition - handler rules from agent.go and watch.go", () => {
  rejects({ type: "key", key: "a" }, "Must define a watch handler");
  rejects({ type: "key", key: "a", handler: "x", args: ["y"] }, "Only one watch handler allowed");
  rejects(
    {
      type: "key",
      key: "a",
      handler_type: "http",
      http_handler_config: { path: "http://x" },
      args: ["y"],
    },
    "Only one watch handler allowed",
  );
  rejects(
    { type: "key", key: "a", handler_type: "nope", ...script },
    "Handler type 'nope' not recognized",
  );
  rejects(
    { type: "key", key: "a", handler_type: "http" },
    "Handler type 'http' requires 'http_handler_config' to be set",
  );
  rejects(
    { type: "key", key: "a", handler_type: "http", http_handler_config: {} },
    "Failed to parse 'http_handler_config': Requires 'path' to be set",
  );
  rejects(
    {
      type: "key",
      key: "a",
      handler_type: "http",
      http_handler_config: { path: "http://x", timeout: "soon" },
    },
    `Failed to parse 'http_handler_config': Failed to parse timeout: time: invalid duration "soon"`,
  );
  rejects({ type: "key", key: "a", handler: ["x"] }, "Watch handler must be a string");
  rejects({ type: "key", key: "a", args: [1] }, "Watch args must be a list of strings");
});

void test("definition - a Consul watch gets Consul's defaults and augur's", () => {
  const def = parseWatchDefinition({ type: "checks", args: "/bin/handler" });
  assert.equal(def.query.state, "any");
  assert.equal(def.onStart, "fire");
  assert.deepEqual(def.noise, {
    quietPeriodMs: 0,
    quietPeriodMaxMs: 0,
    holdMs: 0,
    stateChangesOnly: false,
    maintenanceAware: true,
  });
  const h = def.handlers[0];
  assert.ok(h && h.kind === "script");
  assert.deepEqual(h.args, ["/bin/handler"]);
  assert.equal(h.payload, "consul");
  assert.equal(h.durable, true);
  assert.equal(h.timeoutMs, 60_000);
  assert.deepEqual(h.retry, {
    initialIntervalMs: 1000,
    maxIntervalMs: 300_000,
    maxAttempts: 25,
    maxAgeMs: 86_400_000,
  });
  assert.match(def.id, /^checks-[0-9a-f]{12}$/);
});

void test("definition - http handler: Consul's defaults, header values as lists, HCL's one-element block", () => {
  const def = parseWatchDefinition({
    type: "service",
    service: "web",
    tag: "v1",
    passingonly: true,
    handler_type: "http",
    http_handler_config: [
      {
        path: "https://hooks.example/x",
        header: { "x-a": "1", "X-B": ["2", "3"] },
        tls_skip_verify: true,
      },
    ],
  });
  const h = def.handlers[0];
  assert.ok(h && h.kind === "http");
  assert.equal(h.method, "POST");
  assert.equal(h.timeoutMs, 10_000);
  assert.equal(h.tlsSkipVerify, true);
  assert.deepEqual(h.header, { "x-a": ["1"], "X-B": ["2", "3"] });
  assert.deepEqual(def.query.tags, ["v1"]);
  assert.equal(def.query.passingOnly, true);
});

void test("definition - augur keys: parsed, defaulted, validated", () => {
  const def = parseWatchDefinition({
    type: "service",
    service: "web",
    id: "web-health",
    on_start: "changes",
    quiet_period: "2s",
    hold: "30s",
    flap_window: "10m",
    flap_start_threshold: 4,
    flap_stop_threshold: 1,
    state_changes_only: true,
    handler_type: "http",
    http_handler_config: { path: "http://127.0.0.1:9/x" },
    payload: "both",
    retry_max_attempts: 3,
    signing_secret_env: "HOOK_SECRET",
  });
  assert.equal(def.id, "web-health");
  assert.equal(def.onStart, "changes");
  assert.deepEqual(def.noise, {
    quietPeriodMs: 2000,
    quietPeriodMaxMs: 8000,
    holdMs: 30_000,
    flap: { windowMs: 600_000, startThreshold: 4, stopThreshold: 1 },
    stateChangesOnly: true,
    maintenanceAware: true,
  });
  const h = def.handlers[0];
  assert.ok(h && h.kind === "http");
  assert.equal(h.payload, "both");
  assert.equal(h.retry.maxAttempts, 3);
  assert.deepEqual(h.signing, { secretEnv: "HOOK_SECRET" });
  rejects(
    { type: "key", key: "a", ...script, on_start: "sometimes" },
    "Invalid on_start 'sometimes': expected one of fire, changes, never",
  );
  rejects(
    { type: "key", key: "a", ...script, quiet_period: "5x" },
    `Failed to parse quiet_period: time: invalid duration "5x"`,
  );
  rejects(
    {
      type: "key",
      key: "a",
      ...script,
      flap_window: "1m",
      flap_start_threshold: 2,
      flap_stop_threshold: 2,
    },
    "flap_stop_threshold must be lower than flap_start_threshold",
  );
  rejects(
    { type: "key", key: "a", ...script, id: "has space" },
    "Invalid watch id 'has space': use 1 to 128 letters, digits, '-', '_', '.', ':'",
  );
  assert.equal(def.oncePerCluster, false, "once_per_cluster defaults to off");
  const once = parseWatchDefinition({ type: "key", key: "a", ...script, once_per_cluster: true });
  assert.equal(once.oncePerCluster, true);
  assert.notEqual(
    once.id,
    parseWatchDefinition({ type: "key", key: "a", ...script }).id,
    "marking a watch changes its identity",
  );
  assert.equal(
    parseWatchDefinition({ type: "key", key: "a", ...script, once_per_cluster: false }).id,
    parseWatchDefinition({ type: "key", key: "a", ...script }).id,
    "false is the default: same identity",
  );
  assert.equal(def.sourceUnreachableAfterMs, 30_000, "source_unreachable_after defaults to 30s");
  const src = parseWatchDefinition({
    type: "key",
    key: "a",
    ...script,
    source_unreachable_after: "0s",
  });
  assert.equal(src.sourceUnreachableAfterMs, 0);
  rejects(
    { type: "key", key: "a", ...script, source_unreachable_after: "soon" },
    `Failed to parse source_unreachable_after: time: invalid duration "soon"`,
  );
  // Signing belongs to HTTP handlers only.
  rejects(
    { type: "key", key: "a", ...script, signing_secret_env: "S" },
    "Invalid parameters: [signing_secret_env]",
  );
});

void test("definition - several handlers in `handlers`, watch-level keys as their defaults", () => {
  const def = parseWatchDefinition({
    type: "key",
    key: "a",
    payload: "changes",
    handlers: [
      { args: ["/bin/a"] },
      { handler_type: "http", http_handler_config: { path: "http://x/y" }, payload: "consul" },
    ],
  });
  assert.deepEqual(
    def.handlers.map((h) => [h.kind, h.payload]),
    [
      ["script", "changes"],
      ["http", "consul"],
    ],
  );
  assert.notEqual(def.handlers[0]?.key, def.handlers[1]?.key);
  rejects(
    { type: "key", key: "a", args: ["/bin/a"], handlers: [{ args: ["/bin/b"] }] },
    "Only one watch handler allowed",
  );
  rejects({ type: "key", key: "a", handlers: [] }, "Must define a watch handler");
  rejects(
    { type: "key", key: "a", handlers: [{ args: ["/bin/b"], nope: 1 }] },
    "handlers[0]: Invalid parameters: [nope]",
  );
});

void test("definition - identity: key order does not matter, any change does; ids are unique", () => {
  const a = parseWatchDefinition({ type: "key", key: "a", args: ["/bin/x"] });
  const b = parseWatchDefinition({ args: ["/bin/x"], key: "a", type: "key" });
  const c = parseWatchDefinition({ type: "key", key: "a", args: ["/bin/y"] });
  assert.equal(a.identity, b.identity);
  assert.equal(a.id, b.id);
  assert.notEqual(a.identity, c.identity);
  assert.deepEqual(
    withUniqueIds([a, b]).map((d) => d.id),
    [a.id, `${a.id}-2`],
  );
  const named = parseWatchDefinition({ type: "key", key: "a", args: ["/bin/x"], id: "same" });
  const named2 = parseWatchDefinition({ type: "key", key: "b", args: ["/bin/x"], id: "same" });
  assert.throws(() => withUniqueIds([named, named2]), /Duplicate watch id 'same'/);
});
