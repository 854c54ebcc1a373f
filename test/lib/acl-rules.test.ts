import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  fromStoredRules,
  mergeRules,
  parsePolicyRules,
  toStoredRules,
  MAX_RULES_LENGTH,
  type StoredRules,
} from "../../src/lib/acl-rules.js";
import { ANONYMOUS_ACCESSOR_ID, Authorizer } from "../../src/lib/acl-authorizer.js";
import { isAugurError } from "../../src/lib/errors.js";

const authz = async (
  text: string | string[],
  fallback: "allow" | "deny" = "deny",
): Promise<Authorizer> =>
  new Authorizer(
    mergeRules(await Promise.all((Array.isArray(text) ? text : [text]).map(parsePolicyRules))),
    fallback,
    "11111111-2222-3333-4444-555555555555",
  );

void describe("ACL rules and authorizer", () => {
  void it("rules - HCL and JSON spell the same policy", async () => {
    const hcl = `
      key_prefix "" { policy = "read" }
      key_prefix "foo/" { policy = "write" }
      key "foo/private" { policy = "deny" }
      service_prefix "web" { policy = "write" }
      operator = "read"`;
    const json = JSON.stringify({
      key_prefix: { "": { policy: "read" }, "foo/": { policy: "write" } },
      key: { "foo/private": { policy: "deny" } },
      service_prefix: { web: { policy: "write" } },
      operator: "read",
    });
    for (const a of [await authz(hcl), await authz(json)]) {
      assert.equal(a.allows("key", "bar", "read"), true);
      assert.equal(a.allows("key", "bar", "write"), false);
      assert.equal(a.allows("key", "foo/x", "write"), true);
      assert.equal(a.allows("key", "foo/private", "read"), false, "exact beats prefix");
      assert.equal(a.allows("service", "web-1", "write"), true);
      assert.equal(a.allows("service", "db", "read"), false, "default deny");
      assert.equal(a.allowsGlobal("operator", "read"), true);
      assert.equal(a.allowsGlobal("operator", "write"), false);
    }
  });

  void it("authorizer - the longest prefix wins, whatever the order", async () => {
    const a = await authz(`key_prefix "a/" { policy = "deny" }
      key_prefix "a/b/" { policy = "write" }
      key_prefix "a/b/c/" { policy = "read" }`);
    assert.equal(a.allows("key", "a/x", "read"), false);
    assert.equal(a.allows("key", "a/b/x", "write"), true);
    assert.equal(a.allows("key", "a/b/c/x", "write"), false);
    assert.equal(a.allows("key", "a/b/c/x", "read"), true);
  });

  void it("authorizer - deny wins on a tie across policies; write beats read", async () => {
    const a = await authz([`key "k" { policy = "write" }`, `key "k" { policy = "deny" }`]);
    assert.equal(a.allows("key", "k", "read"), false);
    const b = await authz([`key "k" { policy = "read" }`, `key "k" { policy = "write" }`]);
    assert.equal(b.allows("key", "k", "write"), true);
  });

  void it("authorizer - list grants key listing and reading, not writing", async () => {
    const a = await authz(`key_prefix "l/" { policy = "list" }
      key_prefix "r/" { policy = "read" }`);
    assert.equal(a.allows("key", "l/x", "list"), true);
    assert.equal(a.allows("key", "l/x", "read"), true);
    assert.equal(a.allows("key", "l/x", "write"), false);
    assert.equal(a.allows("key", "r/x", "list"), false);
  });

  void it("authorizer - default allow covers what no rule names, but never ACL management", async () => {
    const a = await authz(`key_prefix "secret/" { policy = "deny" }`, "allow");
    assert.equal(a.allows("key", "other", "write"), true);
    assert.equal(a.allows("key", "secret/x", "read"), false);
    assert.equal(a.allowsGlobal("operator", "write"), true);
    assert.equal(a.allowsGlobal("acl", "read"), false);
  });

  void it("authorizer - a recursive delete needs write on the prefix and everything under it", async () => {
    const a = await authz(`key_prefix "a/" { policy = "write" }
      key "a/keep" { policy = "read" }`);
    assert.equal(a.allowsKeyWritePrefix("a/"), false);
    assert.equal(a.allowsKeyWritePrefix("a/sub/"), true);
    assert.equal(a.allowsKeyWritePrefix("b/"), false);
  });

  void it("rules - bad access levels are refused with Consul's texts", async () => {
    const cases: [string, RegExp][] = [
      [
        `key_prefix "x" { policy = "admin" }`,
        /^Invalid key_prefix policy: &acl\.KeyRule\{Prefix:"x", Policy:"admin"\}$/,
      ],
      [`service "x" { policy = "list" }`, /^Invalid service policy: /],
      [`operator = "list"`, /^Invalid operator policy: "list"$/],
      [`key "x" {`, /^Failed to parse ACL rules: /],
    ];
    for (const [text, message] of cases)
      await assert.rejects(
        parsePolicyRules(text),
        (err: unknown) => isAugurError(err, "BAD_REQUEST") && message.test(err.message),
        text,
      );
  });

  void it("rules - text over the limit is refused before it is parsed", async () => {
    const big = `key_prefix "${"x".repeat(MAX_RULES_LENGTH)}" { policy = "read" }`;
    await assert.rejects(parsePolicyRules(big), (err: unknown) => isAugurError(err, "BAD_REQUEST"));
  });

  void it("authorizer - denials are worded as Consul 1.15+ words them", async () => {
    const a = await authz("");
    assert.throws(
      () => a.require("key", "foo", "read"),
      (err: unknown) =>
        isAugurError(err, "PERMISSION_DENIED") &&
        err.message ===
          `Permission denied: token with AccessorID '11111111-2222-3333-4444-555555555555' lacks permission 'key:read' on "foo"`,
    );
    const anon = new Authorizer({ named: {}, global: {} }, "deny", ANONYMOUS_ACCESSOR_ID);
    assert.throws(
      () => anon.requireGlobal("operator", "write"),
      (err: unknown) =>
        isAugurError(err) &&
        err.message ===
          "Permission denied: anonymous token lacks permission 'operator:write'. The anonymous token is used implicitly when a request does not specify a token.",
    );
  });

  void it("authorizer - a megabyte name against many prefixes finds its rule", async () => {
    const text = JSON.stringify({
      key_prefix: Object.fromEntries(
        Array.from({ length: 500 }, (_, i) => [`p${i}/`, { policy: "read" }]),
      ),
    });
    const a = await authz(text);
    assert.equal(a.allows("key", "p499/" + "z".repeat(1 << 20), "read"), true);
    assert.equal(a.allows("key", "q/" + "z".repeat(1 << 20), "read"), false);
  });

  void it("rules - stored rules give the same authorizer back", async () => {
    const rules = await parsePolicyRules(`key_prefix "a/" { policy = "list" }
      node "n1" { policy = "write" }
      acl = "read"`);
    const back = fromStoredRules(JSON.parse(JSON.stringify(toStoredRules(rules))) as StoredRules);
    assert.deepEqual(back, rules);
  });
});
