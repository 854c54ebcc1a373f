/**
 * etcd's NOSPACE alarm (its backend past `--quota-backend-bytes`): etcd refuses writes with gRPC
 * RESOURCE_EXHAUSTED but keeps serving reads, deletes and lease keep-alives. A write through the
 * agent answers 500 with etcd's words, not "No cluster leader"; while a client keeps writing,
 * session renewals keep working and a held lock stays held, the node stays alive; after the
 * operator's fix (delete, compact, defragment, disarm) writes work again. Before: etcd3 retried
 * each refused write and counted it toward the member's circuit breaker, which then refused every
 * call for 250 ms at a time, keep-alives included.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";

const run = promisify(execFile);

describe("etcd's NOSPACE alarm", () => {
  let etcd: EtcdCluster;
  let agent: AgentProcess;
  let dir = "";
  const etcdctl = async (...args: string[]): Promise<string> =>
    (
      await run("etcdctl", [`--endpoints=${etcd.clientUrls[0] as string}`, ...args], {
        env: { ...process.env, ETCDCTL_API: "3" },
      })
    ).stdout;

  before(async () => {
    etcd = await startEtcdCluster(1, ["--quota-backend-bytes", String(16 * 1024 * 1024)]);
    dir = await mkdtemp(join(tmpdir(), "augur-nospace-"));
    agent = await startAgentProcess({
      args: [
        `-etcd=${etcd.clientUrls[0] as string}`,
        "-node",
        "full",
        "-data-dir",
        join(dir, "data"),
        "-bind",
        "127.0.0.1",
      ],
    });
  });
  after(async () => {
    await agent?.stop();
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const put = (path: string, body: string): Promise<Response> =>
    fetch(`${agent.url}${path}`, { method: "PUT", body });

  it("nospace - writes answer etcd's words; renewals, the lock and the node live on; writes resume after the fix", async () => {
    const session = (
      (await (await put("/v1/session/create", '{"TTL":"10s"}')).json()) as {
        ID: string;
      }
    ).ID;
    assert.equal(await (await put(`/v1/kv/lock?acquire=${session}`, "held")).text(), "true");

    // Fill etcd past its quota.
    const value = "v".repeat(500_000);
    let refused: { status: number; body: string } | undefined;
    for (let i = 0; i < 80 && refused === undefined; i++) {
      const res = await put(`/v1/kv/fill/${i}`, value);
      const body = await res.text();
      if (res.status !== 200) refused = { status: res.status, body };
    }
    assert.ok(refused, "etcd refused a write");
    assert.equal(refused.status, 500);
    assert.match(refused.body, /^etcd: .*database space exceeded/);
    assert.match(await etcdctl("alarm", "list"), /NOSPACE/);

    // A client keeps writing for longer than the agent's liveness lease (4 s): every write is
    // refused with etcd's words, while renewals of the session keep answering.
    const end = Date.now() + 8_000;
    let writes = 0;
    while (Date.now() < end) {
      const res = await put(`/v1/kv/more/${writes++}`, "x");
      assert.equal(res.status, 500);
      assert.match(await res.text(), /^etcd: .*database space exceeded/);
      if (writes % 5 === 0) {
        const renew = await put(`/v1/session/renew/${session}`, "");
        assert.equal(renew.status, 200, await renew.text());
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const lock = (await (await fetch(`${agent.url}/v1/kv/lock`)).json()) as { Session?: string }[];
    assert.equal(lock[0]?.Session, session, "the lock is still held");
    const health = (await (await fetch(`${agent.url}/v1/health/node/full`)).json()) as {
      CheckID: string;
      Status: string;
    }[];
    assert.equal(health.find((c) => c.CheckID === "serfHealth")?.Status, "passing");
    assert.notEqual(await (await fetch(`${agent.url}/v1/status/leader`)).text(), '""');

    // The operator's fix: delete (etcd takes deletes), compact, defragment, disarm.
    const del = await fetch(`${agent.url}/v1/kv/fill/?recurse`, { method: "DELETE" });
    assert.equal(del.status, 200, await del.text());
    const status = JSON.parse(await etcdctl("endpoint", "status", "-w", "json")) as {
      Status: { header: { revision: number } };
    }[];
    await etcdctl("compact", String(status[0]?.Status.header.revision));
    await etcdctl("defrag");
    await etcdctl("alarm", "disarm");
    const after = await put("/v1/kv/after", "ok");
    assert.equal(after.status, 200, await after.text());
  });
});
