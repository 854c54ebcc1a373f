/**
 * The request metrics the hot path counts without prom-client (src/api/metrics.ts): requests by
 * method, route and code, and the duration histogram by route, as a scrape reads them.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

let a: TestAgent;
before(async () => (a = await startTestAgent()));
after(() => a.stop());

async function scrape(): Promise<string> {
  const res = await a.call("GET", "/v1/agent/metrics?format=prometheus");
  assert.equal(res.status, 200);
  return res.text();
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

void test("request metrics - counted by method, route and code, with a duration per request of the route; counts accumulate across scrapes", async () => {
  assert.equal((await a.call("PUT", "/v1/kv/metrics/k", "v")).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await a.call("GET", "/v1/kv/metrics/k")).status, 200);
  for (let i = 0; i < 2; i++)
    assert.equal((await a.call("GET", "/v1/kv/metrics/missing")).status, 404);
  const first = await scrape();
  const kv = (method: string, code: number): string =>
    `method="${method}",route="/v1/kv/",code="${code}"`;
  assert.equal(sample(first, "augur_http_requests_total", kv("GET", 200)), 5);
  assert.equal(sample(first, "augur_http_requests_total", kv("GET", 404)), 2);
  assert.equal(sample(first, "augur_http_requests_total", kv("PUT", 200)), 1);
  assert.equal(sample(first, "augur_http_request_duration_seconds_count", `route="/v1/kv/"`), 8);
  assert.equal(
    sample(first, "augur_http_request_duration_seconds_bucket", `le="+Inf",route="/v1/kv/"`),
    8,
  );
  const sum = sample(first, "augur_http_request_duration_seconds_sum", `route="/v1/kv/"`);
  assert.ok(sum !== undefined && sum > 0 && sum < 8, `sum ${sum}`);

  for (let i = 0; i < 3; i++) assert.equal((await a.call("GET", "/v1/kv/metrics/k")).status, 200);
  const second = await scrape();
  assert.equal(sample(second, "augur_http_requests_total", kv("GET", 200)), 8);
  assert.equal(sample(second, "augur_http_requests_total", kv("GET", 404)), 2);
  assert.equal(sample(second, "augur_http_request_duration_seconds_count", `route="/v1/kv/"`), 11);
  // The first scrape is a request of its own route too.
  assert.equal(
    sample(
      second,
      "augur_http_requests_total",
      `method="GET",route="/v1/agent/metrics",code="200"`,
    ),
    1,
  );
});
