import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const MANAGEMENT = "11111111-1111-4111-8111-111111111111";
const acl = {
  enabled: true,
  defaultPolicy: "deny",
  downPolicy: "extend-cache",
  enableTokenPersistence: false,
} as const;

void describe("ACL endpoints", () => {
  let a: TestAgent;
  const as = (token: string) => ({ "X-Consul-Token": token });
  before(async () => {
    a = await startTestAgent({ acl: { ...acl, initialManagement: MANAGEMENT } });
  });
  after(() => a.stop());

  void it("bootstrap - works once, then Consul's refusal with the reset index", async () => {
    const first = await a.call("PUT", "/v1/acl/bootstrap");
    assert.equal(first.status, 200);
    const token = (await first.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(token), [
      "AccessorID",
      "SecretID",
      "Description",
      "Policies",
      "Local",
      "CreateTime",
      "Hash",
      "CreateIndex",
      "ModifyIndex",
    ]);
    assert.deepEqual(token["Policies"], [
      { ID: "00000000-0000-0000-0000-000000000001", Name: "global-management" },
    ]);
    const again = await a.call("PUT", "/v1/acl/bootstrap");
    assert.equal(again.status, 403);
    assert.match(
      await again.text(),
      /^Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)$/,
    );
    const self = await a.call(
      "GET",
      "/v1/acl/token/self",
      undefined,
      as(token["SecretID"] as string),
    );
    assert.equal(((await self.json()) as { AccessorID: string }).AccessorID, token["AccessorID"]);
  });

  void it("policy, role and token - created, read, listed, used, updated and deleted", async () => {
    const policy = (await (
      await a.call(
        "PUT",
        "/v1/acl/policy",
        { Name: "kv-app", Rules: 'key_prefix "app/" { policy = "write" }' },
        as(MANAGEMENT),
      )
    ).json()) as { ID: string; Name: string; Rules: string };
    assert.equal(policy.Name, "kv-app");
    const byName = await a.call("GET", "/v1/acl/policy/name/kv-app", undefined, as(MANAGEMENT));
    assert.equal(((await byName.json()) as { ID: string }).ID, policy.ID);
    const role = (await (
      await a.call(
        "PUT",
        "/v1/acl/role",
        { Name: "app", Policies: [{ Name: "kv-app" }] },
        as(MANAGEMENT),
      )
    ).json()) as { ID: string; Policies: unknown };
    assert.deepEqual(role.Policies, [{ ID: policy.ID, Name: "kv-app" }]);
    const token = (await (
      await a.call(
        "PUT",
        "/v1/acl/token",
        { Description: "app", Roles: [{ ID: role.ID }] },
        as(MANAGEMENT),
      )
    ).json()) as { AccessorID: string; SecretID: string };
    assert.equal((await a.call("PUT", "/v1/kv/app/x", "1", as(token.SecretID))).status, 200);
    const denied = await a.call("PUT", "/v1/kv/other", "1", as(token.SecretID));
    assert.equal(denied.status, 403);
    assert.equal(
      await denied.text(),
      `Permission denied: token with AccessorID '${token.AccessorID}' lacks permission 'key:write' on "other"`,
    );
    const list = (await (
      await a.call("GET", "/v1/acl/tokens", undefined, as(MANAGEMENT))
    ).json()) as { AccessorID: string }[];
    assert.ok(list.some((t) => t.AccessorID === token.AccessorID));
    const policies = (await (
      await a.call("GET", "/v1/acl/policies", undefined, as(MANAGEMENT))
    ).json()) as Record<string, unknown>[];
    assert.ok(policies.every((p) => !("Rules" in p)));
    // Narrowing the policy takes effect at once (the authorizer cache follows the ACL index).
    const upd = await a.call(
      "PUT",
      `/v1/acl/policy/${policy.ID}`,
      { Name: "kv-app", Rules: 'key_prefix "app/" { policy = "read" }' },
      as(MANAGEMENT),
    );
    assert.equal(upd.status, 200);
    assert.equal((await a.call("PUT", "/v1/kv/app/x", "2", as(token.SecretID))).status, 403);
    const clone = await a.call(
      "PUT",
      `/v1/acl/token/${token.AccessorID}/clone`,
      { Description: "copy" },
      as(MANAGEMENT),
    );
    const cloned = (await clone.json()) as {
      AccessorID: string;
      Description: string;
      Roles: unknown;
    };
    assert.equal(cloned.Description, "copy");
    assert.deepEqual(cloned.Roles, [{ ID: role.ID, Name: "app" }]);
    assert.equal(
      await (
        await a.call("DELETE", `/v1/acl/token/${token.AccessorID}`, undefined, as(MANAGEMENT))
      ).text(),
      "true",
    );
    const gone = await a.call("GET", "/v1/kv/app/x", undefined, as(token.SecretID));
    assert.equal(gone.status, 403);
    assert.equal(await gone.text(), "ACL not found");
  });

  void it("acl endpoints - need acl read/write; the anonymous token is refused in Consul's words", async () => {
    const res = await a.call("GET", "/v1/acl/tokens");
    assert.equal(res.status, 403);
    assert.equal(
      await res.text(),
      "Permission denied: anonymous token lacks permission 'acl:read'. The anonymous token is used implicitly when a request does not specify a token.",
    );
    assert.equal(res.headers.get("x-consul-default-acl-policy"), "deny");
    const bad = await a.call(
      "PUT",
      "/v1/acl/policy",
      { Name: "bad", Rules: 'key "x" { policy = "admin" }' },
      as(MANAGEMENT),
    );
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^Invalid key policy: /);
    const builtin = await a.call(
      "DELETE",
      "/v1/acl/policy/00000000-0000-0000-0000-000000000001",
      undefined,
      as(MANAGEMENT),
    );
    assert.equal(builtin.status, 500);
  });

  void it("agent/token/default - needs agent write; the token then serves requests without one", async () => {
    const policy = await a.call(
      "PUT",
      "/v1/acl/policy",
      { Name: "read-pub", Rules: 'key_prefix "pub/" { policy = "read" }' },
      as(MANAGEMENT),
    );
    assert.equal(policy.status, 200);
    const t = (await (
      await a.call("PUT", "/v1/acl/token", { Policies: [{ Name: "read-pub" }] }, as(MANAGEMENT))
    ).json()) as { SecretID: string };
    await a.call("PUT", "/v1/kv/pub/x", "1", as(MANAGEMENT));
    assert.equal((await a.call("GET", "/v1/kv/pub/x")).status, 403);
    assert.equal(
      (await a.call("PUT", "/v1/agent/token/default", { Token: t.SecretID }, as(t.SecretID)))
        .status,
      403,
    );
    assert.equal(
      (await a.call("PUT", "/v1/agent/token/default", { Token: t.SecretID }, as(MANAGEMENT)))
        .status,
      200,
    );
    assert.equal((await a.call("GET", "/v1/kv/pub/x")).status, 200);
    assert.equal(
      (await a.call("PUT", "/v1/agent/token/default", { Token: "" }, as(MANAGEMENT))).status,
      200,
    );
    assert.equal((await a.call("GET", "/v1/kv/pub/x")).status, 403);
  });

  void it("tokens - an expired token is ACL not found; a TTL below a minute is refused", async () => {
    const short = await a.call("PUT", "/v1/acl/token", { ExpirationTTL: "10s" }, as(MANAGEMENT));
    assert.equal(short.status, 500);
    assert.match(await short.text(), /cannot be less than 1m0s/);
    const t = (await (
      await a.call("PUT", "/v1/acl/token", { ExpirationTTL: "1m" }, as(MANAGEMENT))
    ).json()) as { ExpirationTime: string };
    assert.ok(Date.parse(t.ExpirationTime) > Date.now());
  });

  void it("bounds - too many policy links and a huge description are refused", async () => {
    const links = Array.from({ length: 65 }, () => ({ Name: "global-management" }));
    const many = await a.call("PUT", "/v1/acl/token", { Policies: links }, as(MANAGEMENT));
    assert.equal(many.status, 500);
    assert.match(await many.text(), /at most 64 policies/);
    const big = await a.call(
      "PUT",
      "/v1/acl/token",
      { Description: "x".repeat(9000) },
      as(MANAGEMENT),
    );
    assert.equal(big.status, 500);
    const rules = await a.call(
      "PUT",
      "/v1/acl/policy",
      { Name: "big", Rules: `key "${"k".repeat(40_000)}" { policy = "read" }` },
      as(MANAGEMENT),
    );
    assert.equal(rules.status, 400);
  });

  void it("enable_token_persistence - a default token set through the API survives a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "augur-acl-persist-"));
    const settings = {
      dev: false,
      dataDir,
      acl: { ...acl, enableTokenPersistence: true, initialManagement: MANAGEMENT },
    };
    try {
      let b = await startTestAgent(settings);
      try {
        await b.call(
          "PUT",
          "/v1/acl/policy",
          { Name: "pub", Rules: 'key_prefix "" { policy = "read" }' },
          as(MANAGEMENT),
        );
        const t = (await (
          await b.call("PUT", "/v1/acl/token", { Policies: [{ Name: "pub" }] }, as(MANAGEMENT))
        ).json()) as { SecretID: string };
        assert.equal(
          (await b.call("PUT", "/v1/agent/token/default", { Token: t.SecretID }, as(MANAGEMENT)))
            .status,
          200,
        );
        assert.equal((await b.call("PUT", "/v1/kv/pub/k", "1", as(MANAGEMENT))).status, 200);
      } finally {
        await b.stop();
      }
      b = await startTestAgent(settings);
      try {
        assert.equal(
          (await b.call("GET", "/v1/kv/pub/k")).status,
          200,
          "the persisted default token reads",
        );
        assert.equal((await b.call("PUT", "/v1/kv/x", "1")).status, 403);
      } finally {
        await b.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  void it("acl off - every ACL endpoint answers 401 ACL support disabled", async () => {
    const off = await startTestAgent();
    try {
      const res = await off.call("PUT", "/v1/acl/bootstrap");
      assert.equal(res.status, 401);
      assert.equal(await res.text(), "ACL support disabled");
    } finally {
      await off.stop();
    }
  });
});
