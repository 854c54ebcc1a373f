/**
 * #14 with #13: with ACLs on and a deny default the UI reads as the anonymous token, which may see
 * no services; on the ACL token page the user enters a token, and from then on every read carries
 * it (`X-Consul-Token`, kept in the browser's localStorage as Consul's UI keeps its token).
 * Debian's chromium via playwright-core, as the other UI tests.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Browser } from "playwright-core";
import { launchChromium, missing, WAIT } from "./browser-env.js";
import { aclDenyByDefault, startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const MANAGEMENT = "0d3c2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a";

describe("web UI with ACLs in chromium", { skip: missing ?? false }, () => {
  let a: TestAgent;
  let browser: Browser;
  before(async () => {
    a = await startTestAgent({
      ui: { enabled: true, contentPath: "/ui/" },
      acl: aclDenyByDefault(MANAGEMENT),
    });
    const reg = await fetch(`${a.url}/v1/agent/service/register`, {
      method: "PUT",
      headers: { "X-Consul-Token": MANAGEMENT },
      body: JSON.stringify({ Name: "secret-web", Port: 80 }),
    });
    assert.equal(reg.status, 200, await reg.text());
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
  });

  it("ui - without a token the services stay hidden; with the token they show, on every page load", async () => {
    const page = await browser.newPage();
    const sent: (string | undefined)[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/v1/")) sent.push(r.headers()["x-consul-token"]);
    });
    const summary = page.waitForResponse(
      (r) => new URL(r.url()).pathname === "/v1/internal/ui/services",
      WAIT,
    );
    await page.goto(`${a.url}/ui/services`);
    // Anonymous under deny: the summary the page read is filtered to nothing, and says so.
    const anonymous = await summary;
    assert.deepEqual(await anonymous.json(), []);
    assert.equal(anonymous.headers()["x-consul-results-filtered-by-acls"], "true");
    await page.waitForSelector("h1", WAIT);
    assert.equal(await page.locator("text=secret-web").count(), 0);
    assert.ok(sent.length > 0 && sent.every((t) => t === undefined), "no token sent yet");

    await page.goto(`${a.url}/ui/acl-token`);
    await page.waitForSelector('[data-token-state="none"]', WAIT);
    await page.getByLabel("Token (SecretID)").fill(MANAGEMENT);
    await page.getByRole("button", { name: "Use this token" }).click();
    await page.waitForSelector('[data-token-state="set"]', WAIT);
    // The page names the token by its AccessorID, read with it from acl/token/self.
    await page.waitForSelector('[data-token-state="set"] >> text=global-management', WAIT);

    sent.length = 0;
    await page.goto(`${a.url}/ui/services`);
    await page.waitForSelector("text=secret-web", WAIT);
    assert.ok(
      sent.length > 0 && sent.every((t) => t === MANAGEMENT),
      `every API read carries the token: ${JSON.stringify(sent)}`,
    );

    // Forgetting it goes back to anonymous.
    await page.goto(`${a.url}/ui/acl-token`);
    await page.getByRole("button", { name: "Forget the token" }).click();
    await page.waitForSelector('[data-token-state="none"]', WAIT);
    assert.equal(await page.evaluate(() => localStorage.getItem("augur:token")), null);
  });
});
