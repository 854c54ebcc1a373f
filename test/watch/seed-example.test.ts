/**
 * The README's seed example: an agent config with a `checks` watch whose Python handler appends
 * a line to a file next to it. A service with a check registers, fails, passes again; the file
 * gains a line at start (Consul's default) and one for each change.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const SEED = fileURLToPath(new URL("../../../examples/seed/", import.meta.url));

describe("seed example", () => {
  let dir = "";
  let agent: AgentProcess;
  const lines = async (): Promise<string[]> =>
    (await readFile(join(dir, "examples/seed/checks.log"), "utf8").catch(() => ""))
      .trim()
      .split("\n")
      .filter(Boolean);
  const until = async (what: string, fn: (l: string[]) => boolean): Promise<string[]> => {
    const end = Date.now() + 15_000;
    for (;;) {
      const l = await lines();
      if (fn(l)) return l;
      if (Date.now() > end)
        assert.fail(
          `timed out waiting for ${what}; log:\n${l.join("\n")}\nagent:\n${agent.output()}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-seed-"));
    await cp(join(SEED, "on_checks.py"), join(dir, "examples/seed/on_checks.py"));
    await writeFile(join(dir, "augur.json"), await readFile(join(SEED, "augur.json")));
    agent = await startAgentProcess({ args: ["-dev", "-config-file", "augur.json"], cwd: dir });
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("seed - the handler appends a line at start and one per check change", async () => {
    await until("the line at start", (l) => l.length >= 1);
    const put = (path: string, body?: object): Promise<Response> =>
      fetch(`${agent.url}${path}`, {
        method: "PUT",
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    await put("/v1/agent/service/register", { Name: "web", Check: { TTL: "60s" } });
    await until("the registration", (l) => l.some((x) => x.includes("service:web=critical")));
    await put("/v1/agent/check/pass/service:web");
    await until("passing", (l) => l.at(-1)?.includes("service:web=passing") === true);
    await put("/v1/agent/check/fail/service:web");
    await until("critical again", (l) => l.at(-1)?.includes("service:web=critical") === true);
    await put("/v1/agent/check/pass/service:web");
    const final = await until(
      "passing again",
      (l) => l.at(-1)?.includes("service:web=passing") === true,
    );
    // start, registered (critical), passing, critical, passing
    assert.equal(final.length, 5, final.join("\n"));
    assert.match(final[0] ?? "", /index=\d+ serfHealth=passing/);
  });
});
