/**
 * Starts a real agent (real store, real HTTP server on 127.0.0.1:0) inside the test process, so
 * tests can also look at internals such as how many blocking queries a change woke.
 *
 * @module
 */
import type { AclConfig } from "../../src/config/load.js";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { startAgent, type AgentSettings, type RunningAgent } from "../../src/main.js";
import { createLogger } from "../../src/lib/logger.js";

export interface TestAgent {
  readonly url: string;
  readonly running: RunningAgent;
  readonly logs: string[];
  /** fetch against the agent: `call("PUT", "/v1/kv/a", "body")`. */
  call(
    method: string,
    path: string,
    body?: string | Buffer | object,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** Blocking queries parked in the agent now (poll this rather than sleeping before a change). */
  parked(): number;
  stop(): Promise<void>;
}

/** A `-dev` agent's settings on 127.0.0.1 (HTTP on a free port), with `overrides` on top. */
export function testAgentSettings(overrides: Partial<AgentSettings> = {}): AgentSettings {
  return {
    nodeName: "node1",
    nodeId: randomUUID(),
    datacenter: "dc1",
    dev: true,
    httpAddresses: [{ host: "127.0.0.1", port: 0 }],
    advertiseAddr: "127.0.0.1",
    enableScriptChecks: false,
    enableLocalScriptChecks: false,
    checkUpdateIntervalMs: 0,
    services: [],
    checks: [],
    watches: [],
    ...overrides,
  };
}

/** ACLs on with Consul's deny default, `initialManagement` the management token (for `overrides.acl`). */
export const aclDenyByDefault = (initialManagement: string): AclConfig => ({
  enabled: true,
  defaultPolicy: "deny",
  downPolicy: "extend-cache",
  enableTokenPersistence: false,
  initialManagement,
});

export async function startTestAgent(overrides: Partial<AgentSettings> = {}): Promise<TestAgent> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const settings = testAgentSettings(overrides);
  const logger = createLogger({ level: "warn", json: false, out: sink });
  const running = await startAgent(settings, { logger, reloadSettings: async () => settings });
  // An HTTPS-only agent (ports.http = -1) is reached at its HTTPS address; `call` (global fetch)
  // cannot take its CA, so HTTPS tests make their own requests to `url`.
  const addr = running.addresses[0] ?? running.httpsAddresses[0];
  if (!addr) throw new Error("agent has no address");
  const url = `${running.addresses[0] ? "http" : "https"}://${addr.host}:${addr.port}`;
  return {
    url,
    running,
    logs,
    call: (method, path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined
          ? {}
          : {
              body:
                typeof body === "string"
                  ? body
                  : Buffer.isBuffer(body)
                    ? new Uint8Array(body)
                    : JSON.stringify(body),
            }),
      }),
    parked: () => running.catalog.parked(),
    stop: () => running.stop(),
  };
}
