import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { defs, manager, pause, until } from "./manager-helpers.js";
import { RECORD, readRecorded, tempDir, httpReceiver, type TempDir } from "./receivers.js";
import { freePortOutsideEphemeralRange } from "../helpers/free-port.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import type { WatchStore } from "../../src/watch/outbox.js";

void describe("watch manager", () => {
  let a: TestAgent;
  let dir: TempDir;
  const dataDirs: string[] = [];
  before(async () => {
    a = await startTestAgent();
    dir = await tempDir();
  });
  after(async () => {
    await a.stop();
    await dir.remove();
    for (const d of dataDirs) await rm(d, { recursive: true, force: true });
  });
  const dataDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), "augur-watch-data-"));
    dataDirs.push(d);
    return d;
  };

  void it("manager - a key watch runs its script with Consul's payload on every change", async () => {
    const out = join(dir.path, "key");
    await (await import("node:fs/promises")).mkdir(out);
    const script = await dir.script("key.sh", RECORD(out));
    const { m } = manager(a);
    await m.start(defs({ type: "key", key: "mgr/a", args: [script] }));
    try {
      await until(async () => (await readRecorded(out)).length === 1, 8000, "first fire");
      await a.call("PUT", "/v1/kv/mgr/a", "hello");
      await until(async () => (await readRecorded(out)).length === 2, 8000, "second fire");
      const runs = await readRecorded(out);
      assert.equal(runs[0]?.body, "null\n", "a missing key is null, as Consul");
      const pair = JSON.parse(runs[1]?.body ?? "") as {
        Key: string;
        Value: string;
        ModifyIndex: number;
      };
      assert.equal(pair.Key, "mgr/a");
      assert.equal(Buffer.from(pair.Value, "base64").toString(), "hello");
      assert.equal(runs[1]?.env[0], String(pair.ModifyIndex), "CONSUL_INDEX is the result's index");
      assert.match(runs[1]?.env[1] ?? "", /^[0-9a-f-]{36}$/, "AUGUR_EVENT_ID");
    } finally {
      await m.stop();
    }
  });

  void it("manager - uint64 Flags reach a key watch's handler exactly, in Consul's payload and in a change document, across a restart", async () => {
    const out = join(dir.path, "flags");
    await (await import("node:fs/promises")).mkdir(out);
    const script = await dir.script("flags.sh", RECORD(out));
    const data = await dataDir();
    const watch = { type: "key", key: "mgr/flags", args: [script], on_start: "never" };
    const changes = {
      type: "keyprefix",
      prefix: "mgr/flags",
      args: [script],
      on_start: "never",
      payload: "changes",
    };
    let { m } = manager(a, { dataDir: data });
    await m.start(defs(watch, changes));
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        await (await a.call("PUT", "/v1/kv/mgr/flags?flags=18446744073709551615", "x")).text(),
        "true",
      );
      await until(async () => (await readRecorded(out)).length === 2, 8000, "both watches fired");
      await m.stop();
      ({ m } = manager(a, { dataDir: data }));
      await m.start(defs(watch, changes)); // the persisted state holds the bigint; nothing re-fires
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        await (await a.call("PUT", "/v1/kv/mgr/flags?flags=9007199254740993", "y")).text(),
        "true",
      );
      await until(
        async () => (await readRecorded(out)).length === 4,
        8000,
        "both watches fired again",
      );
      const bodies = (await readRecorded(out)).map((r) => r.body);
      for (const b of bodies.slice(0, 2)) assert.ok(b.includes('"Flags":18446744073709551615'), b);
      for (const b of bodies.slice(2)) assert.ok(b.includes('"Flags":9007199254740993'), b);
    } finally {
      await m.stop();
    }
  });

  void it("manager - reload keeps unchanged watches running without re-firing; added start, removed stop", async () => {
    const r = await httpReceiver();
    const { m } = manager(a);
    const w1 = {
      type: "key",
      key: "mgr/r1",
      id: "r1",
      handler_type: "http",
      http_handler_config: { path: r.url },
    };
    const w2 = {
      type: "key",
      key: "mgr/r2",
      id: "r2",
      handler_type: "http",
      http_handler_config: { path: r.url },
    };
    await m.start(defs(w1));
    try {
      await r.waitFor(1);
      await m.reload(defs(w1));
      await pause(300);
      assert.equal(r.requests.length, 1, "no re-fire on reload");
      await m.reload(defs(w1, w2));
      await r.waitFor(2);
      assert.deepEqual(
        m
          .watches()
          .map((w) => w.id)
          .sort(),
        ["r1", "r2"],
      );
      await m.reload(defs(w2));
      assert.deepEqual(
        m.watches().map((w) => w.id),
        ["r2"],
      );
      await a.call("PUT", "/v1/kv/mgr/r1", "x");
      await pause(300);
      assert.equal(r.requests.length, 2, "the removed watch no longer fires");
    } finally {
      await m.stop();
      await r.close();
    }
  });

  void it("manager - on_start=changes after a restart delivers exactly what changed while down", async () => {
    const r = await httpReceiver();
    const d = await dataDir();
    const w = {
      type: "keyprefix",
      prefix: "mgr/down/",
      id: "down",
      on_start: "changes",
      payload: "changes",
      handler_type: "http",
      http_handler_config: { path: r.url },
    };
    await a.call("PUT", "/v1/kv/mgr/down/a", "1");
    await a.call("PUT", "/v1/kv/mgr/down/b", "1");
    const first = manager(a, { dataDir: d });
    await first.m.start(defs(w));
    await until(() => first.m.watches()[0]?.index !== undefined);
    await pause(200);
    await first.m.stop();
    assert.equal(r.requests.length, 0, "first run ever: adopted silently");
    await a.call("PUT", "/v1/kv/mgr/down/b", "2");
    await a.call("DELETE", "/v1/kv/mgr/down/a");
    const second = manager(a, { dataDir: d });
    await second.m.start(defs(w));
    try {
      await r.waitFor(1);
      const doc = JSON.parse(r.requests[0]?.body.toString() ?? "") as {
        watch: string;
        changes: { entity: string; kind: string }[];
      };
      assert.equal(doc.watch, "down");
      assert.deepEqual(
        doc.changes.map((c) => [c.entity, c.kind]),
        [
          ["mgr/down/b", "changed"],
          ["mgr/down/a", "removed"],
        ],
      );
      await pause(200);
      assert.equal(r.requests.length, 1);
    } finally {
      await second.m.stop();
      await r.close();
    }
  });

  void it("manager - receiver down across a restart: every change delivered once it is back, same Idempotency-Key", async () => {
    // Down until the test opens it: a port no listen(0) of the agent can be given meanwhile.
    const port = await freePortOutsideEphemeralRange();
    const d = await dataDir();
    const w = {
      type: "key",
      key: "mgr/durable",
      id: "durable",
      handler_type: "http",
      http_handler_config: { path: `http://127.0.0.1:${port}/hook` },
      retry_initial_interval: "50ms",
      retry_max_interval: "100ms",
      retry_max_attempts: 0,
    };
    const first = manager(a, { dataDir: d });
    await first.m.start(defs(w));
    // The first read must see the key absent, or v1 is part of it rather than a change: start()
    // does not wait for that read, and nothing orders it before the PUT below.
    await until(() => first.m.watches()[0]?.index !== undefined);
    for (let i = 1; i <= 5; i++) {
      await a.call("PUT", "/v1/kv/mgr/durable", `v${i}`);
      await until(
        async () => (await first.m.deliveries()).pending.length === i + 1,
        8000,
        `change ${i} recorded`,
      );
    }
    const pending = (await first.m.deliveries()).pending;
    assert.ok(pending.every((p) => p.attempts >= 0));
    await first.m.stop();
    const r = await httpReceiver(undefined, port);
    const second = manager(a, { dataDir: d });
    await second.m.start(defs(w));
    try {
      await until(
        async () => (await second.m.deliveries()).pending.length === 0,
        10_000,
        "all delivered",
      );
      const keys = r.requests.map((q) => String(q.headers["idempotency-key"]));
      const distinct = [...new Set(keys)];
      assert.deepEqual(
        distinct.slice(0, 6),
        pending.map((p) => p.eventId),
        "in detection order, same event ids",
      );
      const values = r.requests
        .slice(0, 6)
        .map((q) => (JSON.parse(q.body.toString()) as { Value: string } | null)?.Value);
      assert.deepEqual(
        values.slice(1).map((v) => Buffer.from(v ?? "", "base64").toString()),
        ["v1", "v2", "v3", "v4", "v5"],
      );
    } finally {
      await second.m.stop();
      await r.close();
    }
  });

  void it("manager - a 400 receiver dead-letters without retries; replay re-delivers once it is fixed", async () => {
    const r = await httpReceiver(() => ({ status: 400, body: "nope" }));
    const { m, registry } = manager(a);
    await m.start(
      defs({
        type: "key",
        key: "mgr/dead",
        id: "dead",
        handler_type: "http",
        http_handler_config: { path: r.url },
      }),
    );
    try {
      await until(async () => (await m.deliveries()).dead.length === 1);
      await pause(200);
      assert.equal(r.requests.length, 1, "no retry storm");
      const [dead] = (await m.deliveries()).dead;
      assert.ok(dead);
      assert.match(dead.lastError ?? "", /400/);
      r.respond = () => ({ status: 200 });
      const replayed = await m.replay(dead.id);
      assert.deepEqual(
        replayed.map((x) => x.id),
        [dead.id],
      );
      await until(async () => (await m.deliveries()).recent.length === 1);
      assert.equal(r.requests[1]?.headers["idempotency-key"], dead.eventId);
      await assert.rejects(m.replay("no-such-id"), /No dead letter with ID "no-such-id"/);
      const text = await registry.metrics();
      assert.match(text, /augur_watch_events_total\{watch="dead"\} 1/);
      assert.match(text, /augur_watch_dead_letters_total\{watch="dead",handler="[0-9a-f]{12}"\} 1/);
      assert.match(text, /augur_watch_deliveries_total\{watch="dead",handler="[0-9a-f]{12}"\} 1/);
      assert.match(
        text,
        /augur_watch_delivery_latency_seconds_count\{watch="dead",handler="[0-9a-f]{12}"\} 1/,
      );
      assert.match(text, /augur_watch_outbox_depth\{watch="dead",handler="[0-9a-f]{12}"\} 0/);
    } finally {
      await m.stop();
      await r.close();
    }
  });

  void it("manager - a hung handler is killed at its timeout and never stalls another watch", async () => {
    const hang = await dir.script("hang.sh", "cat >/dev/null; sleep 60");
    const r = await httpReceiver();
    const { m } = manager(a);
    await m.start(
      defs(
        {
          type: "key",
          key: "mgr/hung",
          id: "hung",
          args: [hang],
          timeout: "500ms",
          retry_max_attempts: 1,
        },
        {
          type: "key",
          key: "mgr/live",
          id: "live",
          handler_type: "http",
          http_handler_config: { path: r.url },
        },
      ),
    );
    try {
      await r.waitFor(1);
      await a.call("PUT", "/v1/kv/mgr/hung", "x");
      for (let i = 0; i < 3; i++) await a.call("PUT", "/v1/kv/mgr/live", `v${i}`);
      await r.waitFor(4, 3000);
      await until(
        async () => (await m.deliveries({ watch: "hung" })).dead.length >= 1,
        8000,
        "hung handler timed out",
      );
      assert.match(
        (await m.deliveries({ watch: "hung" })).dead[0]?.lastError ?? "",
        /timed out after 500ms/,
      );
    } finally {
      await m.stop();
      await r.close();
    }
  });

  void it("manager - deliveries and replay asked before start wait for it instead of failing", async () => {
    const { m } = manager(a);
    let answered = false;
    const early = m.deliveries().then((d) => ((answered = true), d));
    const earlyReplay = m.replay({ allDead: true });
    await pause(50);
    assert.equal(answered, false, "still waiting: start was not called");
    await m.start([]);
    try {
      assert.deepEqual(await early, { store: "memory", pending: [], recent: [], dead: [] });
      assert.deepEqual(await earlyReplay, []);
    } finally {
      await m.stop();
    }
    await assert.rejects(m.deliveries(), /Watches are not running/, "after stop it is an error");
  });
  void it("manager - a signing secret held in the agent's environment is not passed to script handlers", async () => {
    const out = join(dir.path, "env-secret");
    await (await import("node:fs/promises")).mkdir(out);
    const script = await dir.script(
      "env-secret.sh",
      `echo "secret=[$HOOK_SECRET] other=[$OTHER_VAR]" > "${out}/env"`,
    );
    const env = { ...process.env, HOOK_SECRET: "s3cret", OTHER_VAR: "kept" };
    const { m } = manager(a, { env });
    await m.start(
      defs(
        { type: "key", key: "mgr/env-secret", args: [script] },
        {
          type: "key",
          key: "mgr/env-secret-hook",
          handler_type: "http",
          http_handler_config: { path: "http://127.0.0.1:9/" },
          signing_secret_env: "HOOK_SECRET",
        },
      ),
    );
    try {
      const { readFile } = await import("node:fs/promises");
      await until(
        async () => (await readFile(join(out, "env"), "utf8").catch(() => "")).includes("other="),
        8000,
        "script ran",
      );
      assert.equal((await readFile(join(out, "env"), "utf8")).trim(), "secret=[] other=[kept]");
    } finally {
      await m.stop();
    }
  });

  void it("manager - a deliveries report reads only what it answers: 10 of 20,000 pending records, not all of them", async () => {
    const data = await dataDir();
    const [def] = defs({
      type: "key",
      key: "mgr/backlog",
      id: "backlog",
      // A receiver that is down: every record stays pending.
      args: ["sh", "-c", "exit 75"],
    });
    assert.ok(def);
    const handlerKey = (def.handlers[0] as { key: string }).key;
    const seed = await LmdbWatchStore.open(join(data, "watches"));
    for (let batch = 0; batch < 20; batch++) {
      const records = Array.from({ length: 1000 }, (_, i) => ({
        eventId: `e${batch}-${i}`,
        watchId: "backlog",
        handlerKey,
        index: "1",
        createdAt: Date.now(),
        body: "{}",
      }));
      await seed.commit("backlog", null, records);
    }
    await seed.close();
    let returned = 0;
    // Counts what the manager gets back from the store's reads.
    const counting = (store: WatchStore): WatchStore =>
      new Proxy(store, {
        get(target, name) {
          const v: unknown = Reflect.get(target, name, target);
          if (typeof v !== "function") return v;
          if (name !== "pending" && name !== "recent" && name !== "dead") return v.bind(target);
          return async (...args: unknown[]) => {
            const out = await (v as (...a: unknown[]) => Promise<unknown[]>).apply(target, args);
            returned += out.length;
            return out;
          };
        },
      });
    const { m } = manager(a, {
      openDurableStore: async () => counting(await LmdbWatchStore.open(join(data, "watches"))),
    });
    await m.start([def]);
    try {
      returned = 0;
      const report = await m.deliveries({ limit: 10 });
      assert.equal(report.pending.length, 10);
      assert.equal(report.pending[0]?.eventId, "e0-0", "the oldest first");
      assert.ok(returned <= 30, `the report read ${returned} records for an answer of at most 30`);
      returned = 0;
      const one = await m.deliveries({ limit: 5, watch: "backlog" });
      assert.equal(one.pending.length, 5);
      assert.ok(returned <= 15 + 1000 + 10_000, `${returned}`);
      assert.ok(one.pending.every((r) => r.watchId === "backlog"));
    } finally {
      await m.stop();
    }
  });
});
