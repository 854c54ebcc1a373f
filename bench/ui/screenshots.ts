/**
 * Screenshots of the web UI's main pages for the README and docs/: a `-dev` agent with a few
 * services (one failing), KV keys, and two watches (one whose receiver refuses, so it has a dead
 * letter), shot in Debian's chromium into docs/ui-*.png.
 *
 * Run: `npm run build && node dist/bench/ui/screenshots.js` (needs /usr/bin/chromium).
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startAgentProcess } from "../../test/helpers/agent-process.js";
import { until } from "../../test/helpers/until.js";
import { httpReceiver, tempDir } from "../../test/watch/receivers.js";

const DOCS = fileURLToPath(new URL("../../../docs/", import.meta.url));

async function main(): Promise<void> {
  const dir = await tempDir("augur-ui-shots-");
  const ok = await httpReceiver(() => ({ status: 200 }));
  const down = await httpReceiver(() => ({ status: 503, body: "maintenance" }));
  const conf = join(dir.path, "watches.json");
  await writeFile(
    conf,
    JSON.stringify({
      watches: [
        {
          type: "checks",
          state: "any",
          id: "health-alerts",
          on_start: "never",
          payload: "changes",
          handler_type: "http",
          http_handler_config: { path: ok.url },
        },
        {
          type: "keyprefix",
          prefix: "config/",
          id: "config-sync",
          on_start: "never",
          payload: "changes",
          handler_type: "http",
          http_handler_config: { path: down.url },
          retry_initial_interval: "20ms",
          retry_max_attempts: 3,
        },
      ],
    }),
  );
  const agent = await startAgentProcess({
    args: ["-dev", "-node", "node-1", "-config-file", conf],
  });
  const call = (method: string, path: string, body?: string | object): Promise<Response> =>
    fetch(`${agent.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    await until(
      async () =>
        ((await (await call("GET", "/v1/agent/watches")).json()) as unknown[]).length === 2,
      "watches running",
    );
    const services: [string, string[], number][] = [
      ["web", ["v2", "primary"], 8080],
      ["api", ["v1"], 9090],
      ["db", ["postgres", "primary"], 5432],
      ["cache", ["redis"], 6379],
      ["billing", ["v3"], 7000],
    ];
    for (const [name, tags, port] of services) {
      await call("PUT", "/v1/agent/service/register", {
        Name: name,
        Tags: tags,
        Port: port,
        Check: { TTL: "600s", Name: `${name} health` },
      });
      await call("PUT", `/v1/agent/check/pass/service:${name}?note=HTTP%20200%20OK`);
    }
    for (let n = 2; n <= 3; n++)
      await call("PUT", "/v1/catalog/register", {
        Node: `node-${n}`,
        Address: `10.0.0.${n}`,
        Service: { Service: "web", ID: `web-${n}`, Port: 8080, Tags: ["v2"] },
        Check: {
          CheckID: `web-${n}`,
          Name: "web health",
          Status: "passing",
          ServiceID: `web-${n}`,
        },
      });
    await call(
      "PUT",
      "/v1/agent/check/fail/service:billing?note=dial%20tcp%20127.0.0.1:7000:%20connection%20refused",
    );
    await call("PUT", "/v1/agent/check/warn/service:cache?note=memory%2091%25");
    await call("PUT", "/v1/kv/config/web/replicas", "3");
    await call(
      "PUT",
      "/v1/kv/config/web/feature-flags",
      JSON.stringify({ beta: true, dark: false }, null, 2),
    );
    await call("PUT", "/v1/kv/config/db/url", "postgres://db.internal:5432/app");
    await until(
      async () =>
        ((await (await call("GET", "/v1/agent/watch/deliveries")).json()) as { Dead: unknown[] })
          .Dead.length > 0,
      "a dead letter",
    );
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const shot = async (path: string, selector: string, file: string): Promise<void> => {
      await page.goto(`${agent.url}/ui/${path}`);
      await page.waitForSelector(selector);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
      await page.screenshot({ path: join(DOCS, file) });
      process.stdout.write(`${file}\n`);
    };
    await shot(
      "services",
      '[data-service="billing"] .count-critical:text("✕ 1")',
      "ui-services.png",
    );
    await shot("services/web", '[data-instance="web-3"]', "ui-service.png");
    await shot("kv/config/web/feature-flags", "textarea", "ui-kv.png");
    await shot("watches/-/timeline", "[data-dead]", "ui-watches.png");
  } finally {
    await browser.close();
    await agent.stop();
    await ok.close();
    await down.close();
    await dir.remove();
  }
}

await main();
