/**
 * A start that fails part way releases what it opened: the HTTP listeners it had bound, the
 * data dir's stores, the agent's timers. Shown from outside: the ports are free again and a new
 * agent starts on the same data dir at once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Writable } from "node:stream";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseWatchDefinition } from "../../src/watch/definition.js";
import { freePort } from "../helpers/free-port.js";
import { startTestAgent, testAgentSettings } from "../helpers/in-process-agent.js";
import { AgentRuntime, type AgentSettings } from "../../src/main.js";
import { createLogger } from "../../src/lib/logger.js";

async function listenOn(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(port, "127.0.0.1", resolve);
  });
  return s;
}

const closeServer = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

describe("agent - a failed start releases everything it opened", () => {
  let dir = "";
  before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-rollback-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("rollback - a port in use on the second address frees the first, and the data dir opens again", async () => {
    const dataDir = join(dir, "port");
    const first = await freePort();
    const taken = await listenOn(await freePort());
    const takenPort = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(
        startTestAgent({
          dev: false,
          dataDir,
          httpAddresses: [
            { host: "127.0.0.1", port: first },
            { host: "127.0.0.1", port: takenPort },
          ],
        }),
        /EADDRINUSE/,
      );
      await closeServer(await listenOn(first)); // the first listener was closed by the rollback
      const again = await startTestAgent({
        dev: false,
        dataDir,
        httpAddresses: [{ host: "127.0.0.1", port: first }],
      });
      assert.equal((await again.call("GET", "/v1/agent/self")).status, 200);
      await again.stop();
    } finally {
      await closeServer(taken);
    }
  });

  it("rollback - a watch that cannot start (its signing secret is missing) stops the agent it came with", async () => {
    const dataDir = join(dir, "watch");
    const port = await freePort();
    const watch = parseWatchDefinition({
      type: "key",
      key: "k",
      handler_type: "http",
      http_handler_config: { path: "http://127.0.0.1:9/" },
      signing_secret_env: "AUGUR_TEST_SECRET_THAT_IS_NOT_SET",
    });
    await assert.rejects(
      startTestAgent({
        dev: false,
        dataDir,
        httpAddresses: [{ host: "127.0.0.1", port }],
        watches: [watch],
      }),
      /AUGUR_TEST_SECRET_THAT_IS_NOT_SET/,
    );
    await closeServer(await listenOn(port)); // nothing listens on the agent's port any more
    const again = await startTestAgent({
      dev: false,
      dataDir,
      httpAddresses: [{ host: "127.0.0.1", port }],
    });
    assert.equal((await again.call("GET", "/v1/agent/self")).status, 200);
    await again.stop();
  });

  it("rollback - a data dir that is a file fails the start; the runtime goes built → failed and cannot be started again", async () => {
    const file = join(dir, "not-a-dir");
    await writeFile(file, "x");
    const port = await freePort();
    const runtime = new AgentRuntime(
      {
        ...baseSettings(),
        dev: false,
        dataDir: file,
        httpAddresses: [{ host: "127.0.0.1", port }],
      },
      quiet,
    );
    assert.equal(runtime.state, "built");
    await assert.rejects(runtime.start(), /ENOTDIR|EEXIST|not a directory/i);
    assert.equal(runtime.state, "failed");
    await assert.rejects(runtime.start(), /illegal in state failed/);
    await closeServer(await listenOn(port)); // nothing was left listening
  });

  it("lifecycle - built → running → stopped; stop is idempotent and resolves `stopped`", async () => {
    const runtime = new AgentRuntime(
      { ...baseSettings(), httpAddresses: [{ host: "127.0.0.1", port: 0 }] },
      quiet,
    );
    const running = await runtime.start();
    assert.equal(runtime.state, "running");
    const url = `http://127.0.0.1:${running.addresses[0]?.port}`;
    assert.equal((await fetch(`${url}/v1/agent/self`)).status, 200);
    await Promise.all([running.stop(), running.stop()]);
    await running.stopped;
    assert.equal(runtime.state, "stopped");
    await assert.rejects(fetch(`${url}/v1/agent/self`), "the listener is closed");
  });
});

const quiet = {
  logger: createLogger({
    level: "error",
    json: false,
    out: new Writable({ write: (_c, _e, done) => done() }),
  }),
  reloadSettings: async () => baseSettings(),
};

function baseSettings(): AgentSettings {
  return testAgentSettings({ nodeName: "rt", httpAddresses: [] });
}
