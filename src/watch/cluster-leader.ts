/**
 * `once_per_cluster`: one agent at a time delivers a watch's events, elected the way Consul users
 * elect a leader — a session tied to this node's `serfHealth` and the lock key
 * `_augur/watch-leader/<watch id>` taken with `PUT ?acquire=<session>`, all through the agent's
 * own HTTP API (so it works wherever the watch's queries work). Every agent that defines the
 * watch runs it — detection and outbox alike — and only the lock holder delivers; the others
 * keep their records on standby.
 *
 * ```
 * follower ──acquire ok──▶ leader ──fence or watermark write fails, lock lost, error──▶ follower
 * any ──stop──▶ stopped   (a leader releases the lock and destroys its session)
 * ```
 *
 * - Failover: when the leader's agent dies, its serfHealth turns critical, its session is
 *   invalidated and the lock freed (after the session's lock-delay); a follower's blocking query
 *   on the key wakes and it acquires.
 * - Fencing: before each delivery the leader re-asserts the lock (`PUT ?acquire` with its own
 *   session, a write that must pass etcd's consensus). A leader cut off from etcd, or whose
 *   session was invalidated, cannot, and holds its records. Receivers also get the lock's
 *   `LockIndex` as a fencing token (`X-Augur-Fencing-Token` / `AUGUR_FENCING_TOKEN`): it grows
 *   with every new leader, so a receiver can refuse a token lower than one it has seen.
 * - Watermark: the lock's value holds, per handler, the highest index the leader delivered and
 *   its recent event ids. A follower finishes the records the leader covered ("delivered by
 *   <node>"), so in steady state each event is delivered once, and a new leader delivers exactly
 *   what the old one had not (at least once: one delivered just before a crash may repeat, with
 *   the same Idempotency-Key when both agents saw the same result).
 *
 * @module
 */
import { AugurError, toAugurError } from "../lib/errors.js";
import { escapePath } from "../lib/url-path.js";
import type { KVPair } from "../catalog/types.js";
import { sleep, type Clock } from "./clock.js";
import type { WatchLogger } from "./logger.js";
import type { OutboxRecord } from "./outbox.js";
import type { SourceResponse, WatchSource } from "./source.js";

export const LEADER_KEY_PREFIX = "_augur/watch-leader/";
/** Recent event ids kept per handler in the watermark (event watches have no ordered index). */
const RECENT_EVENTS = 64;

export type LeadershipState = "follower" | "leader" | "stopped";

export type GateVerdict =
  | { readonly kind: "deliver"; readonly fencingToken: string }
  | { readonly kind: "covered"; readonly by: string }
  | { readonly kind: "hold" };

/** What a delivery worker asks before each attempt (see DeliveryWorker). */
export interface DeliveryGate {
  admit(record: OutboxRecord): Promise<GateVerdict>;
  delivered(record: OutboxRecord): Promise<void>;
  /** Resolves at the next leadership or watermark change (or when `signal` aborts). */
  changed(signal: AbortSignal): Promise<void>;
}

interface HandlerMark {
  Index: string;
  Events: string[];
}

/** The lock key's value. */
interface LeaderValue {
  Node: string;
  Delivered: Record<string, HandlerMark>;
}

export interface WatchLeadershipOptions {
  readonly watchId: string;
  readonly source: WatchSource;
  /** False for `event` watches, whose indexes are not ordered: only event ids count. */
  readonly indexOrdered: boolean;
  readonly clock: Clock;
  readonly logger: WatchLogger;
  /** The session's lock-delay (Consul's default is 15s; a short one fails over faster). */
  readonly lockDelay?: string;
  /** Pause after an error or a refused acquire (default 1 s). */
  readonly retryMs?: number;
  /** Blocking wait on the lock key (default 5m, Consul's maximum). */
  readonly waitMs?: number;
}

export class WatchLeadership implements DeliveryGate {
  readonly #o: WatchLeadershipOptions;
  readonly #key: string;
  readonly #abort = new AbortController();
  #state: LeadershipState = "follower";
  #node = "";
  #session: string | undefined;
  #lockIndex = 0;
  #holder = "";
  #marks: Record<string, HandlerMark> = {};
  #waiters: (() => void)[] = [];
  #writes: Promise<unknown> = Promise.resolve();
  #loop: Promise<void> | undefined;

