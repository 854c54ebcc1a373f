/**
 * A client's ACL policy rules are parsed off the event loop (lib/hcl.ts's worker thread): the HCL
 * parser, HashiCorp's compiled to JavaScript, took about 0.4 ms per rule on the agent's thread
 * (1,000 rules held every other request 0.35 s) and overflowed its stack on rules nested a few
 * thousand deep (a 500). The agent here runs in this process, so the test can see that the
 * parser was never loaded on this thread.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const MANAGEMENT = "22222222-1111-4111-8111-111111111111";

/** Whether this thread has loaded the HCL parser's module. */
const parserLoadedHere = (): boolean =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("js-hcl-parser"));

void describe("ACL policy rules, parsed off the event loop", () => {
  let a: TestAgent;
  const write = async (name: string, rules: string): Promise<{ status: number; text: string }> => {
    const res = await a.call(
      "PUT",
      "/v1/acl/policy",
      { Name: name, Rules: rules },
      { "X-Consul-Token": MANAGEMENT },
    );
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    a = await startTestAgent({
      acl: {
        enabled: true,
        defaultPolicy: "deny",
        downPolicy: "extend-cache",
        enableTokenPersistence: false,
        initialManagement: MANAGEMENT,
      },
    });
  });
  after(async () => {
    await a.stop();
  });

  it("acl rules - 1,000 HCL rules are written and enforced; the parser never ran on the agent's thread", async () => {
    const rules = Array.from({ length: 1000 }, (_, i) => `key "k${i}" { policy = "read" }`).join(
      "\n",
    );
    const written = await write("many", rules);
    assert.equal(written.status, 200, written.text);
    const policy = JSON.parse(written.text) as { ID: string; Rules: string };
    assert.equal(policy.Rules, rules);
    const token = (await (
      await a.call(
        "PUT",
        "/v1/acl/token",
        { Policies: [{ ID: policy.ID }] },
        { "X-Consul-Token": MANAGEMENT },
      )
    ).json()) as { SecretID: string };
    assert.equal(
      (await a.call("PUT", "/v1/kv/k999", "v", { "X-Consul-Token": MANAGEMENT })).status,
      200,
    );
    const as = { "X-Consul-Token": token.SecretID };
    assert.equal((await a.call("GET", "/v1/kv/k999", undefined, as)).status, 200);
    assert.equal((await a.call("GET", "/v1/kv/k1000", undefined, as)).status, 403);
    assert.equal((await a.call("PUT", "/v1/kv/k999", "w", as)).status, 403);
    assert.equal(parserLoadedHere(), false, "the HCL parser was loaded on the agent's thread");
  });

  it("acl rules - rules nested thousands deep are a 400, not a stack overflow", async () => {
    const depth = 2978; // as deep as 32 KiB of `key "a" { ... }` goes
    const deep = `${'key "a" { '.repeat(depth)}${"}".repeat(depth)}`;
    assert.deepEqual(await write("deep", deep), {
      status: 400,
      text: "Failed to parse ACL rules: the rules are nested too deeply",
    });
    // Syntax errors keep the parser's own words, and the worker goes on after an overflow.
    assert.deepEqual(await write("broken", 'key "x" {'), {
      status: 400,
      text: "Failed to parse ACL rules: At 1:11: object expected closing RBRACE got: EOF",
    });
    assert.equal((await write("fine", 'key_prefix "" { policy = "read" }')).status, 200);
  });
});
