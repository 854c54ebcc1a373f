/**
 * A full etcd outage (every member down for 60 s, then back) as Consul users expect it to go:
 * no live agent is marked failed, no session is invalidated and no lock is lost; meanwhile
 * session renew answers 500 "No cluster leader" (not 404, which makes Patroni drop a valid
 * session), `status/leader` answers "", and SIGTERM still stops an agent within 5 s.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { until } from "../watch/manager-helpers.js";

const OUTAGE_MS = 60_000;
const MEMBERS = 3;

describe("cluster - full etcd outage", () => {
  let etcd: EtcdCluster;
  const agents: AgentProcess[] = [];
  let dir = "";
  before(async () => {
    etcd = await startEtcdCluster(MEMBERS);
    dir = await mkdtemp(join(tmpdir(), "augur-outage-"));
    for (const name of ["out1", "out2"]) {
      agents.push(
        await startAgentProcess({
          args: [
            `-etcd=${etcd.clientUrls.join(",")}`,
            "-etcd-prefix",
            `out${process.pid}/`,
            "-node",
            name,
            "-data-dir",
            join(dir, name),
            "-bind",
            "127.0.0.1",
          ],
        }),
      );
    }
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (a: AgentProcess, method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${a.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  const json = async <T>(res: Promise<Response>): Promise<T> => (await (await res).json()) as T;

  it(
    "outage - 60 s without etcd: no agent failed, no session invalidated, no lock lost; renew is 500 meanwhile",
    { timeout: 180_000 },
    async () => {
      const [a, b] = agents as [AgentProcess, AgentProcess];
      // A node-check session (tied to serfHealth) on each agent, and a TTL session renewed by a client.
      const sa = (
        await json<{ ID: string }>(call(a, "PUT", "/v1/session/create", { Name: "leader-a" }))
      ).ID;
      const sb = (
        await json<{ ID: string }>(
          call(b, "PUT", "/v1/session/create", { Name: "ttl-b", TTL: "10s" }),
        )
      ).ID;
      assert.equal(await (await call(a, "PUT", `/v1/kv/lock/a?acquire=${sa}`, "a")).text(), "true");
      assert.equal(await (await call(b, "PUT", `/v1/kv/lock/b?acquire=${sb}`, "b")).text(), "true");
      await until(
        async () =>
          (await json<{ Status: number }[]>(call(a, "GET", "/v1/agent/members"))).filter(
            (m) => m.Status === 1,
          ).length === 2,
        10_000,
        "both members alive",
      );

      for (let i = 0; i < MEMBERS; i++) await etcd.killMember(i);
      const down = Date.now();

      // During the outage: renew is 500 No cluster leader, status/leader is "".
      const renew = await call(b, "PUT", `/v1/session/renew/${sb}`);
      assert.equal(renew.status, 500, "renew during an outage is a 500, not a 404");
      assert.equal(await renew.text(), "No cluster leader");
      await until(
        async () => (await json<string>(call(a, "GET", "/v1/status/leader"))) === "",
        10_000,
        'status/leader is "" while etcd is down',
      );

      // A client keeps renewing its TTL session, as Patroni does; the answers are 500s until etcd is back.
      while (Date.now() - down < OUTAGE_MS) {
        const r = await call(b, "PUT", `/v1/session/renew/${sb}`);
        assert.equal(r.status, 500);
        await new Promise((res) => setTimeout(res, 2_000));
      }
      for (let i = 0; i < MEMBERS; i++) await etcd.startMember(i);
      await until(
        async () => (await call(b, "PUT", `/v1/session/renew/${sb}`)).status === 200,
        20_000,
        "renew works again",
      );
      await until(
        async () => (await json<string>(call(a, "GET", "/v1/status/leader"))) !== "",
        20_000,
        "status/leader is back",
      );

      // Give a lost lease every chance to show: well past the liveness TTL (4 s) and the session TTL.
      const settle = Date.now() + 15_000;
      while (Date.now() < settle) {
        await call(b, "PUT", `/v1/session/renew/${sb}`);
        await new Promise((res) => setTimeout(res, 2_000));
      }
      for (const agent of [a, b]) {
        const members = await json<{ Name: string; Status: number }[]>(
          call(agent, "GET", "/v1/agent/members"),
        );
        assert.deepEqual(
          members.map((m) => [m.Name, m.Status]).sort(),
          [
            ["out1", 1],
            ["out2", 1],
          ],
          "no member failed",
        );
        for (const node of ["out1", "out2"]) {
          const checks = await json<{ CheckID: string; Status: string }[]>(
            call(agent, "GET", `/v1/health/node/${node}`),
          );
          assert.equal(
            checks.find((c) => c.CheckID === "serfHealth")?.Status,
            "passing",
            `${node} serfHealth`,
          );
        }
      }
      assert.equal(
        (await json<unknown[]>(call(a, "GET", `/v1/session/info/${sa}`))).length,
        1,
        "the serfHealth session survives",
      );
      assert.equal(
        (await json<unknown[]>(call(a, "GET", `/v1/session/info/${sb}`))).length,
        1,
        "the TTL session survives",
      );
      const [la] = await json<{ Session?: string }[]>(call(b, "GET", "/v1/kv/lock/a"));
      const [lb] = await json<{ Session?: string }[]>(call(a, "GET", "/v1/kv/lock/b"));
      assert.equal(la?.Session, sa, "lock/a still held");
      assert.equal(lb?.Session, sb, "lock/b still held");
      assert.doesNotMatch(a.output() + b.output(), /EventMemberFailed|EventMemberReap/);
    },
  );

  it(
    "outage - SIGTERM during an outage stops the agent within 5 s",
    { timeout: 60_000 },
    async () => {
      for (let i = 0; i < MEMBERS; i++) await etcd.killMember(i);
      const agent = agents[0] as AgentProcess;
      await new Promise((res) => setTimeout(res, 6_000)); // past the liveness TTL: the agent knows etcd is gone
      const exited = new Promise<number>((res) => agent.proc.once("exit", () => res(Date.now())));
      const sent = Date.now();
      agent.proc.kill("SIGTERM");
      const took = (await exited) - sent;
      assert.ok(took < 5_000, `SIGTERM took ${took} ms`);
      for (let i = 0; i < MEMBERS; i++) await etcd.startMember(i);
    },
  );
});
