/**
 * The npm `consul` client and Debian's python3-consul with ACL tokens, against a real agent
 * process with `acl { enabled = true, default_policy = "deny" }`: allowed and denied calls.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Consul from "consul";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(
  new URL("../../../test/clients/fixtures/python_consul_acl.py", import.meta.url),
);
const MANAGEMENT = "5a5b5c5d-5555-4555-8555-55555555abcd";

void describe("clients with ACL tokens", () => {
  let dir = "";
  let agent: AgentProcess;
  let appToken = "";
  const client = (token?: string): Consul => {
    const [host, port] = agent.httpAddr.split(":");
    return new Consul({
      host: host ?? "127.0.0.1",
      port: Number(port),
      ...(token ? { defaults: { token } } : {}),
    });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-acl-clients-"));
    const config = join(dir, "acl.json");
    await writeFile(
      config,
      JSON.stringify({
        acl: { enabled: true, default_policy: "deny", tokens: { initial_management: MANAGEMENT } },
      }),
    );
    agent = await startAgentProcess({ args: ["-dev", `-config-file=${config}`] });
    const call = async (path: string, body: object): Promise<Record<string, unknown>> => {
      const res = await fetch(`http://${agent.httpAddr}${path}`, {
        method: "PUT",
        headers: { "X-Consul-Token": MANAGEMENT },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as Record<string, unknown>;
    };
    await call("/v1/acl/policy", {
      Name: "app",
      Rules: 'key_prefix "app/" { policy = "write" }\nservice "web" { policy = "write" }',
    });
    appToken = (await call("/v1/acl/token", { Policies: [{ Name: "app" }] }))["SecretID"] as string;
  });
  after(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it("npm consul - a token's calls are allowed within its policy and refused outside it", async () => {
    const app = client(appToken);
    await app.kv.set("app/n", "1");
    const got = (await app.kv.get("app/n")) as { Value: string } | undefined;
    assert.equal(got?.Value, "1");
    // node-consul turns a 403 into an Error "forbidden" carrying the response.
    const forbidden = (err: unknown): boolean =>
      (err as { response?: { statusCode?: number } }).response?.statusCode === 403;
    await assert.rejects(app.kv.set("other/n", "1"), forbidden);
    await assert.rejects(client().kv.get("app/n"), forbidden);
    await app.agent.service.register({ name: "web", id: "web-npm" });
    await assert.rejects(app.agent.service.register({ name: "db" }), forbidden);
    // initial_management does not use up bootstrap: the first one works, the second is refused.
    await client().acl.bootstrap();
    await assert.rejects(client(MANAGEMENT).acl.bootstrap(), forbidden);
  });

  void it("python3-consul - token, per-call token, ACLPermissionDenied, filtered recurse", async () => {
    const { stdout } = await run("/usr/bin/python3", [SCRIPT, MANAGEMENT, appToken], {
      env: { ...process.env, CONSUL_HTTP_ADDR: agent.httpAddr, PYTHONPATH: "" },
      timeout: 60_000,
    }).catch((err: { stdout?: string; stderr?: string }) =>
      assert.fail(`python client failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`),
    );
    const steps = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: string; ok: boolean; detail: unknown });
    assert.deepEqual(
      steps.filter((s) => !s.ok),
      [],
    );
    assert.equal(steps.length, 10, steps.map((s) => s.step).join(","));
  });
});
