/**
 * Issue #3 item 6, against a real `augur agent` process and real receivers on loopback:
 *
 * - an HTTP receiver down while 100 changes happen, the agent `kill -9`ed in the middle of
 *   delivery and restarted, the receiver back: every change arrives (counted), duplicates only
 *   under the same Idempotency-Key;
 * - a hung script handler is killed at its timeout while another watch keeps delivering;
 * - a receiver answering 400 sends each event to the dead letters after one attempt.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { httpReceiver, tempDir, type TempDir } from "./receivers.js";
import { pause, until } from "./manager-helpers.js";
import { freePortOutsideEphemeralRange } from "../helpers/free-port.js";

interface Delivery {
  readonly ID: string;
  readonly EventID: string;
  readonly Status: string;
  readonly Attempts: number;
  readonly LastError: string;
}
interface Deliveries {
  readonly Pending: Delivery[];
  readonly Recent: Delivery[];
  readonly Dead: Delivery[];
}

/** Resolves once `n` watches have had their first result. */
async function watchesReady(agent: AgentProcess, n: number): Promise<void> {
  await until(
    async () =>
      (
        await fetch(`${agent.url}/v1/agent/watches`).then(
          (r) => r.json() as Promise<{ Index: string | null }[]>,
        )
      ).filter((w) => w.Index !== null).length === n,
    10_000,
    `${n} watches ready`,
  );
}