  constructor(options: WatchLeadershipOptions) {
    this.#o = options;
    this.#key = `${LEADER_KEY_PREFIX}${options.watchId}`;
  }

  get state(): LeadershipState {
    return this.#state;
  }

  /** The node holding the lock, as last seen ("" when none). */
  get holder(): string {
    return this.#holder;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    const wasLeader = this.#state === "leader";
    this.#state = "stopped";
    this.#abort.abort();
    this.#notify();
    await this.#loop;
    await this.#writes;
    if (this.#session === undefined) return;
    // Hand over at once: release (no lock-delay on an explicit release) and drop the session.
    const signal = AbortSignal.timeout(5000);
    try {
      if (wasLeader)
        await this.#request(
          "PUT",
          `/v1/kv/${escapePath(this.#key)}`,
          { release: this.#session },
          this.#value(),
          signal,
        );
      await this.#request("PUT", `/v1/session/destroy/${this.#session}`, {}, undefined, signal);
    } catch (err) {
      this.#o.logger.warn("watch leadership: release failed", {
        watch: this.#o.watchId,
        error: toAugurError(err).message,
      });
    }
  }

  async admit(record: OutboxRecord): Promise<GateVerdict> {
    if (this.#covered(record)) return { kind: "covered", by: this.#holder || "the cluster leader" };
    if (this.#state !== "leader" || this.#session === undefined) return { kind: "hold" };
    // The fence: re-assert the lock through consensus right before delivering.
    if (!(await this.#assert())) return { kind: "hold" };
    return { kind: "deliver", fencingToken: String(this.#lockIndex) };
  }

  async delivered(record: OutboxRecord): Promise<void> {
    const mark = this.#marks[record.handlerKey] ?? { Index: "0", Events: [] };
    const index =
      this.#o.indexOrdered && BigInt(record.index) > BigInt(mark.Index) ? record.index : mark.Index;
    this.#marks = {
      ...this.#marks,
      [record.handlerKey]: {
        Index: index,
        Events: [...mark.Events, record.eventId].slice(-RECENT_EVENTS),
      },
    };
    if (this.#state === "leader") await this.#assert();
  }

  changed(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#state === "stopped") return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #covered(record: OutboxRecord): boolean {
    const mark = this.#marks[record.handlerKey];
    if (!mark) return false;
    if (mark.Events.includes(record.eventId)) return true;
    return this.#o.indexOrdered && BigInt(record.index) <= BigInt(mark.Index);
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #become(state: "follower" | "leader", holder: string): void {
    const moved = state !== this.#state || holder !== this.#holder;
    if (this.#state === "stopped") return;
    if (state !== this.#state)
      this.#o.logger.info(
        state === "leader"
          ? "watch leadership acquired: this agent delivers"
          : "watch leadership: following",
        { watch: this.#o.watchId, leader: holder || "(none)" },
      );
    this.#state = state;
    this.#holder = holder;
    if (moved) this.#notify();
  }

  #value(): string {
    const value: LeaderValue = { Node: this.#node, Delivered: this.#marks };
    return JSON.stringify(value);
  }

  /** `PUT ?acquire` with our session and the current watermark; false (and follower) when refused. */
  #assert(): Promise<boolean> {
    const run = this.#writes.then(async () => {
      if (this.#state !== "leader" || this.#session === undefined) return false;
      try {
        const res = await this.#request(
          "PUT",
          `/v1/kv/${escapePath(this.#key)}`,
          { acquire: this.#session },
          this.#value(),
        );
        if (res.status === 200 && res.json<unknown>() === true) return true;
        this.#o.logger.warn("watch leadership lost: the lock could not be re-asserted", {
          watch: this.#o.watchId,
          status: res.status,
          body: res.text().slice(0, 200),
        });
      } catch (err) {
        this.#o.logger.warn("watch leadership lost: the lock could not be re-asserted", {
          watch: this.#o.watchId,
          error: toAugurError(err).message,
        });
      }
      this.#become("follower", "");
      return false;
    });
    this.#writes = run.catch(() => undefined);
    return run;
  }

  #request(
    method: "GET" | "PUT",
    path: string,
    query: Record<string, string> = {},
    body?: string,
    signal = this.#abort.signal,
  ): Promise<SourceResponse> {
    return this.#o.source.request(method, path, {
      query,
      ...(body !== undefined ? { body } : {}),
      signal,
      timeoutMs: (this.#o.waitMs ?? 300_000) + 30_000,
    });
  }

  async #run(): Promise<void> {
    const retry = this.#o.retryMs ?? 1000;
    let index = 0;
    while (this.#state !== "stopped") {
      try {
        if (!this.#node)
          this.#node = (await this.#request("GET", "/v1/agent/self")).json<{
            Config: { NodeName: string };
          }>().Config.NodeName;
        if (this.#session === undefined) {
          const res = await this.#request(
            "PUT",
            "/v1/session/create",
            {},
            JSON.stringify({
              Name: `augur watch ${this.#o.watchId}`,
              LockDelay: this.#o.lockDelay ?? "1s",
              Behavior: "release",
            }),
          );
          if (res.status !== 200)
            throw new AugurError("REMOTE_ERROR", `session create: ${res.status} ${res.text()}`);
          this.#session = res.json<{ ID: string }>().ID;
        }
        const res = await this.#request("GET", `/v1/kv/${escapePath(this.#key)}`, {
          index: String(index),
          wait: `${Math.round((this.#o.waitMs ?? 300_000) / 1000)}s`,
        });
        if (res.status !== 200 && res.status !== 404)
          throw new AugurError("REMOTE_ERROR", `lock read: ${res.status} ${res.text()}`);
        const next = res.index ?? 0;
        index = next < index ? 0 : next;
        const pair = res.status === 404 ? undefined : res.json<KVPair[]>()[0];
        const value = parseValue(pair?.Value);
        if (value && pair?.Session !== this.#session) this.#adoptMarks(value.Delivered);
        if (pair?.Session === this.#session) {
          this.#lockIndex = pair?.LockIndex ?? this.#lockIndex;
          this.#become("leader", this.#node);
        } else if (pair?.Session) {
          this.#become("follower", value?.Node ?? "");
        } else if (!(await this.#acquire())) {
          this.#become("follower", "");
          await sleep(this.#o.clock, retry, this.#abort.signal); // lock-delay, or a race lost
          index = 0;
        }
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#o.logger.warn("watch leadership: lock loop error; will retry", {
          watch: this.#o.watchId,
          error: toAugurError(err).message,
        });
        if (this.#state === "leader") this.#become("follower", "");
        await sleep(this.#o.clock, retry, this.#abort.signal);
        index = 0;
      }
    }
  }

  /** Tries to take the free lock; an invalidated session is dropped so the next round makes one. */
  async #acquire(): Promise<boolean> {
    const session = this.#session as string;
    const res = await this.#request(
      "PUT",
      `/v1/kv/${escapePath(this.#key)}`,
      { acquire: session },
      this.#value(),
    );
    if (res.status === 200) return res.json<unknown>() === true;
    if (/invalid session/i.test(res.text())) this.#session = undefined;
    throw new AugurError("REMOTE_ERROR", `lock acquire: ${res.status} ${res.text()}`);
  }

  /** Followers take the leader's watermark; it only moves forward. */
  #adoptMarks(delivered: Record<string, HandlerMark>): void {
    let moved = false;
    const next = { ...this.#marks };
    for (const [key, mark] of Object.entries(delivered)) {
      const mine = next[key];
      if (
        mine &&
        BigInt(mine.Index) >= BigInt(mark.Index) &&
        mark.Events.every((e) => mine.Events.includes(e))
      )
        continue;
      next[key] = {
        Index: mine && BigInt(mine.Index) > BigInt(mark.Index) ? mine.Index : mark.Index,
        Events: [...new Set([...(mine?.Events ?? []), ...mark.Events])].slice(-RECENT_EVENTS),
      };
      moved = true;
    }
    this.#marks = next;
    if (moved) this.#notify();
  }
}

function parseValue(b64: string | null | undefined): LeaderValue | undefined {
  if (!b64) return undefined;
  try {
    const v = JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as Partial<LeaderValue>;
    return typeof v.Node === "string" && typeof v.Delivered === "object" && v.Delivered !== null
      ? { Node: v.Node, Delivered: v.Delivered }
      : undefined;
  } catch {
    return undefined;
  }
}
