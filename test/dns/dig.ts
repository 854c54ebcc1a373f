/**
 * Runs Debian's `dig` (bind9-dnsutils) against an agent's DNS port and parses its answer: the
 * status, the header flags and each section's records. Asynchronous, so an in-process agent keeps
 * serving while dig waits.
 */
import { execFile } from "node:child_process";
import { dnsConfig, type DnsConfig } from "../../src/config/dns-config.js";
import { DnsResolver } from "../../src/dns/resolve.js";
import { DnsServer, type DnsServerLimits } from "../../src/dns/server.js";
import type { TestAgent } from "../helpers/in-process-agent.js";

export const DIG = "/usr/bin/dig";

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  raw: string;
}

/** `dig @host -p port args...` with one try and a short timeout; TCP with `+tcp` in args. */
export function dig(port: number, args: readonly string[], host = "127.0.0.1"): Promise<DigResult> {
  const argv = [
    `@${host}`,
    "-p",
    String(port),
    "+noall",
    "+comments",
    "+answer",
    "+authority",
    "+additional",
    "+tries=1",
    "+time=5",
    ...args,
  ];
  return new Promise((resolve, reject) => {
    execFile(DIG, argv, { timeout: 20_000 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve(parseDig(stdout));
    });
  });
}

export function parseDig(out: string): DigResult {
  const result: DigResult = {
    status: "",
    flags: [],
    answer: [],
    authority: [],
    additional: [],
    raw: out,
  };
  let section: "answer" | "authority" | "additional" | undefined;
  for (const line of out.split("\n")) {
    const status = /status: (\w+)/.exec(line);
    if (status?.[1]) result.status = status[1];
    const flags = /^;; flags: ([^;]*);/.exec(line);
    if (flags?.[1]) result.flags = flags[1].trim().split(/\s+/);
    if (line.startsWith(";; ANSWER SECTION")) section = "answer";
    else if (line.startsWith(";; AUTHORITY SECTION")) section = "authority";
    else if (line.startsWith(";; ADDITIONAL SECTION")) section = "additional";
    else if (line.trim() === "" || line.startsWith(";")) continue;
    else if (section) {
      const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
      if (m)
        result[section].push({
          name: m[1] ?? "",
          ttl: Number(m[2]),
          type: m[3] ?? "",
          data: m[4] ?? "",
        });
    }
  }
  return result;
}

/** Consul's DNS defaults (as an empty configuration gives), listening on 127.0.0.1:0. */
export function dnsSettings(over: Partial<DnsConfig> = {}): DnsConfig {
  return {
    ...dnsConfig({ notices: [], get: () => undefined }, { recursor: [] }),
    addresses: [{ host: "127.0.0.1", port: 0 }],
    ...over,
  };
}

/** A DNS server of its own (settings, limits) over a running test agent's catalog. */
export async function startDns(
  a: TestAgent,
  cfg: DnsConfig,
  limits: DnsServerLimits = {},
): Promise<{ server: DnsServer; port: number }> {
  const server = new DnsServer({
    resolver: new DnsResolver({
      catalog: a.running.catalog,
      config: cfg,
      datacenter: "dc1",
      nodeName: "node1",
    }),
    config: cfg,
    limits,
  });
  const [addr] = await server.listen([{ host: "127.0.0.1", port: 0 }]);
  return { server, port: addr?.port ?? 0 };
}
