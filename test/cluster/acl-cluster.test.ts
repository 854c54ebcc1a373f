/**
 * ACLs in cluster mode: tokens, policies and roles live in etcd, so a token made on one agent
 * works on another, a policy change on one narrows it on the other, and bootstrap happens once
 * per cluster.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { until } from "../helpers/until.js";

const MANAGEMENT = "6a6b6c6d-6666-4666-8666-66666666abcd";

void describe("ACLs in cluster mode on etcd", () => {
  let etcd: EtcdCluster;
  let dir = "";
  let a1: AgentProcess;
  let a2: AgentProcess;
  const call = (
    agent: AgentProcess,
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<Response> =>
    fetch(`${agent.url}${path}`, {
      method,
      headers: token ? { "X-Consul-Token": token } : {},
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });

  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-acl-cluster-"));
    const config = join(dir, "acl.json");
    await writeFile(
      config,
      JSON.stringify({
        acl: {
          enabled: true,
          default_policy: "deny",
          tokens: { initial_management: MANAGEMENT, agent: MANAGEMENT },
        },
      }),
    );
    const args = (node: string): string[] => [
      `-etcd=${etcd.clientUrls.join(",")}`,
      "-etcd-prefix",
      `acl${process.pid}/`,
      "-node",
      node,
      "-data-dir",
      join(dir, node),
      "-bind",
      "127.0.0.1",
      "-config-file",
      config,
    ];
    a1 = await startAgentProcess({ args: args("a1") });
    a2 = await startAgentProcess({ args: args("a2") });
  });
  after(async () => {
    await a1?.stop();
    await a2?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it("cluster - the same policy or role name created on both agents at once: one wins, the other is refused", async () => {
    for (let round = 0; round < 5; round++) {
      const name = `dup-${round}`;
      const answers = await Promise.all(
        [a1, a2].map((agent) =>
          call(agent, "PUT", "/v1/acl/policy", MANAGEMENT, { Name: name, Rules: "" }),
        ),
      );
      const texts = await Promise.all(answers.map((r) => r.text()));
      assert.deepEqual(
        answers.map((r) => r.status).sort(),
        [200, 500],
        `round ${round}: ${texts.join(" | ")}`,
      );
      assert.ok(texts.some((t) => t.includes(`A Policy with Name "${name}" already exists`)));
      const roles = await Promise.all(
        [a1, a2].map((agent) =>
          call(agent, "PUT", "/v1/acl/role", MANAGEMENT, { Name: `role-${name}` }),
        ),
      );
      assert.deepEqual(roles.map((r) => r.status).sort(), [200, 500], `round ${round}: roles`);
    }
    const list = (await (await call(a2, "GET", "/v1/acl/policies", MANAGEMENT)).json()) as {
      Name: string;
    }[];
    for (let round = 0; round < 5; round++)
      assert.equal(list.filter((p) => p.Name === `dup-${round}`).length, 1);
  });

  void it("cluster - the same client-chosen SecretID created on both agents at once: one token, the other refused", async () => {
    for (let round = 0; round < 5; round++) {
      const secret = `7a7b7c7d-7777-4777-8777-${String(round).padStart(12, "0")}`;
      const answers = await Promise.all(
        [a1, a2].map((agent) =>
          call(agent, "PUT", "/v1/acl/token", MANAGEMENT, {
            SecretID: secret,
            Description: `dup secret ${round}`,
          }),
        ),
      );
      const texts = await Promise.all(answers.map((r) => r.text()));
      assert.deepEqual(
        answers.map((r) => r.status).sort(),
        [200, 500],
        `round ${round}: ${texts.join(" | ")}`,
      );
      assert.ok(texts.some((t) => t.includes("Invalid Token: SecretID is already in use")));
    }
    const tokens = (await (await call(a1, "GET", "/v1/acl/tokens", MANAGEMENT)).json()) as {
      Description: string;
    }[];
    for (let round = 0; round < 5; round++)
      assert.equal(tokens.filter((t) => t.Description === `dup secret ${round}`).length, 1);
  });

  void it("cluster - agent/join reads the other agent with acl.tokens.agent", async () => {
    const res = await call(a1, "PUT", `/v1/agent/join/${new URL(a2.url).host}`, MANAGEMENT);
    assert.equal(res.status, 200, await res.text());
  });

  void it("cluster - a token created on one agent works on the other, and a policy change reaches it", async () => {
    const policy = (await (
      await call(a1, "PUT", "/v1/acl/policy", MANAGEMENT, {
        Name: "shared-kv",
        Rules: 'key_prefix "shared/" { policy = "write" }',
      })
    ).json()) as { ID: string };
    const token = (await (
      await call(a1, "PUT", "/v1/acl/token", MANAGEMENT, { Policies: [{ ID: policy.ID }] })
    ).json()) as { SecretID: string };
    await until(
      async () => (await call(a2, "PUT", "/v1/kv/shared/x", token.SecretID, "1")).status === 200,
      "the token made on a1 to work on a2",
    );
    assert.equal((await call(a2, "PUT", "/v1/kv/other", token.SecretID, "1")).status, 403);
    const narrowed = await call(a2, "PUT", `/v1/acl/policy/${policy.ID}`, MANAGEMENT, {
      Name: "shared-kv",
      Rules: 'key_prefix "shared/" { policy = "read" }',
    });
    assert.equal(narrowed.status, 200);
    await until(
      async () => (await call(a1, "PUT", "/v1/kv/shared/x", token.SecretID, "2")).status === 403,
      "the narrowed policy (changed on a2) to apply on a1",
    );
    assert.equal((await call(a1, "GET", "/v1/kv/shared/x", token.SecretID)).status, 200);
  });

  void it("cluster - bootstrap is allowed once for the whole cluster", async () => {
    const first = await call(a1, "PUT", "/v1/acl/bootstrap", undefined);
    assert.equal(first.status, 200);
    const second = await call(a2, "PUT", "/v1/acl/bootstrap", undefined);
    assert.equal(second.status, 403);
    assert.match(await second.text(), /ACL bootstrap no longer allowed \(reset index: \d+\)/);
  });
});
