/**
 * Debian's python3-consul, run by Debian's /usr/bin/python3 as a real child process, against a
 * real `augur agent -dev`. The Python script prints one JSON line per step.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(
  new URL("../../../test/clients/fixtures/python_consul_client.py", import.meta.url),
);

describe("python3-consul (Debian)", () => {
  let agent: AgentProcess;
  let http: Server;
  let tcp: TcpServer;
  before(async () => {
    agent = await startAgentProcess();
    http = createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
    tcp = createTcpServer((s) => s.end()).listen(0, "127.0.0.1");
    await Promise.all([once(http, "listening"), once(tcp, "listening")]);
  });
  after(async () => {
    http.close();
    tcp.close();
    await agent.stop();
  });

  it("python-consul - services, checks, catalog, KV, blocking, locks, events, deregistration", async () => {
    const httpPort = (http.address() as { port: number }).port;
    const tcpPort = (tcp.address() as { port: number }).port;
    const { stdout } = await run("/usr/bin/python3", [SCRIPT, String(httpPort), String(tcpPort)], {
      env: { ...process.env, CONSUL_HTTP_ADDR: agent.httpAddr, PYTHONPATH: "" },
      timeout: 60_000,
    }).catch((err: { stdout?: string; stderr?: string }) => {
      assert.fail(`python client failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
    });
    const steps = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: string; ok: boolean; detail: unknown });
    const failed = steps.filter((s) => !s.ok);
    assert.deepEqual(failed, [], `failed steps: ${JSON.stringify(failed)}`);
    assert.equal(
      steps.length,
      26,
      `expected every step to run: ${steps.map((s) => s.step).join(",")}`,
    );
  });
});
