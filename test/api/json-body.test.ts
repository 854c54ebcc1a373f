/**
 * JSON request bodies within bounds (lib/json-body.ts): nesting past Go's 10,000 levels is
 * refused in Go's words, as Consul refuses it; more than 10,000 object members or 100,000 values
 * is a 413 before `JSON.parse` runs (parsed, such bodies held the event loop for seconds);
 * syntax errors are Go's texts. Each case goes through a real route of a real agent.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const nested = (levels: number): string => "[".repeat(levels) + "]".repeat(levels);
const nestedObjects = (levels: number): string => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

describe("JSON request bodies", () => {
  let a: TestAgent;
  const answer = async (
    method: string,
    path: string,
    body: string,
  ): Promise<{ status: number; text: string }> => {
    const res = await a.call(method, path, body);
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    a = await startTestAgent();
  });
  after(async () => {
    await a.stop();
  });

  it("json body - nesting past 10,000 levels is Go's error, in Consul's words; 10,000 levels parse", async () => {
    const register = "/v1/agent/service/register";
    assert.deepEqual(await answer("PUT", register, nested(10_001)), {
      status: 400,
      text: "Request decode failed: invalid character '[' exceeded max depth",
    });
    assert.deepEqual(await answer("PUT", register, nestedObjects(10_001)), {
      status: 400,
      text: "Request decode failed: invalid character '{' exceeded max depth",
    });
    // As deep as the whole body limit allows: refused the same way, at once.
    const half = 512 * 1024 - 1;
    assert.deepEqual(await answer("PUT", register, nested(half)), {
      status: 400,
      text: "Request decode failed: invalid character '[' exceeded max depth",
    });
    // 10,000 levels are valid JSON: decoded, then refused for what they are.
    const ok = await answer("PUT", register, nested(10_000));
    assert.equal(ok.status, 400);
    assert.match(ok.text, /cannot unmarshal array/);
    // Go reports the first mistake, even when the body is also too deep after it.
    assert.deepEqual(await answer("PUT", register, `[x${nested(10_001)}`), {
      status: 400,
      text: "Request decode failed: invalid character 'x' looking for beginning of value",
    });
    assert.deepEqual(await answer("PUT", "/v1/txn", nested(10_001)), {
      status: 400,
      text: "Failed to parse body: invalid character '[' exceeded max depth",
    });
  });

  it("json body - syntax errors are Go's texts after Consul's prefixes", async () => {
    assert.deepEqual(await answer("PUT", "/v1/agent/service/register", '{"Name": x}'), {
      status: 400,
      text: "Request decode failed: invalid character 'x' looking for beginning of value",
    });
    assert.deepEqual(await answer("PUT", "/v1/txn", "[1 2]"), {
      status: 400,
      text: "Failed to parse body: invalid character '2' after array element",
    });
    assert.deepEqual(await answer("PUT", "/v1/session/create", '{"Name": "s",'), {
      status: 400,
      text: "Request decode failed: unexpected end of JSON input",
    });
  });

  it("json body - more than 10,000 object members or 100,000 values is a 413, not parsed", async () => {
    const meta = (n: number): string =>
      `{${Array.from({ length: n }, (_, i) => `"k${i}":"v"`).join(",")}}`;
    // Name + Meta + 9,999 pairs: 10,001 members.
    assert.deepEqual(
      await answer("PUT", "/v1/agent/service/register", `{"Name":"m","Meta":${meta(9_999)}}`),
      { status: 413, text: "Request body too large: more than 10000 JSON object members" },
    );
    // 10,000 members parse; the route then refuses what Consul refuses (its 64-pair meta limit).
    const atLimit = await answer(
      "PUT",
      "/v1/agent/service/register",
      `{"Name":"m","Meta":${meta(9_998)}}`,
    );
    assert.equal(atLimit.status, 400);
    assert.doesNotMatch(atLimit.text, /too large/);
    const tags = (n: number): string => JSON.stringify(Array.from({ length: n }, () => "t"));
    assert.deepEqual(
      await answer("PUT", "/v1/agent/service/register", `{"Name":"m","Tags":${tags(100_001)}}`),
      { status: 413, text: "Request body too large: more than 100000 JSON values" },
    );
    assert.equal((await a.call("GET", "/v1/agent/service/m")).status, 404, "nothing registered");
  });

  it("json body - brackets, colons, commas and escaped quotes inside strings count for nothing", async () => {
    const notes = `${'[{:,\\"'.repeat(20_000)}`;
    const res = await answer(
      "PUT",
      "/v1/agent/check/register",
      JSON.stringify({ Name: "c", TTL: "30s", Notes: JSON.parse(`"${notes}"`) as string }),
    );
    assert.equal(res.status, 200, res.text);
    const checks = (await (await a.call("GET", "/v1/agent/checks")).json()) as Record<
      string,
      { Notes: string }
    >;
    assert.equal(checks["c"]?.Notes, '[{:,"'.repeat(20_000));
  });
});
