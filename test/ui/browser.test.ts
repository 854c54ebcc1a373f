/**
 * The web UI in a real browser: Debian's chromium (/usr/bin/chromium) driven by playwright-core,
 * against a real agent process started with `-dev` (which turns the UI on) serving the Vite build
 * in dist/ui/. Nothing is mocked: services and checks are registered and failed over the HTTP
 * API, watch handlers are real HTTP receivers, and the agent is killed for the banner.
 *
 * Skipped, saying why, only when the UI build or chromium is missing (`npm ci` builds the UI;
 * `.ci/run` installs chromium).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, type Page } from "playwright-core";
import { launchChromium, missing, WAIT } from "./browser-env.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { until } from "../helpers/until.js";
import { httpReceiver, tempDir, type HttpReceiver, type TempDir } from "../watch/receivers.js";

describe("web UI in chromium", { skip: missing ?? false }, () => {
  let dir: TempDir;
  let agent: AgentProcess;
  let browser: Browser;
  let page: Page;
  let ok: HttpReceiver;
  let flaky: HttpReceiver;
  let flakyHealthy = false;
  const pageErrors: string[] = [];

  const call = async (method: string, path: string, body?: string | object): Promise<Response> =>
    fetch(`${agent.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  const deliveries = async (watch: string) =>
    (await (await call("GET", `/v1/agent/watch/deliveries?watch=${watch}`)).json()) as {
      Recent: { ID: string; Status: string }[];
      Dead: { ID: string }[];
    };

  before(async () => {
    dir = await tempDir("augur-ui-browser-");
    ok = await httpReceiver(() => ({ status: 200 }));
    flaky = await httpReceiver(() => ({ status: flakyHealthy ? 200 : 500 }));
    const conf = join(dir.path, "watches.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "checks",
            state: "any",
            id: "health",
            on_start: "never",
            payload: "changes",
            handler_type: "http",
            http_handler_config: { path: ok.url },
          },
          {
            type: "key",
            key: "ui/flaky",
            id: "flaky",
            on_start: "never",
            payload: "changes",
            handler_type: "http",
            http_handler_config: { path: flaky.url },
            retry_initial_interval: "20ms",
            retry_max_interval: "40ms",
            retry_max_attempts: 2,
          },
        ],
      }),
    );
    agent = await startAgentProcess({ args: ["-dev", "-node", "ui-node", "-config-file", conf] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // Layout shifts, summed as the Cumulative Layout Shift score counts them.
    await page.addInitScript(() => {
      const w = window as unknown as { shift: number };
      w.shift = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as unknown as { value: number }[]) w.shift += e.value;
      }).observe({ type: "layout-shift", buffered: true });
    });
    await until(
      async () =>
        ((await (await call("GET", "/v1/agent/watches")).json()) as unknown[]).length === 2,
      "both watches running",
    );
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await ok?.close();
    await flaky?.close();
    await dir?.remove();
  });

  it("ui - GET / redirects to the UI, which lists registered services with their health", async () => {
    for (const name of ["api", "web"]) {
      const reg = await call("PUT", "/v1/agent/service/register", {
        Name: name,
        Tags: ["v1", name],
        Port: 8080,
        Check: { TTL: "300s", Name: `${name} ttl` },
      });
      assert.equal(reg.status, 200);
      assert.equal((await call("PUT", `/v1/agent/check/pass/service:${name}?note=ok`)).status, 200);
    }
    await page.goto(`${agent.url}/`);
    assert.equal(new URL(page.url()).pathname, "/ui/");
    await page.waitForSelector('[data-service="web"]', WAIT);
    await page.waitForSelector('[data-service="api"] .count-passing:text("✓ 2")', WAIT);
    // The first read, started by index.html before the app loaded, was the one the app used.
    assert.equal(await page.evaluate(() => "__augurPrefetch" in window), false);
    assert.deepEqual(pageErrors, []);
  });

  it("ui - keyboard: the nav and rows are links; ArrowDown moves from one service row to the next", async () => {
    await page.goto(`${agent.url}/ui/services`);
    await page.waitForSelector('[data-service="api"]', WAIT);
    await page.focus('[data-service="api"] a');
    await page.keyboard.press("ArrowDown");
    // Services are listed by name: api, consul, web.
    await page.waitForFunction(
      () =>
        document.activeElement?.closest("[data-service]")?.getAttribute("data-service") ===
        "consul",
      undefined,
      WAIT,
    );
    await page.keyboard.press("Enter");
    await page.waitForSelector("h1#page-title", WAIT);
    assert.equal(new URL(page.url()).pathname, "/ui/services/consul");
    // Every form control and the search box has a label.
    await page.goto(`${agent.url}/ui/services`);
    assert.equal(await page.getByLabel("Search services").count(), 1);
  });

  it("ui - a failed check turns the instance critical live, without a reload or a layout shift", async () => {
    await page.goto(`${agent.url}/ui/services/web`);
    await page.waitForSelector('[data-instance="web"] h3 .badge[data-status="passing"]', WAIT);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.evaluate(() => ((window as unknown as { shift: number }).shift = 0));
    const fail = await call("PUT", "/v1/agent/check/fail/service:web?note=connection%20refused");
    assert.equal(fail.status, 200);
    await page.waitForSelector('[data-instance="web"] h3 .badge[data-status="critical"]', WAIT);
    await page.waitForSelector(
      '[data-check="service:web"] .output:text("connection refused")',
      WAIT,
    );
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42);
    assert.equal(await page.evaluate(() => (window as unknown as { shift: number }).shift), 0);
  });

  it("ui - the watch's delivery and the check's passing → critical transition appear in its timeline", async () => {
    await page.goto(`${agent.url}/ui/watches`);
    await page.waitForSelector('[data-watch="health"]', WAIT);
    await page.click('[data-watch="health"] a');
    await page.waitForSelector(
      '[data-entity="ui-node/service:web"] .transition:text("passing → critical")',
      WAIT,
    );
    await page.waitForSelector('[data-delivery-status="delivered"]', WAIT);
    assert.ok(ok.requests.length >= 1);
  });

  it("ui - editing a KV value saves it (text, flags), and the value can be shown as base64", async () => {
    assert.equal((await call("PUT", "/v1/kv/ui/config", "one")).status, 200);
    await page.goto(`${agent.url}/ui/kv/`);
    await page.click('[data-key="ui/"] a');
    await page.click('[data-key="ui/config"] a');
    const value = page.getByLabel("Value");
    await page.waitForFunction(
      () => (document.querySelector("textarea") as HTMLTextAreaElement | null)?.value === "one",
      undefined,
      WAIT,
    );
    await value.fill("two ✓");
    await page.getByLabel("Flags").fill("7");
    await page.click('button[type="submit"]');
    await page.waitForSelector('[role="status"]:text("Saved")', WAIT);
    const [pair] = (await (await call("GET", "/v1/kv/ui/config")).json()) as {
      Value: string;
      Flags: number;
    }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "two ✓");
    assert.equal(pair?.Flags, 7);
    await page.getByLabel("Base64").check();
    // The saved value comes back through the blocking query too; the view stays base64.
    const b64 = Buffer.from("two ✓").toString("base64");
    await page.waitForFunction(
      (want) => (document.querySelector("textarea") as HTMLTextAreaElement).value === want,
      b64,
      WAIT,
    );
    assert.equal(await page.getByLabel("Base64").isChecked(), true);
  });

  it("ui - KV: a folder, a new key in it (check-and-set 0), and deleting the key", async () => {
    page.once("dialog", (d) => void d.accept());
    await page.goto(`${agent.url}/ui/kv/`);
    await page.getByLabel("New key (end with / for a folder)").fill("made/");
    await page.click('form.inline-form button[type="submit"]');
    await page.waitForSelector('[data-key="made/"]', WAIT);
    await page.click('[data-key="made/"] a');
    await page.getByLabel("New key (end with / for a folder)").fill("fresh");
    await page.click('form.inline-form button[type="submit"]');
    await page.waitForSelector('h1:text("made/fresh")', WAIT);
    await page.getByLabel("Value").fill("new value");
    await page.click('button[type="submit"]');
    await until(async () => (await call("GET", "/v1/kv/made/fresh?raw")).status === 200, "saved");
    assert.equal(await (await call("GET", "/v1/kv/made/fresh?raw")).text(), "new value");
    await page.waitForSelector('button:text("Delete")', WAIT);
    await page.click('button:text("Delete")');
    // Back in its folder, which no longer lists it.
    await page.waitForURL(`${agent.url}/ui/kv/made/`, WAIT);
    await until(async () => (await call("GET", "/v1/kv/made/fresh")).status === 404, "deleted");
    await page.waitForSelector('[data-key="made/fresh"]', { state: "detached", ...WAIT });
  });

  it("ui - KV: a key with ?, # and % in its name opens and shows its value", async () => {
    const key = "ui/odd?#%key";
    const put = await call(
      "PUT",
      `/v1/kv/${key.split("/").map(encodeURIComponent).join("/")}`,
      "odd",
    );
    assert.equal(put.status, 200);
    await page.goto(`${agent.url}/ui/kv/ui/`);
    await page.click(`[data-key="${key}"] a`);
    await page.waitForSelector(`h1:text("${key}")`, WAIT);
    await page.waitForFunction(
      () => (document.querySelector("textarea") as HTMLTextAreaElement | null)?.value === "odd",
      undefined,
      WAIT,
    );
    // The same page from its URL (a reload or a shared link).
    await page.reload();
    await page.waitForFunction(
      () => (document.querySelector("textarea") as HTMLTextAreaElement | null)?.value === "odd",
      undefined,
      WAIT,
    );
  });

  it("ui - a dead letter shows with its error, and Replay delivers it once the receiver is back", async () => {
    assert.equal((await call("PUT", "/v1/kv/ui/flaky", "x")).status, 200);
    await until(async () => (await deliveries("flaky")).Dead.length === 1, "a dead letter");
    const [dead] = (await deliveries("flaky")).Dead;
    await page.goto(`${agent.url}/ui/watches/flaky/timeline`);
    await page.waitForSelector(`[data-dead="${dead?.ID}"]`, WAIT);
    flakyHealthy = true;
    await page.click(`[data-dead="${dead?.ID}"] button`);
    await page.waitForSelector(`[role="status"]:text("Replayed ${dead?.ID}")`, WAIT);
    await until(
      async () =>
        (await deliveries("flaky")).Recent.some(
          (r) => r.ID === dead?.ID && r.Status === "delivered",
        ),
      "the replayed record delivered",
    );
    await page.waitForSelector(
      `[data-delivery="${dead?.ID}"][data-delivery-status="delivered"]`,
      WAIT,
    );
    await page.waitForSelector(`[data-dead="${dead?.ID}"]`, { state: "detached", ...WAIT });
  });

  it("ui - nodes list the agent's node with its health; a node shows its checks and services", async () => {
    await page.goto(`${agent.url}/ui/nodes`);
    await page.waitForSelector('[data-node="ui-node"] .count-passing:text("✓ 1")', WAIT);
    await page.click('[data-node="ui-node"] a');
    await page.waitForSelector('[data-check="serfHealth"]', WAIT);
    await page.waitForSelector('a[href="/ui/services/web"]', WAIT);
    await page.waitForSelector('[data-check="service:web"] .badge[data-status="critical"]', WAIT);
  });

  it("ui - members show the node alive; sessions list a session with its lock", async () => {
    const created = await call("PUT", "/v1/session/create", { Name: "ui-lock", TTL: "60s" });
    const { ID } = (await created.json()) as { ID: string };
    assert.equal(await (await call("PUT", `/v1/kv/ui/lock?acquire=${ID}`, "me")).text(), "true");
    await page.goto(`${agent.url}/ui/sessions`);
    await page.waitForSelector(`[data-session="${ID}"]`, WAIT);
    await page.click(`[data-session="${ID}"] button.link`);
    await page.waitForSelector(`[data-session="${ID}"] a:text("ui/lock")`, WAIT);
    await page.goto(`${agent.url}/ui/members`);
    await page.waitForSelector('[data-member="ui-node"][data-member-status="alive"]', WAIT);
  });

  it("ui - requests that get no answer back off (1 s, then 2 s, jittered) behind a banner, which goes once they are answered", async () => {
    await page.goto(`${agent.url}/ui/services`);
    await page.waitForSelector('[data-service="web"]', WAIT);
    const attempts: number[] = [];
    await page.route("**/v1/internal/ui/services*", async (route) => {
      attempts.push(Date.now());
      await route.abort("connectionrefused");
    });
    // The parked blocking query returns on this change; the next one gets no answer.
    assert.equal((await call("PUT", "/v1/agent/service/register", { Name: "outage" })).status, 200);
    await page.waitForSelector('[data-testid="unreachable"]', WAIT);
    await until(() => attempts.length >= 3, "three tries", 15_000);
    const [a0, a1, a2] = attempts as [number, number, number];
    // Each wait is at least half its step (full jitter on the upper half): no tight retry loop.
    assert.ok(a1 - a0 >= 450, `first retry after ${a1 - a0} ms`);
    assert.ok(a2 - a1 >= 950, `second retry after ${a2 - a1} ms`);
    assert.equal(await page.locator('[data-service="web"]').count(), 1);
    await page.unroute("**/v1/internal/ui/services*");
    await page.waitForSelector('[data-testid="unreachable"]', { state: "detached", ...WAIT });
    await page.waitForSelector('[data-service="outage"]', WAIT);
  });

  it("ui - when the agent goes away the page keeps its data and shows the unreachable banner", async () => {
    await page.goto(`${agent.url}/ui/services`);
    await page.waitForSelector('[data-service="web"]', WAIT);
    await agent.kill();
    await page.waitForSelector('[data-testid="unreachable"]', WAIT);
    assert.equal(await page.locator('[data-service="web"]').count(), 1);
    assert.deepEqual(pageErrors, []);
  });
});
