/**
 * A 3-member etcd under an agent: losing one member changes nothing (reads, writes and a watch
 * keep working, whichever member the agent's etcd streams were on); losing two makes writes fail
 * with Consul's "No cluster leader" (500) within the call deadline, and the agent recovers when
 * the members return.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";
import { until } from "../watch/manager-helpers.js";

describe("cluster quorum", () => {
  let etcd: EtcdCluster;
  let agent: AgentProcess;
  let dir = "";
  let receiver: HttpReceiver;
  before(async () => {
    etcd = await startEtcdCluster(3);
    dir = await mkdtemp(join(tmpdir(), "augur-quorum-"));
    receiver = await httpReceiver();
    const conf = join(dir, "watch.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "q/a",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: receiver.url },
          },
        ],
      }),
    );
    agent = await startAgentProcess({
      args: [
        `-etcd=${etcd.clientUrls.join(",")}`,
        "-node",
        "q1",
        "-data-dir",
        join(dir, "data"),
        "-bind",
        "127.0.0.1",
        "-config-file",
        conf,
      ],
    });
  });
  after(async () => {
    await agent.stop();
    await receiver.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const put = (key: string, value: string): Promise<Response> =>
    fetch(`${agent.url}/v1/kv/${key}`, { method: "PUT", body: value });

  it("quorum - one member down: reads and writes keep working", async () => {
    await until(
      async () =>
        (
          (await (await fetch(`${agent.url}/v1/agent/watches`)).json()) as {
            Index: string | null;
          }[]
        )[0]?.Index != null,
      10_000,
      "watch running",
    );
    await etcd.killMember(2);
    // The client may first try the dead member; allow a short settling period.
    let res = await put("q/a", "1");
    for (let i = 0; i < 10 && res.status !== 200; i++) res = await put("q/a", "1");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "true");
    const [pair] = (await (await fetch(`${agent.url}/v1/kv/q/a`)).json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "1");
    // The watch sees it: the agent's etcd watch stream survived (or moved off) the dead member.
    const delivered = (): string[] =>
      receiver.requests.map((q) =>
        Buffer.from(
          (JSON.parse(q.body.toString()) as { Value: string }).Value,
          "base64",
        ).toString(),
      );
    await until(() => delivered().includes("1"), 15_000, "watch delivery with one member down");
    // And a later write too, made after the agent's streams have settled on the live members.
    assert.equal(await (await put("q/a", "1b")).text(), "true");
    await until(() => delivered().includes("1b"), 15_000, "second watch delivery");
  });

  it("quorum - two members down: writes fail with 500 No cluster leader; they recover when members return", async () => {
    await etcd.killMember(1);
    const started = Date.now();
    const res = await put("q/b", "2");
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "No cluster leader");
    assert.ok(Date.now() - started < 30_000, "the write failed in bounded time");
    await etcd.startMember(1);
    await etcd.startMember(2);
    const end = Date.now() + 30_000;
    let ok = false;
    while (!ok && Date.now() < end) {
      ok = (await put("q/b", "3")).status === 200;
      if (!ok) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(ok, "writes work again after the members return");
    const [pair] = (await (await fetch(`${agent.url}/v1/kv/q/b`)).json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "3");
  });
});
