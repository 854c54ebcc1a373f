import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCheckRunner } from "../../src/checks/index.js";
import {
  IntervalRunner,
  StatusThresholds,
  realClock,
  type CheckClock,
} from "../../src/checks/runner.js";
import { scriptProbe } from "../../src/checks/script-check.js";
import type { CheckDefinition, CheckStatus } from "../../src/catalog/types.js";
import { until } from "../helpers/until.js";
import { base, probeOnce } from "./check-helpers.js";

class FakeClock implements CheckClock {
  t = 0;
  timers: { at: number; fn: () => void; id: number }[] = [];
  #id = 0;
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.#id;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  advance(ms: number): void {
    this.t += ms;
    for (const due of this.timers.filter((x) => x.at <= this.t)) {
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
  }
}

describe("check runners", () => {
  let http: Server;
  let tcp: TcpServer;
  let url = "";
  let tcpAddr = "";
  let dir = "";
  before(async () => {
    http = createServer((req, res) => {
      const code = Number(req.url?.slice(1) || 200);
      if (code === 302) {
        res.writeHead(302, { Location: "/200" }).end();
        return;
      }
      if (code === 999) return; // never answers
      res.writeHead(code).end(`body ${code} ${req.headers["user-agent"] ?? ""}`);
    }).listen(0, "127.0.0.1");
    tcp = createTcpServer((s) => s.end()).listen(0, "127.0.0.1");
    await Promise.all([once(http, "listening"), once(tcp, "listening")]);
    url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    tcpAddr = `127.0.0.1:${(tcp.address() as { port: number }).port}`;
    dir = await mkdtemp(join(tmpdir(), "augur-checks-"));
  });
  after(async () => {
    http.closeAllConnections();
    http.close();
    tcp.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("http - 2xx passing, 429 warning, 500 critical, with Consul's output", async () => {
    const ok = await probeOnce(base({ type: "http", http: `${url}/200` }));
    assert.equal(ok.status, "passing");
    assert.equal(ok.output, `HTTP GET ${url}/200: 200 OK Output: body 200 Consul Health Check`);
    assert.equal((await probeOnce(base({ type: "http", http: `${url}/429` }))).status, "warning");
    assert.equal((await probeOnce(base({ type: "http", http: `${url}/500` }))).status, "critical");
    assert.equal((await probeOnce(base({ type: "http", http: `${url}/302` }))).status, "passing");
    assert.equal(
      (await probeOnce(base({ type: "http", http: `${url}/302`, disableRedirects: true }))).status,
      "critical",
    );
  });

  it("http - a timeout and a refused connection are critical", async () => {
    const slow = await probeOnce(base({ type: "http", http: `${url}/999`, timeoutMs: 200 }));
    assert.equal(slow.status, "critical");
    assert.match(slow.output, /Timeout/);
    const refused = await probeOnce(base({ type: "http", http: "http://127.0.0.1:1/" }));
    assert.equal(refused.status, "critical");
    assert.match(refused.output, /connection refused/);
  });

  it("tcp - open is passing, closed is critical", async () => {
    const ok = await probeOnce(base({ type: "tcp", tcp: tcpAddr }));
    assert.deepEqual(ok, { status: "passing", output: `TCP connect ${tcpAddr}: Success` });
    assert.equal((await probeOnce(base({ type: "tcp", tcp: "127.0.0.1:1" }))).status, "critical");
  });

  it("script - exit 0 passing, 1 warning, 2 critical; output captured", async () => {
    const sh = (code: number): CheckDefinition =>
      base({
        type: "script",
        args: ["/bin/sh", "-c", `echo out-${code}; echo err >&2; exit ${code}`],
      });
    const p = await probeOnce(sh(0));
    assert.equal(p.status, "passing");
    assert.match(p.output, /out-0/);
    assert.match(p.output, /err/);
    assert.equal((await probeOnce(sh(1))).status, "warning");
    assert.equal((await probeOnce(sh(2))).status, "critical");
  });

  it("script - output beyond output_max_size is cut as Consul reports it", async () => {
    const r = await probeOnce(
      base({
        type: "script",
        args: ["/bin/sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x"],
        outputMaxSize: 4096,
      }),
    );
    assert.match(r.output, /^Captured 4096 of 10000 bytes\n\.\.\.\nx{4096}$/);
  });

  it("script - a timeout kills the script and the children in its process group", async () => {
    const pidFile = join(dir, "child.pid");
    const script = join(dir, "hang.sh");
    await writeFile(script, `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`);
    await chmod(script, 0o755);
    const r = await probeOnce(base({ type: "script", args: [script], timeoutMs: 300 }));
    assert.equal(r.status, "critical");
    assert.equal(r.output, "Timed out (300ms) running check");
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    await new Promise((res) => setTimeout(res, 100));
    // Killed means gone or a zombie waiting for init to reap it.
    const state = await readFile(`/proc/${pid}/stat`, "utf8").then(
      (t) => t.split(") ")[1]?.[0],
      () => "gone",
    );
    assert.ok(
      state === "gone" || state === "Z",
      `the script's background child is still running (state ${state})`,
    );
  });

  it("script - runs never overlap: a tick while a run is going is skipped", async () => {
    const log = join(dir, "runs.log");
    // Each run takes 300 ms and the interval is 100 ms: overlapping runs would log start twice in a row.
    // The loop itself: createCheckRunner would raise a 100 ms interval to Consul's 1 s minimum.
    const probe = scriptProbe({
      args: ["/bin/sh", "-c", `echo start >> ${log}; sleep 0.3; echo end >> ${log}`],
      timeoutMs: 5000,
      outputMaxSize: 4096,
    });
    const runner = new IntervalRunner(probe, 100, () => undefined, realClock, 0);
    const lines = async (): Promise<string[]> =>
      (await readFile(log, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
    runner.start();
    try {
      await until(
        async () => (await lines()).filter((l) => l === "end").length >= 3,
        "three runs to finish",
      );
    } finally {
      runner.stop();
    }
    const seen = await lines();
    // Strictly alternating start/end: every run finished before the next began.
    for (let i = 0; i < seen.length; i++)
      assert.equal(seen[i], i % 2 === 0 ? "start" : "end", `run log: ${seen.join(",")}`);
  });

  it("ttl - an update restarts the clock; silence for a TTL turns it critical", () => {
    const clock = new FakeClock();
    const seen: [CheckStatus, string][] = [];
    const runner = createCheckRunner(
      base({ type: "ttl", ttlMs: 1000 }),
      (s, o) => seen.push([s, o]),
      { clock },
    );
    runner.start();
    clock.advance(900);
    (runner as unknown as { update(s: CheckStatus, o: string): void }).update("passing", "fine");
    clock.advance(900);
    assert.deepEqual(seen, [["passing", "fine"]]);
    clock.advance(200);
    assert.deepEqual(seen.at(-1), [
      "critical",
      "TTL expired (last output before timeout follows): fine",
    ]);
    runner.stop();
  });

  it("thresholds - success_before_passing and failures_before_warning/critical", () => {
    const out: CheckStatus[] = [];
    const t = new StatusThresholds(2, 1, 3, (s) => out.push(s));
    t.report("passing", "");
    assert.deepEqual(out, []);
    t.report("passing", "");
    assert.deepEqual(out, ["passing"]);
    t.report("critical", "");
    t.report("critical", "");
    assert.deepEqual(out, ["passing", "warning", "warning"]);
    t.report("critical", "");
    assert.deepEqual(out.at(-1), "critical");
  });

  it("an interval below Consul's 1 s minimum is raised to it", async () => {
    const delays: number[] = [];
    let due: (() => void) | undefined;
    // Time stands still and timers only record their delay: the first one is fired by hand.
    const clock: CheckClock = {
      now: () => 0,
      setTimeout: (fn, ms) => {
        delays.push(ms);
        due = fn;
        return delays.length;
      },
      clearTimeout: () => undefined,
    };
    const reported: CheckStatus[] = [];
    const runner = createCheckRunner(
      base({ type: "tcp", tcp: tcpAddr, intervalMs: 0.000001 }),
      (s) => reported.push(s),
      { clock, firstDelayMs: 0 },
    );
    runner.start();
    due?.();
    await until(() => delays.length === 2, "the next probe to be scheduled");
    runner.stop();
    assert.deepEqual(reported, ["passing"]);
    assert.deepEqual(delays, [0, 1000]);
  });

  it("unsupported types are refused with a clear error", () => {
    assert.throws(
      () => createCheckRunner(base({ type: "os_service" }), () => undefined),
      /os_service \(OSService\) checks are not supported/,
    );
  });
});
