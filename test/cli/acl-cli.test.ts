/**
 * ACLs configured in a file (HCL `acl {}` and the old `acl_*` JSON keys), against a real agent
 * process: the CLI's `-token`, `-token-file`, CONSUL_HTTP_TOKEN and AUGUR_HTTP_TOKEN, and a watch
 * whose `token` reads a key the default policy denies.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { AUGUR_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";
import { loadConfig, parseAgentFlags } from "../../src/config/index.js";

const run = promisify(execFile);
const MANAGEMENT = "4a4b4c4d-4444-4444-8444-44444444abcd";

void describe("ACLs from config files, with the CLI and watches", () => {
  let dir = "";
  let agent: AgentProcess;
  let receiver: HttpReceiver;
  const cli = async (
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ code: number; out: string }> => {
    const clean = { ...process.env, CONSUL_HTTP_TOKEN: "", AUGUR_HTTP_TOKEN: "", ...env };
    try {
      const r = await run(
        process.execPath,
        // Flags go before the arguments, as Go's flag package wants them.
        [AUGUR_BIN, ...args.slice(0, 2), `-http-addr=${agent.httpAddr}`, ...args.slice(2)],
        {
          env: clean,
        },
      );
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-acl-cli-"));
    receiver = await httpReceiver();
    const config = join(dir, "acl.hcl");
    await writeFile(
      config,
      `acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = "${MANAGEMENT}"
  }
}
watches = [
  {
    type = "key"
    key = "watched"
    token = "${MANAGEMENT}"
    handler_type = "http"
    http_handler_config { path = "${receiver.url}" }
  }
]
`,
    );
    agent = await startAgentProcess({ args: ["-dev", `-config-file=${config}`] });
  });
  after(async () => {
    await agent?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it("cli - -token, -token-file, CONSUL_HTTP_TOKEN and AUGUR_HTTP_TOKEN are sent; none is refused", async () => {
    const denied = await cli(["kv", "put", "a", "1"]);
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.out,
      /Permission denied: anonymous token lacks permission 'key:write' on "a"/,
    );
    assert.equal((await cli(["kv", "put", `-token=${MANAGEMENT}`, "a", "1"])).code, 0);
    const file = join(dir, "token");
    await writeFile(file, `${MANAGEMENT}\n`);
    assert.equal((await cli(["kv", "put", `-token-file=${file}`, "b", "2"])).code, 0);
    assert.equal((await cli(["kv", "put", "c", "3"], { CONSUL_HTTP_TOKEN: MANAGEMENT })).code, 0);
    const got = await cli(["kv", "get", "c"], { AUGUR_HTTP_TOKEN: MANAGEMENT });
    assert.equal(got.code, 0);
    assert.equal(got.out.trim(), "3");
    const res = await fetch(`http://${agent.httpAddr}/v1/kv/a`);
    assert.equal(res.headers.get("x-consul-default-acl-policy"), "deny");
  });

  void it("watch - a watch with its own token sees a key the default policy hides", async () => {
    assert.equal((await cli(["kv", "put", `-token=${MANAGEMENT}`, "watched", "seen"])).code, 0);
    await receiver.waitFor(1, 15_000);
    const bodies = receiver.requests.map((r) => r.body.toString("utf8"));
    assert.ok(
      bodies.some((b) => b.includes(Buffer.from("seen").toString("base64"))),
      `handler bodies: ${bodies.join(" | ")}`,
    );
  });

  void it("config - the older acl_* keys still turn ACLs on", async () => {
    const old = join(dir, "old.json");
    await writeFile(
      old,
      JSON.stringify({
        acl_datacenter: "dc1",
        acl_default_policy: "deny",
        acl_master_token: MANAGEMENT,
        acl_token: "default-secret",
      }),
    );
    const { config } = await loadConfig({
      flags: parseAgentFlags(["-dev"]),
      files: [old],
      dirs: [],
    });
    assert.deepEqual(config.acl, {
      enabled: true,
      defaultPolicy: "deny",
      downPolicy: "extend-cache",
      enableTokenPersistence: false,
      initialManagement: MANAGEMENT,
      defaultToken: "default-secret",
    });
    const off = join(dir, "off.json");
    await writeFile(off, JSON.stringify({ acl: { enabled: false, default_policy: "deny" } }));
    const r = await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [off], dirs: [] });
    assert.equal(r.config.acl, undefined);
  });
});
