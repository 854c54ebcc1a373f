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
 * {@link verifyJoin} is the same idea for a running agent (`PUT /v1/agent/join/:address`).
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { formatGoDuration } from "../lib/duration.js";
import type { ClusterInfo } from "../api/routes/members.js";
import { ConsulClient } from "./consul-client.js";
import { requireOk } from "./response.js";

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
  /**
   * The token to read the other agent's `/v1/agent/self` with (`acl.tokens.agent`); without it
   * the client's environment token. Under ACLs that read needs `agent` read.
   */
  readonly token?: string;
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
export async function learnCluster(
  address: string,
  timeoutMs = 5000,
  token?: string,
): Promise<JoinedCluster> {
  const client = new ConsulClient({ address: joinAddress(address), ...(token ? { token } : {}) });
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
      return await learnCluster(address, options.timeoutMs, options.token);
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

/** This agent's side of a runtime join: where its catalog lives and, with etcd, etcd's members. */
export interface OwnCluster {
  readonly info: ClusterInfo;
  /** The etcd cluster's member IDs (in cluster mode). */
  readonly etcdMemberIds: () => Promise<readonly string[]>;
}

/** How to start an agent on `target`'s catalog, for the error texts. */
const howTo = (address: string, target: JoinedCluster): string =>
  `restart this agent with -join=${address} (or -etcd=${target.endpoints.join(",")} -etcd-prefix=${target.prefix})`;

/**
 * `PUT /v1/agent/join/:address` on a running agent (`augur join`). augur has no gossip pool to
 * join: an agent's cluster is the etcd cluster and key prefix its catalog lives in, fixed when it
 * starts (switching a running agent's store would drop every blocking query, session and watch
 * it serves). So a join succeeds when `address` is an augur agent that already shares this
 * agent's catalog — the same etcd cluster (a member ID in common, whatever endpoint URLs each
 * was given) under the same prefix — and otherwise fails with JOIN_FAILED saying how to start
 * this agent on the other agent's etcd.
 */
export async function verifyJoin(
  address: string,
  own: OwnCluster,
  timeoutMs = 5000,
  /** `acl.tokens.agent`: the other agent's `agent/self` and raft configuration need it under ACLs. */
  token?: string,
): Promise<void> {
  const fail = (why: string): AugurError =>
    new AugurError("JOIN_FAILED", `Failed to join ${address}: ${why}`);
  if (address.trim() === "") throw fail("no address given");
  let target: JoinedCluster;
  try {
    target = await learnCluster(address, timeoutMs, token);
  } catch (err) {
    throw fail(message(err));
  }
  if (own.info.Store !== "etcd" || !own.info.Etcd)
    throw fail(
      `this agent keeps its catalog in its own ${own.info.Store} store and cannot move it to that agent's etcd while running; ${howTo(address, target)}`,
    );
  if (own.info.Etcd.Prefix !== target.prefix)
    throw fail(
      `that agent's catalog is under etcd prefix "${target.prefix}", this agent's under "${own.info.Etcd.Prefix}"; ${howTo(address, target)}`,
    );
  const theirs = await etcdMemberIdsOf(address, timeoutMs, token).catch((err: unknown) => {
    throw fail(message(err));
  });
  const mine = new Set(await own.etcdMemberIds());
  if (!theirs.some((id) => mine.has(id)))
    throw fail(
      `that agent uses another etcd cluster (${target.endpoints.join(",")}); ${howTo(address, target)}`,
    );
}

/** The etcd member IDs another agent reports as its Raft servers (`operator/raft/configuration`). */
async function etcdMemberIdsOf(
  address: string,
  timeoutMs: number,
  token: string | undefined,
): Promise<string[]> {
  const client = new ConsulClient({ address: joinAddress(address), ...(token ? { token } : {}) });
  const res = requireOk(
    await client.request("GET", "/v1/operator/raft/configuration", {
      signal: AbortSignal.timeout(timeoutMs),
    }),
  );
  const body = res.json<{ Servers?: { ID?: unknown }[] | null }>();
  return (body.Servers ?? []).map((s) => String(s.ID ?? ""));
}
