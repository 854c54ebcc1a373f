/**
 * `augur dev-cluster --nodes N`: a local cluster in one command — a 3-member etcd cluster
 * (Debian's /usr/bin/etcd) and N agents on loopback, each with its own API port. Prints where
 * everything is and stops it all on Ctrl-C.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const AUGUR_BIN = fileURLToPath(new URL("../../../bin/augur.js", import.meta.url));
const ETCD_BIN = process.env["AUGUR_ETCD_BIN"] ?? "/usr/bin/etcd";

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function parseNodes(args: readonly string[]): number | string {
  let nodes = 3;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^--?nodes(?:=(.*))?$/.exec(a);
    if (!m) return `unknown argument ${a}\nUsage: augur dev-cluster [--nodes N]`;
    const v = m[1] ?? args[++i];
    nodes = Number(v);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50) return `--nodes must be a whole number from 1 to 50, got ${String(v)}`;
  }
  return nodes;
}

async function waitFor(proc: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) resolve(m[1] ?? "");
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`${what} exited with ${String(code)}:\n${out}`)));
  });
}

export async function runDevCluster(args: readonly string[], out: { stdout(s: string): void; stderr(s: string): void }): Promise<number> {
  const nodes = parseNodes(args);
  if (typeof nodes === "string") {
    out.stderr(`${nodes}\n`);
    return 1;
  }
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
    const ports = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })));
    const initial = ports.map((p, i) => `etcd${i}=http://127.0.0.1:${p.peer}`).join(",");
    for (const [i, p] of ports.entries()) {
      procs.push(spawn(ETCD_BIN, ["--name", `etcd${i}`, "--data-dir", join(dir, `etcd${i}`), "--listen-client-urls", `http://127.0.0.1:${p.client}`, "--advertise-client-urls", `http://127.0.0.1:${p.client}`, "--listen-peer-urls", `http://127.0.0.1:${p.peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${p.peer}`, "--initial-cluster", initial, "--log-level", "error"], { stdio: "ignore" }));
    }
    const endpoints = ports.map((p) => `http://127.0.0.1:${p.client}`);
    for (const url of endpoints) {
      const end = Date.now() + 20_000;
      while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
        if (Date.now() > end) throw new Error(`etcd at ${url} did not become healthy`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    out.stdout(`etcd cluster: ${endpoints.join(",")}\n`);
    for (let i = 1; i <= nodes; i++) {
      const agent = spawn(process.execPath, [AUGUR_BIN, "agent", `-etcd=${endpoints.join(",")}`, "-node", `agent-${i}`, "-data-dir", join(dir, `agent-${i}`), "-bind", "127.0.0.1", "-http-port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
      procs.push(agent);
      const addr = await waitFor(agent, /HTTP API listening on (\S+)/, `agent-${i}`);
      out.stdout(`agent-${i}: http://${addr}   (CONSUL_HTTP_ADDR=${addr} augur members)\n`);
    }
    out.stdout("Ctrl-C stops everything.\n");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    out.stdout("stopping...\n");
    await stopAll();
    return 0;
  } catch (err) {
    out.stderr(`dev-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    return 1;
  }
}
