/**
 * #13: the Watches pages stay live through blocking queries on the watch API, not a 2 s poll.
 * The check is the request pattern, never a timing: after its first read, each of the timeline's
 * reads (watches, detected events, deliveries) only ever asks again with `?index=&wait=`, and a
 * delivery made while they are parked appears on the page. A real in-process agent with a real
 * HTTP receiver as the handler; Debian's chromium via playwright-core, as the other UI tests.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Browser } from "playwright-core";
import { launchChromium, missing, WAIT } from "./browser-env.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { defs } from "../watch/manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";

describe("web UI watches pages, live through blocking reads", { skip: missing ?? false }, () => {
  let a: TestAgent;
  let ok: HttpReceiver;
  let browser: Browser;
  before(async () => {
    ok = await httpReceiver(() => ({ status: 200 }));
    a = await startTestAgent({
      ui: { enabled: true, contentPath: "/ui/" },
      watches: defs({
        type: "keyprefix",
        prefix: "live/",
        id: "live",
        on_start: "never",
        payload: "changes",
        handler_type: "http",
        http_handler_config: { path: ok.url },
      }),
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
    await ok?.close();
  });

  it("ui - a delivery appears on the timeline through parked reads; no read is repeated without ?index", async () => {
    const page = await browser.newPage();
    const reads: URL[] = [];
    page.on("request", (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith("/v1/agent/watch")) reads.push(url);
    });
    const parked = (path: string): boolean =>
      reads.some((u) => u.pathname === path && u.searchParams.has("index"));
    await page.goto(`${a.url}/ui/watches/live/timeline`);
    await until(
      () =>
        ["/v1/agent/watches", "/v1/agent/watch/events", "/v1/agent/watch/deliveries"].every(parked),
      "the timeline's three reads to block",
    );
    assert.equal((await a.call("PUT", "/v1/kv/live/a", "1")).status, 200);
    await page.waitForSelector('[data-delivery-status="delivered"]', WAIT);
    assert.equal(ok.requests.length, 1);
    // A poll would read again without an index; a blocking client reads once without one per
    // path, then always with the last X-Consul-Index and a wait.
    for (const path of new Set(reads.map((u) => u.pathname))) {
      const plain = reads.filter((u) => u.pathname === path && !u.searchParams.has("index"));
      assert.equal(plain.length, 1, `${path}: ${plain.length} reads without ?index`);
    }
    for (const u of reads.filter((u) => u.searchParams.has("index"))) {
      assert.ok(Number(u.searchParams.get("index")) >= 1, u.href);
      assert.equal(u.searchParams.get("wait"), "60s", u.href);
    }
    await page.close();
  });

  it("ui - the watches list shows a new event count without a reload", async () => {
    const page = await browser.newPage();
    await page.goto(`${a.url}/ui/watches`);
    await page.waitForSelector('[data-watch="live"]', WAIT);
    const events = async (): Promise<string> =>
      (await page.textContent('[data-watch="live"] td:nth-child(5)')) ?? "";
    const before = Number(await events());
    assert.equal((await a.call("PUT", "/v1/kv/live/b", "2")).status, 200);
    await page.waitForFunction(
      (n) => document.querySelector('[data-watch="live"] td:nth-child(5)')?.textContent === n,
      String(before + 1),
      WAIT,
    );
    await page.close();
  });
});