async function deliveries(agent: AgentProcess, watch: string): Promise<Deliveries> {
  const res = await fetch(`${agent.url}/v1/agent/watch/deliveries?watch=${watch}&limit=1000`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as Deliveries;
}

const put = async (agent: AgentProcess, key: string, value: string): Promise<void> => {
  const res = await fetch(`${agent.url}/v1/kv/${key}`, { method: "PUT", body: value });
  assert.equal(await res.text(), "true");
};

const valueOf = (body: Buffer): string => {
  const kv = JSON.parse(body.toString()) as { Value: string | null } | null;
  return kv?.Value ? Buffer.from(kv.Value, "base64").toString() : "";
};

void describe("watch delivery failures in a real agent (e2e)", () => {
  let dir: TempDir;
  before(async () => (dir = await tempDir("augur-watch-fail-")));
  after(async () => dir.remove());

  void it("e2e - receiver down for 100 changes, kill -9 mid-delivery, restart: all 100 arrive, dupes only by Idempotency-Key", async () => {
    // Down until the test opens it: a port no listen(0) of the agent can be given meanwhile.
    const port = await freePortOutsideEphemeralRange();
    const conf = join(dir.path, "outage.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "fail/outage",
            id: "outage",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: `http://127.0.0.1:${port}/hook` },
            retry_initial_interval: "50ms",
            retry_max_interval: "200ms",
            retry_max_attempts: 0,
          },
        ],
      }),
    );
    const args = [
      "-data-dir",
      join(dir.path, "outage-data"),
      "-config-file",
      conf,
      "-bind",
      "127.0.0.1",
      "-node",
      "outage",
    ];
    let agent = await startAgentProcess({ args });
    await watchesReady(agent, 1);
    // One change at a time, each seen by the watch before the next, so 100 changes are 100 events.
    for (let i = 1; i <= 100; i++) {
      await put(agent, "fail/outage", `v${i}`);
      await until(
        async () => (await deliveries(agent, "outage")).Pending.length === i,
        10_000,
        `change ${i} recorded`,
      );
    }
    // The receiver comes back slow (20 ms per request): kill -9 the agent once a third has arrived.
    const r = await httpReceiver(undefined, port);
    const slow = r.respond;
    r.respond = (req, n) => {
      const wait = Date.now() + 20;
      while (Date.now() < wait); // a slow receiver, without making its answers asynchronous
      return slow(req, n);
    };
    try {
      await until(() => r.requests.length >= 30, 30_000, "delivery under way");
      await agent.kill();
      const beforeRestart = r.requests.length;
      assert.ok(beforeRestart < 100, `killed mid-delivery (${beforeRestart} of 100 arrived)`);
      agent = await startAgentProcess({ args });
      await until(
        async () => (await deliveries(agent, "outage")).Pending.length === 0,
        30_000,
        "outbox drained after restart",
      );

      const byKey = new Map<string, string>();
      for (const q of r.requests) {
        const key = String(q.headers["idempotency-key"]);
        const value = valueOf(q.body);
        if (byKey.has(key))
          assert.equal(byKey.get(key), value, "a duplicate carries the same key and body");
        byKey.set(key, value);
      }
      const values = [...byKey.values()];
      assert.equal(
        values.length,
        100,
        `every change delivered once per key (${r.requests.length} requests in all)`,
      );
      assert.deepEqual(
        values,
        Array.from({ length: 100 }, (_, i) => `v${i + 1}`),
        "in order",
      );
    } finally {
      await agent.stop();
      await r.close();
    }
  });

  void it("e2e - a hung script is killed at its timeout while another watch keeps delivering", async () => {
    const marks = join(dir.path, "hung-marks");
    const hung = await dir.script("hung.sh", `echo started >> "${marks}"; sleep 600 & wait`);
    const r = await httpReceiver();
    const conf = join(dir.path, "hung.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "fail/hung",
            id: "hung",
            on_start: "never",
            args: [hung],
            timeout: "1s",
            retry_initial_interval: "100ms",
            retry_max_attempts: 2,
          },
          {
            type: "key",
            key: "fail/other",
            id: "other",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: r.url },
          },
        ],
      }),
    );
    const agent = await startAgentProcess({ args: ["-dev", "-config-file", conf] });
    try {
      await watchesReady(agent, 2);
      await put(agent, "fail/hung", "stuck");
      await until(
        async () => (await readFile(marks, "utf8").catch(() => "")).includes("started"),
        10_000,
        "hung handler started",
      );
      // While it hangs, the other watch delivers every change, promptly.
      for (let i = 1; i <= 5; i++) {
        await put(agent, "fail/other", `o${i}`);
        await r.waitFor(i, 3_000);
      }
      assert.deepEqual(
        r.requests.map((q) => valueOf(q.body)),
        ["o1", "o2", "o3", "o4", "o5"],
      );
      // The hung handler is killed at 1 s (process group: its `sleep` child too), retried once, then dead.
      await until(
        async () => (await deliveries(agent, "hung")).Dead.length === 1,
        15_000,
        "hung delivery dead-lettered",
      );
      const dead = (await deliveries(agent, "hung")).Dead[0];
      assert.equal(dead?.Attempts, 2);
      assert.match(dead?.LastError ?? "", /timed out/i);
      assert.equal(
        (await readFile(marks, "utf8")).trim().split("\n").length,
        2,
        "started once per attempt",
      );
      const sleepers = await sleepingChildren();
      assert.deepEqual(sleepers, [], "the script's `sleep 600` child was killed with its group");
    } finally {
      await agent.stop();
      await r.close();
    }
  });

  void it("e2e - a receiver answering 400 sends each event to the dead letters after one attempt", async () => {
    const r = await httpReceiver(() => ({ status: 400, body: "bad payload" }));
    const conf = join(dir.path, "reject.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "fail/reject",
            id: "reject",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: r.url },
            retry_initial_interval: "10ms",
          },
        ],
      }),
    );
    const agent = await startAgentProcess({ args: ["-dev", "-config-file", conf] });
    try {
      await watchesReady(agent, 1);
      for (let i = 1; i <= 5; i++) {
        await put(agent, "fail/reject", `r${i}`);
        await until(
          async () => (await deliveries(agent, "reject")).Dead.length === i,
          10_000,
          `event ${i} dead-lettered`,
        );
      }
      await pause(500); // a retry storm would show up here
      const d = await deliveries(agent, "reject");
      assert.equal(r.requests.length, 5, "one request per event, no retries");
      assert.deepEqual(d.Pending, []);
      assert.deepEqual(
        d.Dead.map((x) => [x.Attempts, x.LastError]),
        Array.from({ length: 5 }, () => [
          1,
          "http watch handler failed with status 400 Bad Request (permanent failure)",
        ]),
      );
      const metrics = await (await fetch(`${agent.url}/v1/agent/metrics?format=prometheus`)).text();
      assert.match(metrics, /augur_watch_dead_letters\{[^}]*watch="reject"[^}]*\} 5/);
    } finally {
      await agent.stop();
      await r.close();
    }
  });
});

/** `sleep 600` processes still alive (the hung script's child), from /proc. */
async function sleepingChildren(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd === "sleep\u0000600\u0000") out.push(pid);
  }
  return out;
}
