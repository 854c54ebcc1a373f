/**
 * #13 item 1: the members page shows failed and left members as such. Members come from the
 * store's agent records, so the test writes two into a real in-process agent's store: one with no
 * liveness record (failed, as an agent whose lease ran out) and one marked left (as after
 * `augur leave` or `force-leave`). Debian's chromium via playwright-core, as the other UI tests.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Browser } from "playwright-core";
import { launchChromium, missing, WAIT } from "./browser-env.js";
import { encodeRecord, keys, type AgentRecord } from "../../src/catalog/records.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const member = (node: string, extra: Partial<AgentRecord> = {}): AgentRecord => ({
  Node: node,
  ID: "",
  Addr: "10.0.0.9",
  Port: 8301,
  Datacenter: "dc1",
  Tags: { role: "node", dc: "dc1" },
  ...extra,
});

describe("web UI members in chromium", { skip: missing ?? false }, () => {
  let a: TestAgent;
  let browser: Browser;
  before(async () => {
    a = await startTestAgent({ ui: { enabled: true, contentPath: "/ui/" } });
    const store = a.running.catalog.store;
    await store.put(keys.agent("ghost"), encodeRecord(member("ghost")));
    await store.put(keys.agent("gone"), encodeRecord(member("gone", { LeftAt: Date.now() })));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
  });

  it("ui - members: the agent alive, a member without liveness failed, a left one left", async () => {
    const statuses = (
      (await (await a.call("GET", "/v1/agent/members")).json()) as {
        Name: string;
        Status: number;
      }[]
    ).map((m) => [m.Name, m.Status]);
    assert.deepEqual(statuses, [
      ["ghost", 4],
      ["gone", 3],
      ["node1", 1],
    ]);
    const page = await browser.newPage();
    await page.goto(`${a.url}/ui/members`);
    await page.waitForSelector('[data-member="node1"][data-member-status="alive"]', WAIT);
    await page.waitForSelector('[data-member="ghost"][data-member-status="failed"]', WAIT);
    await page.waitForSelector('[data-member="gone"][data-member-status="left"]', WAIT);
    // The status is words on the page, not only a colour.
    const text = await page.textContent('[data-member="ghost"]');
    assert.match(text ?? "", /failed/);
  });
});
