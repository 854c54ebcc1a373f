import { test } from "node:test";
import assert from "node:assert/strict";
import { CHECK_TYPE_SPECS, checkTypeSpec, isRunnable } from "../../src/checks/registry.js";
import { RUNNABLE_CHECK_TYPES, assertRunnable, createCheckRunner } from "../../src/checks/index.js";
import { TtlCheckRunner } from "../../src/checks/ttl-check.js";
import { IntervalRunner } from "../../src/checks/runner.js";
import { AliasRunner } from "../../src/checks/alias-check.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { decodeCheckDefinition } from "../../src/config/definitions.js";
import { isAugurError } from "../../src/lib/errors.js";
import type { CheckType } from "../../src/catalog/types.js";

// One definition per Consul check type, as a user would register it.
const REGISTRATIONS: Record<CheckType, Record<string, unknown>> = {
  ttl: { TTL: "10s" },
  http: { HTTP: "http://127.0.0.1:1/health", Interval: "10s" },
  tcp: { TCP: "127.0.0.1:1", Interval: "10s" },
  script: { Args: ["/bin/true"], Interval: "10s" },
  udp: { UDP: "127.0.0.1:1", Interval: "10s" },
  grpc: { GRPC: "127.0.0.1:1", Interval: "10s" },
  h2ping: { H2PING: "127.0.0.1:1", Interval: "10s" },
  alias: { AliasService: "web" },
  docker: { Args: ["/bin/true"], DockerContainerID: "abc", Interval: "10s" },
  os_service: { OSService: "sshd", Interval: "10s" },
};

const decode = (type: CheckType) =>
  decodeCheckDefinition({ Name: `c-${type}`, ...REGISTRATIONS[type] });

void test("check registry - every runnable type has a spec that builds its runner", () => {
  assert.deepEqual([...RUNNABLE_CHECK_TYPES], Object.keys(CHECK_TYPE_SPECS));
  // Alias checks read a catalog; building one starts nothing, so an unstarted one will do.
  const catalog = new Catalog(new MemoryStore(), { datacenter: "dc1" });
  for (const type of RUNNABLE_CHECK_TYPES) {
    assert.equal(typeof checkTypeSpec(type).createRunner, "function", type);
    const def = decode(type);
    assert.equal(def.type, type);
    assert.ok(isRunnable(def));
    assertRunnable(def);
    const runner = createCheckRunner(def, () => undefined, { catalog, nodeName: "n1" });
    const kind = type === "ttl" ? TtlCheckRunner : type === "alias" ? AliasRunner : IntervalRunner;
    assert.ok(runner instanceof kind, type);
    assert.equal(runner.state, "idle");
  }
});

void test("check registry - every other Consul type is refused, naming what augur runs", () => {
  const refused = (Object.keys(REGISTRATIONS) as CheckType[]).filter(
    (t) => !(RUNNABLE_CHECK_TYPES as readonly string[]).includes(t),
  );
  assert.deepEqual(refused, ["docker", "os_service"]);
  for (const type of refused) {
    const def = decode(type);
    assert.equal(def.type, type);
    assert.equal(isRunnable(def), false);
    const what = type === "docker" ? "docker (DockerContainerID)" : "os_service (OSService)";
    const expected = `Invalid check: ${what} checks are not supported by augur; use ttl, http, tcp, script (args), udp, grpc, h2ping or alias checks`;
    for (const run of [() => assertRunnable(def), () => createCheckRunner(def, () => undefined)]) {
      assert.throws(
        run,
        (err: unknown) => isAugurError(err, "CHECK_UNSUPPORTED") && err.message === expected,
        type,
      );
    }
  }
});
