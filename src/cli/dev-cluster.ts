/**
 * `augur dev-cluster -nodes N` (its spec: `commands/dev-cluster.ts`): a local cluster in one
 * command — a 3-member etcd cluster (Debian's /usr/bin/etcd) and N agents on loopback, each with
 * its own API port. Prints where everything is and stops it all on Ctrl-C.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AugurError, toAugurError } from "../lib/errors.js";
import type { Ui } from "./command.js";

const AUGUR_BIN = fileURLToPath(new URL("../../../bin/augur.js", import.meta.url));
const ETCD_BIN = process.env["AUGUR_ETCD_BIN"] ?? "/usr/bin/etcd";

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor(proc: ChildProcess, pattern: RegExp, what: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) resolve(m.slice(1));
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    // An agent that exits before it listens, in a fresh directory with an ephemeral port, points
    // at augur or the machine rather than at anything a retry would fix: not a retryable code.
    proc.once("exit", (code) =>
      reject(new AugurError("INTERNAL", `${what} exited with ${String(code)}:\n${out}`)),
    );
  });
}

/** Runs the cluster until SIGINT/SIGTERM; returns the exit status (1 when it could not start). */
export async function runDevCluster(nodes: number, ui: Ui): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "augur-dev-cluster-"));
  const procs: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // Ctrl-C in a terminal signals the whole process group, so some children may be gone already.
    const running = procs.filter((p) => p.exitCode === null && p.signalCode === null);
    const exited = running.map((p) => new Promise((r) => p.once("exit", r)));
    for (const p of running) p.kill("SIGTERM");
    await Promise.all(exited);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await Promise.all(
      [0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })),
    );
    const initial = ports.map((p, i) => `etcd${i}=http://127.0.0.1:${p.peer}`).join(",");
    for (const [i, p] of ports.entries()) {
      procs.push(
        spawn(
          ETCD_BIN,
          [
            "--name",
            `etcd${i}`,
            "--data-dir",
            join(dir, `etcd${i}`),
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
            "--log-level",
            "error",
          ],
          { stdio: "ignore" },
        ),
      );
    }
    const endpoints = ports.map((p) => `http://127.0.0.1:${p.client}`);
    for (const url of endpoints) {
      const end = Date.now() + 20_000;
      while (
        !(await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > end)
          throw new AugurError("NO_LEADER", `etcd at ${url} did not become healthy`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    ui.info(`etcd cluster: ${endpoints.join(",")}`);
    for (let i = 1; i <= nodes; i++) {
      const agent = spawn(
        process.execPath,
        [
          AUGUR_BIN,
          "agent",
          `-etcd=${endpoints.join(",")}`,
          "-node",
          `agent-${i}`,
          "-data-dir",
          join(dir, `agent-${i}`),
          "-bind",
          "127.0.0.1",
          "-http-port",
          "0",
          // Each agent its own free DNS port (8600 would clash), printed below.
          "-dns-port",
          "0",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      procs.push(agent);
      const [addr = "", dns = ""] = await waitFor(
        agent,
        /HTTP API listening on (\S+)[\s\S]*DNS listening on (\S+)/,
        `agent-${i}`,
      );
      ui.info(`agent-${i}: http://${addr}   (CONSUL_HTTP_ADDR=${addr} augur members)  dns ${dns}`);
    }
    ui.info("Ctrl-C stops everything.");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    ui.info("stopping...");
    await stopAll();
    return 0;
  } catch (err) {
    ui.error(`dev-cluster: ${toAugurError(err).message}`);
    await stopAll();
    return 1;
  }
}
