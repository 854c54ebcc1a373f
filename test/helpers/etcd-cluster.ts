/**
 * Real etcd members (Debian's /usr/bin/etcd) on loopback for tests: free ports, a temp data
 * dir, tuned for fast elections; stopped and removed afterwards.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { freePort } from "./free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EtcdCluster {
  readonly clientUrls: string[];
  /** SIGKILLs member i (its data dir stays). */
  killMember(i: number): Promise<void>;
  /** Restarts member i on its old ports and data dir. */
  startMember(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcdCluster(
  members = 1,
  /** More flags for every member (e.g. `--quota-backend-bytes`). */
  extraArgs: readonly string[] = [],
): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), "augur-etcd-"));
  const ports = await Promise.all(
    Array.from({ length: members }, async () => ({
      client: await freePort(),
      peer: await freePort(),
    })),
  );
  const initial = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(",");
  const launch = (
    p: { client: number; peer: number },
    i: number,
    state: "new" | "existing",
  ): ChildProcess =>
    spawn(
      "/usr/bin/etcd",
      [
        "--name",
        `m${i}`,
        "--data-dir",
        join(dir, `m${i}`),
        "--listen-client-urls",
        `http://127.0.0.1:${p.client}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${p.client}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${p.peer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${p.peer}`,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        state,
        "--heartbeat-interval",
        "50",
        "--election-timeout",
        "500",
        "--log-level",
        "error",
        ...extraArgs,
      ],
      { stdio: "ignore" },
    );
  const procs: ChildProcess[] = ports.map((p, i) => launch(p, i, "new"));
  const exitOf = (p: ChildProcess): Promise<unknown> =>
    p.exitCode !== null || p.signalCode !== null
      ? Promise.resolve()
      : new Promise((r) => p.once("exit", r));
  const clientUrls = ports.map((p) => `http://127.0.0.1:${p.client}`);
  const end = Date.now() + 20_000;
  for (const url of clientUrls) {
    while (
      !(await fetch(`${url}/health`).then(
        async (r) => r.ok && ((await r.json()) as { health: string }).health === "true",
        () => false,
      ))
    ) {
      if (Date.now() > end) throw new Error(`etcd at ${url} did not become healthy`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    clientUrls,
    killMember: async (i) => {
      const p = procs[i];
      if (!p) return;
      const exited = exitOf(p);
      p.kill("SIGKILL");
      await exited;
    },
    startMember: async (i) => {
      const port = ports[i];
      if (!port) return;
      procs[i] = launch(port, i, "existing");
    },
    stop: async () => {
      await Promise.all(
        procs.map((p) => {
          const exited = exitOf(p);
          p.kill("SIGKILL");
          return exited;
        }),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
