/**
 * Prepared queries are durable: a real agent process on the disk store keeps its queries, their
 * indexes and their name claims across a kill -9 and a restart on the same data dir.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

describe("prepared queries - durable on the disk store", () => {
  let dir = "";
  let agent: AgentProcess | undefined;
  const args = (): string[] => [
    "-data-dir",
    join(dir, "data"),
    "-bind",
    "127.0.0.1",
    "-node",
    "pq",
  ];
  before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-pq-durable-"))));
  after(async () => {
    await agent?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it("query - a query, its indexes and its name survive kill -9 and a restart", async () => {
    agent = await startAgentProcess({ args: args() });
    const res = await fetch(`${agent.url}/v1/query`, {
      method: "POST",
      body: JSON.stringify({
        Name: "kept-",
        Template: { Type: "name_prefix_match", Regexp: "^kept-(.*)$" },
        Service: { Service: "${match(1)}" },
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { ID } = (await res.json()) as { ID: string };
    const before = (await (await fetch(`${agent.url}/v1/query/${ID}`)).json()) as unknown[];
    await agent.kill();

    agent = await startAgentProcess({ args: args() });
    const afterRestart = (await (await fetch(`${agent.url}/v1/query/${ID}`)).json()) as unknown[];
    assert.deepEqual(afterRestart, before);
    const explained = (await (await fetch(`${agent.url}/v1/query/kept-db/explain`)).json()) as {
      Query: { Service: { Service: string } };
    };
    assert.equal(explained.Query.Service.Service, "db");
    const dup = await fetch(`${agent.url}/v1/query`, {
      method: "POST",
      body: JSON.stringify({ Name: "KEPT-", Service: { Service: "x" } }),
    });
    assert.deepEqual(
      [dup.status, await dup.text()],
      [500, "raft apply failed: name 'KEPT-' aliases an existing query name"],
    );
  });
});
