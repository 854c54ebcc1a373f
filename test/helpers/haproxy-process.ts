/**
 * Debian's HAProxy (/usr/sbin/haproxy) in the foreground (`-db`) with its own config in a temp
 * dir, and its runtime API on a unix stats socket, to read what it made of DNS answers.
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "./daemon-process.js";

export const HAPROXY_BIN = "/usr/sbin/haproxy";

/** One server line of `show servers state <backend>`. */
export interface HaproxyServerState {
  readonly name: string;
  /** `0.0.0.0` (or `-`) while a server-template slot has no record behind it. */
  readonly addr: string;
  readonly port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping (HAProxy's SRV_ST_*). */
  readonly opState: number;
  /** HAProxy's SRV_ADMF_* bits; see SRV_ADMF_MAINT. */
  readonly adminState: number;
}

/**
 * HAProxy's mask of the maintenance bits (forced 0x01, inherited 0x02, resolution 0x20): a
 * server-template slot whose SRV record went away is in RMAINT. 0x40 (HMAINT) only says the
 * slot's FQDN came from a record.
 */
export const SRV_ADMF_MAINT = 0x23;

export interface Haproxy {
  /** One runtime API command over the stats socket; its whole answer. */
  runtime(command: string): Promise<string>;
  serversState(backend: string): Promise<HaproxyServerState[]>;
  output(): string;
  stop(): Promise<void>;
}

/** `sections`: the config after `global` (defaults, resolvers, frontends, backends). */
export async function startHaproxy(sections: string): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), "augur-haproxy-"));
  const socket = join(dir, "admin.sock");
  const cfg = join(dir, "haproxy.cfg");
  await writeFile(
    cfg,
    `global\n  stats socket ${socket} mode 600 level admin\n  nbthread 1\n\n${sections.trim()}\n`,
  );
  const runtime = (command: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const conn = createConnection(socket);
      let answer = "";
      conn.setEncoding("utf8");
      conn.on("data", (d: string) => (answer += d));
      conn.once("error", reject);
      conn.once("end", () => resolve(answer));
      conn.end(`${command}\n`);
    });
  const daemon = await startDaemon(HAPROXY_BIN, ["-f", cfg, "-db"], {
    ready: async () => (await runtime("show info")).includes("Name: HAProxy"),
  }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    runtime,
    serversState: async (backend) =>
      parseServersState(await runtime(`show servers state ${backend}`)),
    output: daemon.output,
    stop: async () => {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `show servers state`: a version line, a `# name name ...` header, one line per server. */
export function parseServersState(text: string): HaproxyServerState[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines
    .find((l) => l.startsWith("# "))
    ?.slice(2)
    .split(" ");
  if (!header) throw new Error(`no header in 'show servers state':\n${text}`);
  const col = (fields: string[], name: string): string => fields[header.indexOf(name)] ?? "";
  return lines
    .filter((l) => !l.startsWith("#") && l.includes(" "))
    .map((l) => l.split(" "))
    .map((f) => ({
      name: col(f, "srv_name"),
      addr: col(f, "srv_addr"),
      port: Number(col(f, "srv_port")),
      opState: Number(col(f, "srv_op_state")),
      adminState: Number(col(f, "srv_admin_state")),
    }));
}
