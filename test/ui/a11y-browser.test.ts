/**
 * #13 item 4, accessibility: the services page and the KV editor can be worked from the keyboard
 * alone (Tab reaches the main controls, each with a visible focus ring and an accessible name),
 * and a live update does not move the rows of the services list (same boxes before and after,
 * every row the list's fixed height). A real in-process agent; Debian's chromium via
 * playwright-core, as the other UI tests. No timing is asserted: each wait is for a state.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Browser, type Page } from "playwright-core";
import { launchChromium, missing, WAIT } from "./browser-env.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const SERVICES = ["alpha", "bravo", "charlie", "delta", "echo"];

/** What has focus: its tag, accessible name (label, aria-label or text) and focus ring. */
interface Focused {
  tag: string;
  name: string;
  outline: string;
  inRow: boolean;
}

async function tabUntil(
  page: Page,
  found: (f: Focused) => boolean,
  maxTabs = 40,
): Promise<Focused[]> {
  const seen: Focused[] = [];
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate((): Focused => {
      const el = document.activeElement as HTMLElement;
      const labelled =
        el.getAttribute("aria-label") ??
        (el as HTMLInputElement).labels?.[0]?.textContent ??
        el.textContent ??
        "";
      const style = getComputedStyle(el);
      return {
        tag: el.tagName.toLowerCase(),
        name: labelled.replace(/\s+/g, " ").trim(),
        outline: `${style.outlineStyle} ${style.outlineWidth}`,
        inRow: el.closest("[data-row]") !== null,
      };
    });
    seen.push(f);
    if (found(f)) return seen;
  }
  assert.fail(`not reached in ${maxTabs} tabs: ${JSON.stringify(seen.map((s) => s.name))}`);
}

const hasRing = (f: Focused): boolean => !f.outline.startsWith("none") && f.outline !== "";

describe("web UI accessibility in chromium", { skip: missing ?? false }, () => {
  let a: TestAgent;
  let browser: Browser;
  const register = async (service: string, status: string): Promise<void> => {
    const res = await a.call("PUT", "/v1/catalog/register", {
      Node: `node-${service}`,
      Address: "10.0.0.1",
      Service: { Service: service, Tags: ["v1"] },
      Check: { CheckID: `${service}-c`, Name: "c", Status: status, ServiceID: service },
    });
    assert.equal(res.status, 200);
  };

  before(async () => {
    a = await startTestAgent({ ui: { enabled: true, contentPath: "/ui/" } });
    for (const s of SERVICES) await register(s, "passing");
    assert.equal((await a.call("PUT", "/v1/kv/app/config", "x=1")).status, 200);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
  });

  it("a11y - Tab reaches the skip link, the navigation, the search and the first service, each with a focus ring", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${a.url}/ui/services`);
    await page.waitForSelector('[data-service="alpha"]', WAIT);
    const seen = await tabUntil(page, (f) => f.inRow);
    const names = seen.map((f) => f.name);
    assert.equal(names[0], "Skip to content");
    for (const nav of ["Services", "Nodes", "Key / Value", "Watches"])
      assert.ok(names.includes(nav), `${nav} not reached: ${JSON.stringify(names)}`);
    const search = seen.find((f) => f.tag === "input");
    assert.equal(search?.name, "Search services");
    const row = seen[seen.length - 1] as Focused;
    assert.match(row.name, /alpha/);
    for (const f of seen) assert.ok(hasRing(f), `${f.name}: no focus ring (${f.outline})`);
    // In the list, the arrow keys move between rows.
    await page.keyboard.press("ArrowDown");
    assert.match((await page.evaluate(() => document.activeElement?.textContent)) ?? "", /bravo/);
    await page.keyboard.press("End");
    assert.match((await page.evaluate(() => document.activeElement?.textContent)) ?? "", /echo/);
    await page.close();
  });

  it("a11y - in the KV editor Tab reaches the value, the flags, Save and Delete, each labelled", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${a.url}/ui/kv/app/config`);
    await page.waitForFunction(
      () => (document.querySelector("textarea") as HTMLTextAreaElement | null)?.value === "x=1",
      undefined,
      WAIT,
    );
    const seen = await tabUntil(page, (f) => f.tag === "button" && /delete/i.test(f.name));
    const controls = seen.filter((f) => ["textarea", "input", "button"].includes(f.tag));
    const named = (tag: string, re: RegExp): boolean =>
      controls.some((f) => f.tag === tag && re.test(f.name));
    assert.ok(named("textarea", /^Value/), JSON.stringify(controls));
    assert.ok(named("input", /^Flags/), JSON.stringify(controls));
    assert.ok(named("button", /^Save$/), JSON.stringify(controls));
    for (const f of controls) {
      assert.notEqual(f.name, "", `a ${f.tag} without a name`);
      assert.ok(hasRing(f), `${f.name}: no focus ring (${f.outline})`);
    }
    await page.close();
  });

  it("a11y - a live update changes a row in place: no row moves, every row keeps its height", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${a.url}/ui/services`);
    await page.waitForSelector('[data-service="echo"] .count-passing', WAIT);
    const boxes = (): Promise<Record<string, { y: number; x: number; h: number; w: number }>> =>
      page.evaluate(() =>
        Object.fromEntries(
          [...document.querySelectorAll<HTMLElement>("[data-row]")].map((el) => {
            const r = el.getBoundingClientRect();
            const name = el.querySelector("[data-service]")?.getAttribute("data-service") ?? "";
            return [name, { y: r.y, x: r.x, h: r.height, w: r.width }];
          }),
        ),
      );
    const before = await boxes();
    await register("charlie", "critical");
    await page.waitForSelector('[data-service="charlie"] .count-critical', WAIT);
    const after = await boxes();
    assert.deepEqual(after, before);
    for (const [name, box] of Object.entries(after)) assert.equal(box.h, 48, name);
    await page.close();
  });
});
