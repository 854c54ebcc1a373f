/**
 * X-Consul-Index never goes backwards across a restart on the same data dir. Many endpoints'
 * last change is a deletion, which a restarted view cannot see one by one any more (KV
 * tombstones, table indexes live in memory); their index must still not drop below what a client
 * was told before, or its blocking query would park on an index the agent has already passed.
 */
import { after, before, describe, it } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { assertNotBackwards, readIndexes, writeThenDelete } from "../helpers/index-probe.js";

describe("indexes - monotonic across restarts (disk store)", () => {
  let dir = "";
  let agent: AgentProcess | undefined;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-index-mono-"))));
  after(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "indexes - every endpoint's X-Consul-Index is >= its value before a restart (stop, then kill -9)",
    { timeout: 60_000 },
    async () => {
      const args = ["-data-dir", join(dir, "data"), "-bind", "127.0.0.1", "-node", "mono"];
      agent = await startAgentProcess({ args });
      await writeThenDelete(agent.url);
      const before = await readIndexes(agent.url);

      await agent.stop();
      agent = await startAgentProcess({ args });
      const afterStop = await readIndexes(agent.url);
      assertNotBackwards(before, afterStop, "after a restart");

      await agent.kill();
      agent = await startAgentProcess({ args });
      assertNotBackwards(afterStop, await readIndexes(agent.url), "after kill -9 and a restart");
    },
  );
});
