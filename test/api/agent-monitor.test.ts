/**
 * `GET /v1/agent/monitor` over HTTP against a real in-process agent whose logger is at `warn`:
 * the monitor's own level (even below the agent's), hclog's text and JSON layouts, Consul's 400
 * for an unknown level, a disconnect that frees the subscription (and the logger's level), a
 * client that does not read (bounded buffer, dropped lines counted and logged, the agent still
 * answering), and the cap on monitors.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setMaxListeners } from "node:events";
import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { startAgent, type AgentSettings, type RunningAgent } from "../../src/main.js";
import {
  createLogger,
  logTapOf,
  MAX_SUBSCRIBERS,
  SUBSCRIBER_MAX_BYTES,
  SUBSCRIBER_MAX_LINES,
  type Logger,
  type LogTap,
} from "../../src/lib/logger.js";
import { until } from "../helpers/until.js";
import { testAgentSettings } from "../helpers/in-process-agent.js";

interface Monitor {
  text(): string;
  lines(): string[];
  close(): void;
  readonly status: number;
  readonly headers: Headers;
}

/** Opens a monitor and keeps reading its body until closed. */
async function openMonitor(url: string, query = ""): Promise<Monitor> {
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/agent/monitor${query}`, { signal: controller.signal });
  let text = "";
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) return;
        text += decoder.decode(chunk.value, { stream: true });
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    text: () => text,
    lines: () => text.split("\n").filter(Boolean),
    close: () => controller.abort(),
    status: res.status,
    headers: res.headers,
  };
}

describe("agent/monitor", () => {
  let running: RunningAgent;
  let url = "";
  let logger: Logger;
  let tap: LogTap;
  const agentOutput: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        agentOutput.push(chunk.toString("utf8"));
        done();
      },
    });
    logger = createLogger({ level: "warn", json: false, out: sink });
    const found = logTapOf(logger);
    assert.ok(found, "a logger made by createLogger has a tap");
    tap = found;
    const settings: AgentSettings = testAgentSettings({ nodeName: "mon1" });
    running = await startAgent(settings, { logger, reloadSettings: async () => settings });
    url = `http://127.0.0.1:${running.addresses[0]?.port}`;
  });
  after(async () => {
    await running.stop();
  });

  const reload = async (): Promise<void> => {
    assert.equal((await fetch(`${url}/v1/agent/reload`, { method: "PUT" })).status, 200);
  };

  it("streams info lines in hclog's text layout by default, below the agent's own level", async () => {
    const m = await openMonitor(url);
    try {
      assert.equal(m.status, 200);
      assert.equal(m.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(m.headers.get("transfer-encoding"), "chunked");
      await reload();
      await until(() => m.text().includes("reloaded configuration"), "the reload line");
      const line = m.lines().find((l) => l.includes("reloaded configuration"));
      assert.match(
        line ?? "",
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\] {2}agent: reloaded configuration$/,
      );
      // Info is below the agent's own level (warn): the agent's output does not have the line.
      assert.ok(!agentOutput.join("").includes("reloaded configuration"));
      // Debug lines (a request's "Request finished") are below the monitor's level.
      assert.ok(!m.text().includes("[DEBUG]"), m.text());
    } finally {
      m.close();
    }
  });

  it("?loglevel=debug adds the agent.http debug lines; ?loglevel=warn leaves info out", async () => {
    const debug = await openMonitor(url, "?loglevel=DEBUG");
    const warn = await openMonitor(url, "?loglevel=warn");
    try {
      await fetch(`${url}/v1/kv/monitor-probe`);
      await until(
        () => /\[DEBUG\] agent\.http: Request finished: .*url=\/v1\/kv\//.test(debug.text()),
        "the kv request's debug line",
      );
      await reload();
      await until(() => debug.text().includes("reloaded configuration"), "the reload line");
      logger.warn("a warning for both");
      await until(() => warn.text().includes("a warning for both"), "the warning");
      assert.match(warn.text(), /\[WARN\] {2}agent: a warning for both\n/);
      assert.ok(!warn.text().includes("reloaded configuration"), "info is below warn");
      assert.ok(!warn.text().includes("[DEBUG]"));
    } finally {
      debug.close();
      warn.close();
    }
  });

  it("?logjson streams hclog JSON lines: sorted keys, @level @message @module @timestamp", async () => {
    const m = await openMonitor(url, "?logjson&loglevel=info");
    try {
      logger.warn({ zeta: "z", alpha: 1, html: "<b>&" }, "json probe");
      await until(() => m.text().includes("json probe"), "the JSON line");
      const line = m.lines().find((l) => l.includes("json probe")) ?? "";
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), [
        "@level",
        "@message",
        "@module",
        "@timestamp",
        "alpha",
        "html",
        "zeta",
      ]);
      assert.equal(parsed["@level"], "warn");
      assert.equal(parsed["@message"], "json probe");
      assert.equal(parsed["@module"], "agent");
      assert.match(String(parsed["@timestamp"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.equal(parsed["html"], "<b>&");
      assert.ok(line.includes("\\u003cb\\u003e\\u0026"), "HTML-escaped as Go's json.Encoder");
    } finally {
      m.close();
    }
  });

  it("an unknown level is Consul's 400; ERR and mixed case are accepted", async () => {
    const bad = await fetch(`${url}/v1/agent/monitor?loglevel=verbose`);
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), "Unknown log level: verbose");
    for (const level of ["ERR", "Trace", "error"]) {
      const m = await openMonitor(url, `?loglevel=${level}`);
      assert.equal(m.status, 200, level);
      m.close();
    }
    await until(() => tap.subscribers === 0, "the probes' subscriptions to end");
  });

  it("a disconnect frees the subscription and restores the logger's level", async () => {
    assert.equal(tap.subscribers, 0);
    assert.equal(logger.level, "warn");
    const m = await openMonitor(url, "?loglevel=trace");
    await until(() => tap.subscribers === 1, "the subscription");
    assert.equal(logger.level, "trace", "pino logs trace while a trace monitor listens");
    m.close();
    await until(() => tap.subscribers === 0, "the subscription to be freed");
    assert.equal(logger.level, "warn");
  });

  it("a client that does not read: bounded buffer, lines dropped and counted, the agent answers", async () => {
    const port = running.addresses[0]?.port ?? 0;
    const socket: Socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write(`GET /v1/agent/monitor HTTP/1.1\r\nHost: x\r\n\r\n`);
    let head = "";
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer): void => {
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n")) {
          socket.off("data", onData);
          resolve();
        }
      };
      socket.on("data", onData);
    });
    assert.match(head, /^HTTP\/1\.1 200 /);
    socket.pause(); // reads nothing more: the kernel buffers fill, then the agent's
    await until(() => tap.subscribers === 1, "the subscription");
    const sub = tap.subscriptions()[0];
    assert.ok(sub);
    const payload = "x".repeat(1024);
    let logged = 0;
    let maxBuffered = 0;
    // 1 KiB lines in batches, yielding between them, until the subscription starts dropping.
    while (sub.dropped === 0) {
      assert.ok(logged < 200_000, "the subscription never dropped a line");
      for (let i = 0; i < 500; i++) logger.info({ payload, i: logged++ }, "flood");
      maxBuffered = Math.max(maxBuffered, sub.buffered);
      await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 5_000; i++) logger.info({ payload, i: logged++ }, "flood");
    maxBuffered = Math.max(maxBuffered, sub.buffered);
    assert.ok(maxBuffered <= SUBSCRIBER_MAX_LINES, `buffered ${maxBuffered}`);
    assert.ok(sub.dropped >= 5_000, `dropped ${sub.dropped}`);
    // The agent is not held up by the stuck client.
    assert.equal((await fetch(`${url}/v1/agent/self`)).status, 200);
    const dropped = sub.dropped;
    socket.destroy();
    await until(() => tap.subscribers === 0, "the stuck client's subscription to be freed");
    await until(
      () => agentOutput.join("").includes("Dropped logs during monitor request"),
      "the dropped-lines warning",
    );
    const warning = agentOutput.find((l) => l.includes("Dropped logs during monitor request"));
    assert.match(
      warning ?? "",
      /\[WARN\] {2}agent: Dropped logs during monitor request: dropped_count=\d+/,
    );
    const count = Number(/dropped_count=(\d+)/.exec(warning ?? "")?.[1]);
    assert.ok(count >= dropped, `${count} >= ${dropped}`);
  });

  it("a line larger than a subscriber's byte bound is dropped and counted, not buffered", async () => {
    const held = new AbortController();
    const sub = tap.subscribe({ level: "info", format: "text" }, held.signal);
    try {
      logger.warn({ huge: "y".repeat(SUBSCRIBER_MAX_BYTES + 1) }, "too big");
      logger.warn("small");
      assert.equal(sub.dropped, 1);
      assert.equal(sub.buffered, 1);
    } finally {
      held.abort();
    }
    assert.equal(sub.closed, true);
    assert.equal(tap.subscribers, 0);
  });

  it(`at most ${MAX_SUBSCRIBERS} monitors at once: the next is refused with 429`, async () => {
    const held = new AbortController();
    setMaxListeners(MAX_SUBSCRIBERS + 1, held.signal);
    for (let i = 0; i < MAX_SUBSCRIBERS; i++)
      tap.subscribe({ level: "info", format: "text" }, held.signal);
    try {
      const res = await fetch(`${url}/v1/agent/monitor`);
      assert.equal(res.status, 429);
      assert.match(await res.text(), /^Too many monitors/);
    } finally {
      held.abort();
    }
    assert.equal(tap.subscribers, 0);
    const m = await openMonitor(url);
    assert.equal(m.status, 200);
    m.close();
  });
});
