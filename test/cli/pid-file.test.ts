/** `-pid-file` / `pid_file`: a real agent process writes its PID at start and removes it at stop. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../helpers/agent-process.js";

describe("agent - PID file", () => {
  it("pid_file - written with the agent's PID once it starts, removed when it stops (flag and config key)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-pid-"));
    try {
      const byFlag = join(dir, "flag.pid");
      const a = await startAgentProcess({ args: ["-dev", "-pid-file", byFlag] });
      assert.equal(await readFile(byFlag, "utf8"), String(a.proc.pid));
      await a.stop();
      assert.equal(existsSync(byFlag), false, "removed at stop");

      const byKey = join(dir, "key.pid");
      const config = join(dir, "agent.json");
      await writeFile(config, JSON.stringify({ pid_file: byKey }));
      const b = await startAgentProcess({ args: ["-dev", "-config-file", config] });
      assert.equal(await readFile(byKey, "utf8"), String(b.proc.pid));
      assert.ok(
        !b.output().includes('"pid_file"'),
        "no 'not supported' notice for pid_file any more",
      );
      await b.stop();
      assert.equal(existsSync(byKey), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
