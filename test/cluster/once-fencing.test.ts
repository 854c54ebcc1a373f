/**
 * Fencing of `once_per_cluster` watches: the leader is cut off from etcd (a TCP proxy) while it
 * still has a record it has been retrying; it must not deliver it, since it can no longer
 * re-assert its lock. The other agent takes the lock once the cut-off agent's lease lapses and
 * delivers the change itself, with a higher fencing token; after the heal, the old leader finds
 * the change covered by the new leader's watermark. Every change is accepted exactly once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";
import { until } from "../watch/manager-helpers.js";

interface WatchInfo {
  ID: string;
  Index: string | null;
  Leadership?: { State: string; Leader: string };
}

describe("once_per_cluster fencing", () => {
  let etcd: EtcdCluster;
  let proxy: TcpProxy;
  let dir = "";
  let receiver: HttpReceiver;
  let cut: AgentProcess;
  let other: AgentProcess;
  let accepting = true;

  before(async () => {
    etcd = await startEtcdCluster(1);
    const url = new URL(etcd.clientUrls[0] as string);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    dir = await mkdtemp(join(tmpdir(), "augur-fence-"));
    receiver = await httpReceiver(() => (accepting ? { status: 200 } : { status: 503 }));
    const conf = join(dir, "watch.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "fence/x",
            id: "fenced",
            once_per_cluster: true,
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: receiver.url },
            retry_initial_interval: "200ms",
            retry_max_interval: "500ms",
          },
        ],
      }),
    );
    const common = ["-etcd-prefix", `f${process.pid}/`, "-bind", "127.0.0.1", "-config-file", conf];
    cut = await startAgentProcess({
      args: [`-etcd=${proxy.url}`, "-node", "cut", "-data-dir", join(dir, "cut"), ...common],
    });
    // The cut agent takes the lock first.
    await until(
      async () =>
        ((await (await fetch(`${cut.url}/v1/agent/watches`)).json()) as WatchInfo[])[0]?.Leadership
          ?.State === "leader",
      15_000,
      "cut agent leads",
    );
    other = await startAgentProcess({
      args: [
        `-etcd=${etcd.clientUrls.join(",")}`,
        "-node",
        "other",
        "-data-dir",
        join(dir, "other"),
        ...common,
      ],
    });
  });
  after(async () => {
    await cut.stop();
    await other.stop();
    await receiver.close();
    await proxy.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const role = async (a: AgentProcess): Promise<WatchInfo["Leadership"]> =>
    ((await (await fetch(`${a.url}/v1/agent/watches`)).json()) as WatchInfo[])[0]?.Leadership;
  const valueOf = (body: Buffer): string =>
    Buffer.from((JSON.parse(body.toString()) as { Value: string }).Value, "base64").toString();

  it("fencing - a leader cut off from etcd holds its record; the new leader delivers it once", async () => {
    await until(
      async () =>
        (await role(other))?.State === "follower" && (await role(other))?.Leader === "cut",
      10_000,
      "other follows cut",
    );
    await until(
      async () =>
        ((await (await fetch(`${other.url}/v1/agent/watches`)).json()) as WatchInfo[])[0]?.Index !=
        null,
      10_000,
      "other's watch running",
    );

    // A change the leader delivers normally.
    await fetch(`${other.url}/v1/kv/fence/x`, { method: "PUT", body: "one" });
    await until(
      () => receiver.requests.some((r) => valueOf(r.body) === "one"),
      10_000,
      "first change delivered",
    );
    const leaderToken = Number(receiver.requests.at(-1)?.headers["x-augur-fencing-token"]);

    // The receiver starts refusing (503): the leader keeps retrying the next change.
    accepting = false;
    await fetch(`${other.url}/v1/kv/fence/x`, { method: "PUT", body: "two" });
    await until(
      () => receiver.requests.some((r) => valueOf(r.body) === "two"),
      10_000,
      "the leader tried the second change",
    );
    assert.equal(Number(receiver.requests.at(-1)?.headers["x-augur-fencing-token"]), leaderToken);

    // Cut the leader off from etcd, then let the receiver accept again.
    proxy.partition();
    // An attempt admitted just before the cut may still land (that is what the token is for);
    // let any such one finish, refused, before counting.
    await new Promise((r) => setTimeout(r, 1000));
    const cutAt = receiver.requests.length;
    accepting = true;
    await until(
      async () => (await role(other))?.State === "leader",
      30_000,
      "other takes the lock after the cut agent's lease lapses",
    );
    await until(
      () =>
        receiver.requests
          .slice(cutAt)
          .some(
            (r) =>
              valueOf(r.body) === "two" && Number(r.headers["x-augur-fencing-token"]) > leaderToken,
          ),
      15_000,
      "the new leader delivers the held change",
    );

    // No request after the cut carries the old leader's token: it could not re-assert its lock.
    const afterCut = receiver.requests.slice(cutAt);
    assert.ok(
      afterCut.every((r) => Number(r.headers["x-augur-fencing-token"]) > leaderToken),
      `tokens after the cut: ${afterCut.map((r) => String(r.headers["x-augur-fencing-token"])).join(",")}`,
    );

    // Heal: the old leader follows, finds "two" covered, and sends nothing more.
    proxy.heal();
    await until(
      async () => (await role(cut))?.State === "follower" && (await role(cut))?.Leader === "other",
      30_000,
      "cut agent follows after the heal",
    );
    await until(
      async () =>
        (
          (await (await fetch(`${cut.url}/v1/agent/watch/deliveries?watch=fenced`)).json()) as {
            Pending: unknown[];
          }
        ).Pending.length === 0,
      15_000,
      "old leader's record settled",
    );
    const accepted = receiver.requests
      .filter((r, i) => (i < cutAt ? valueOf(r.body) === "one" : true))
      .map((r) => valueOf(r.body));
    assert.deepEqual(accepted, ["one", "two"], "each change accepted (answered 200) exactly once");
    const report = (await (
      await fetch(`${cut.url}/v1/agent/watch/deliveries?watch=fenced`)
    ).json()) as { Recent: { LastError: string }[] };
    assert.equal(report.Recent[0]?.LastError, "delivered by other, the cluster leader");
  });
});
