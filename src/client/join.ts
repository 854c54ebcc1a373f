/**
 * Consul's `start_join` / `retry_join`, augur style. augur has no gossip to join: an agent without
 * etcd endpoints of its own asks another agent's HTTP API (`GET /v1/agent/self`, its `Cluster`
 * object) which etcd cluster and key prefix it uses, and then opens that etcd like any member.
 *
 * - `start_join`: every address once, in order; none answering stops the agent (Consul refuses to
 *   start when a start_join fails).
 * - `retry_join`: every address in order, then again after `retry_interval`, until one answers or
 *   `retry_max` rounds have failed (0: forever), as Consul's retry-join loop.
 *
 * An address is `host`, `host:port` or a URL; the port defaults to 8500, the HTTP API's.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { formatGoDuration } from "../lib/duration.js";
import type { ClusterInfo } from "../api/routes/members.js";
import { ConsulClient } from "./consul-client.js";

export interface JoinedCluster {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** The address that answered. */
  readonly via: string;
}

export interface JoinOptions {
  readonly startJoin: readonly string[];
  readonly retryJoin: readonly string[];
  readonly retryIntervalMs: number;
  /** Rounds of `retryJoin` before giving up; 0 retries forever. */
  readonly retryMax: number;
  readonly log: (level: "info" | "warn" | "error", msg: string) => void;
  /** Per-request timeout (default 5 s). */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** `host[:port]` (port 8500 by default) or a URL, as a client address. */
export function joinAddress(address: string): string {
  const text = address.trim();
  if (/^https?:\/\//i.test(text)) return text;
  if (/^\[[^\]]+\]$/.test(text) || !text.includes(":")) return `${text}:8500`;
  if ((text.match(/:/g) ?? []).length > 1) return `[${text}]:8500`; // a bare IPv6 address
  return text;
}

/** Asks one agent for its etcd endpoints and prefix. */
export async function learnCluster(address: string, timeoutMs = 5000): Promise<JoinedCluster> {
  const client = new ConsulClient({ address: joinAddress(address) });
  const self = await client.agentSelf({ signal: AbortSignal.timeout(timeoutMs) });
  const cluster = self["Cluster"] as ClusterInfo | undefined;
  if (!cluster)
    throw new AugurError(
      "JOIN_FAILED",
      `${address} is not an augur agent (its /v1/agent/self has no Cluster)`,
    );
  if (!cluster.Etcd || cluster.Etcd.Endpoints.length === 0)
    throw new AugurError(
      "JOIN_FAILED",
      `${address} is not in cluster mode (its store is ${cluster.Store}); start it with etcd endpoints`,
    );
  return { endpoints: [...cluster.Etcd.Endpoints], prefix: cluster.Etcd.Prefix, via: address };
}

const message = (err: unknown): string => {
  if (err instanceof Error && err.cause instanceof Error)
    return `${err.message}: ${err.cause.message}`;
  return err instanceof Error ? err.message : String(err);
};

async function tryEach(
  addresses: readonly string[],
  options: JoinOptions,
): Promise<JoinedCluster | Error> {
  const errors: string[] = [];
  for (const address of addresses) {
    try {
      return await learnCluster(address, options.timeoutMs);
    } catch (err) {
      errors.push(`Failed to join ${address}: ${message(err)}`);
    }
  }
  return new AugurError("JOIN_FAILED", errors.join("; "));
}

/**
 * Runs start_join, then retry_join; resolves with the cluster learned, or undefined when no
 * address is configured. Rejects with JOIN_FAILED when start_join fails or retries run out.
 */
export async function joinCluster(options: JoinOptions): Promise<JoinedCluster | undefined> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const log = options.log;
  if (options.startJoin.length > 0) {
    log("info", `(LAN) joining: lan_addresses=[${options.startJoin.join(" ")}]`);
    const got = await tryEach(options.startJoin, options);
    if (!(got instanceof Error)) {
      log(
        "info",
        `(LAN) joined: via=${got.via} etcd=${got.endpoints.join(",")} prefix=${got.prefix}`,
      );
      return got;
    }
    if (options.retryJoin.length === 0) throw got;
    log("warn", `(LAN) couldn't join: ${got.message}`);
  }
  if (options.retryJoin.length === 0) return undefined;
  log("info", "Joining cluster...: cluster=LAN");
  for (let attempt = 1; ; attempt++) {
    log("info", `(LAN) joining: lan_addresses=[${options.retryJoin.join(" ")}]`);
    const got = await tryEach(options.retryJoin, options);
    if (!(got instanceof Error)) {
      log(
        "info",
        `Join cluster completed. Synced with initial agents: cluster=LAN via=${got.via} etcd=${got.endpoints.join(",")} prefix=${got.prefix}`,
      );
      return got;
    }
    if (options.retryMax > 0 && attempt >= options.retryMax) {
      log("error", "max join retry exhausted, exiting: cluster=LAN");
      throw new AugurError("JOIN_FAILED", `max join retry exhausted: ${got.message}`);
    }
    log(
      "warn",
      `Join cluster failed, will retry: cluster=LAN retry_interval=${formatGoDuration(options.retryIntervalMs)} error="${got.message}"`,
    );
    await sleep(options.retryIntervalMs);
  }
}
