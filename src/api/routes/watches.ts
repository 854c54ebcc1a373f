/**
 * augur's watch API (not in Consul):
 *
 * - `GET /v1/agent/watches`: the running watches, their index, errors and queue depths.
 * - `GET /v1/agent/watch/deliveries?watch=<id>&limit=<n>&body`: pending records, recent
 *   deliveries and dead letters, newest first (`body` includes the payloads).
 * - `GET /v1/agent/watch/events?watch=<id>`: what each watch detected lately (its last 32 events,
 *   newest first, with each change's entity, kind and transition), whatever its handlers' payloads.
 * - `PUT /v1/agent/watch/replay/<id>`: re-queue one dead letter; `PUT /v1/agent/watch/replay?all-dead`:
 *   every dead letter whose handler is still configured. Answers `{"Replayed": [...]}`.
 *
 * The three reads are blocking queries, as Consul's: each answer carries `X-Consul-Index`, the
 * watch engine's change index (it moves on every detected event, delivery outcome, dead letter,
 * replay, reload and query error; it starts at 1 with the agent), and `?index=N&wait=D` parks
 * until it passes N or the wait ends.
 *
 * @module
 */
import { badRequest } from "../../lib/errors.js";
import type { OutboxRecord } from "../../watch/outbox.js";
import type { WatchManager } from "../../watch/manager.js";
import type { WatchStatus } from "../../watch/watch-runner.js";
import type { ApiRequest } from "../request.js";
import type { HandlerContext } from "../router.js";
import { json, type ApiResult } from "../response.js";
import { route, type Route } from "../router.js";
import { guard, type AclCheck } from "../acl-filter.js";

const iso = (ms: number | undefined): string | null =>
  ms === undefined || ms === 0 ? null : new Date(ms).toISOString();

/** A record as the API shows it (Consul-style field names). */
export function deliveryJson(r: OutboxRecord, withBody: boolean): Record<string, unknown> {
  return {
    ID: r.id,
    EventID: r.eventId,
    Watch: r.watchId,
    Handler: r.handlerKey,
    Status: r.status,
    Index: r.index,
    CreatedAt: iso(r.createdAt),
    Attempts: r.attempts,
    NextAttemptAt: r.status === "pending" ? iso(r.nextAttemptAt) : null,
    FinishedAt: iso(r.finishedAt),
    LastError: r.lastError ?? "",
    Replays: r.replays ?? 0,
    ...(withBody ? { Body: r.body } : {}),
  };
}

/** A watch's status as the API shows it (Consul-style field names, like the deliveries). */
export function watchJson(w: WatchStatus): Record<string, unknown> {
  return {
    ID: w.id,
    Type: w.type,
    State: w.state,
    Index: w.index ?? null,
    Failures: w.failures,
    LastError: w.lastError ?? "",
    Events: w.events,
    Handlers: w.handlers.map((h) => ({
      Key: h.key,
      Kind: h.kind,
      Target: h.target,
      State: h.state,
      Depth: h.depth,
    })),
    ...(w.leadership
      ? { Leadership: { State: w.leadership.state, Leader: w.leadership.leader } }
      : {}),
  };
}

export function watchRoutes(manager: WatchManager, nodeName = ""): Route[] {
  // Watch definitions carry handler commands, URLs and tokens: `agent` read to see them,
  // `agent` write to make the agent run handlers again.
  const read: AclCheck = (a) => a.require("agent", nodeName, "read");
  const write: AclCheck = (a) => a.require("agent", nodeName, "write");
  const shared = new SharedDeliveries();
  return [
    guard(
      route("/v1/agent/watches", {
        GET: (req, ctx) => blocking(req, ctx, manager, () => manager.watches().map(watchJson)),
      }),
      read,
    ),
    guard(
      route("/v1/agent/watch/deliveries", {
        GET: (req, ctx) => blocking(req, ctx, manager, deliveries(manager, shared, req)),
      }),
      read,
    ),
    guard(
      route("/v1/agent/watch/events", {
        GET: (req, ctx) => blocking(req, ctx, manager, recentEvents(manager, req)),
      }),
      read,
    ),
    guard(route("/v1/agent/watch/replay", { PUT: (req) => replay(manager, req, "") }), write),
    guard(
      route("/v1/agent/watch/replay/", { PUT: (req) => replay(manager, req, req.rest) }),
      write,
    ),
  ];
}

/**
 * Parks while the engine's change index has not passed `?index` (and the wait lasts), then reads.
 * The index is taken before the read, so the answer shows at least what that index stands for.
 */
async function blocking(
  req: ApiRequest,
  ctx: HandlerContext,
  manager: WatchManager,
  read: (index: number) => unknown,
): Promise<ApiResult> {
  const { minIndex, waitMs } = req.blocking();
  const changes = manager.changes;
  if (minIndex > 0 && changes.index <= minIndex) {
    // Consul's jitter: up to wait/16 more, so a crowd of watchers does not return at once.
    const deadline = ctx.deadline(waitMs + Math.random() * (waitMs / 16));
    while (changes.index <= minIndex && !deadline.aborted) await changes.wait(minIndex, deadline);
  }
  const index = changes.index;
  return json(await read(index), { index });
}

/** Reads the parameters now (a bad one answers 400 before parking); the read runs later. */
function recentEvents(manager: WatchManager, req: ApiRequest): () => unknown {
  const watch = req.param("watch");
  return () => recentEventsJson(manager, watch);
}

function recentEventsJson(manager: WatchManager, watch: string | undefined): unknown {
  const all = manager
    .recentEvents(watch || undefined)
    .flatMap((w) => w.events.map((e) => ({ watchId: w.watchId, e })))
    .sort((a, b) => b.e.detectedAt - a.e.detectedAt);
  return all.map(({ watchId, e }) => ({
    Watch: watchId,
    EventID: e.id,
    Index: e.index,
    DetectedAt: iso(e.detectedAt),
    Changes: e.changes.map((c) => ({ Entity: c.entity, Kind: c.kind, Transition: c.transition })),
    ChangesOmitted: e.omitted,
  }));
}

/** The most records `?limit` takes per list (the dead letters keep at most this many). */
export const DELIVERIES_LIMIT_MAX = 10_000;

/** The limits shared reads are made for (the default, then ten times more, up to the most). */
const SHARED_SIZES = [100, 1000, DELIVERIES_LIMIT_MAX];
/** Distinct (watch, body) answers kept at one change index. */
const SHARED_KEYS_MAX = 64;

interface DeliveriesJson {
  readonly Store: string;
  readonly Pending: unknown[];
  readonly Recent: unknown[];
  readonly Dead: unknown[];
}

/**
 * The blocking deliveries answers at the current change index, one per `watch` and `body`, read
 * for the largest `limit` asked so far: the readers a change wakes (the UI of every open browser,
 * or a client parking hundreds of reads) share one read of the outbox — up to 30,000 records
 * with `?limit=10000` — instead of each making its own, whatever limits they ask for.
 */
class SharedDeliveries {
  #index = -1;
  readonly #answers = new Map<string, { limit: number; answer: Promise<DeliveriesJson> }>();

  read(
    index: number,
    key: string,
    limit: number,
    compute: (limit: number) => Promise<DeliveriesJson>,
  ): Promise<DeliveriesJson> {
    if (index !== this.#index) {
      this.#answers.clear();
      this.#index = index;
    }
    const kept = this.#answers.get(key);
    if (kept !== undefined && kept.limit >= limit)
      return kept.answer.then((a) => (kept.limit === limit ? a : cut(a, limit)));
    // Read for the next size up, so readers with growing limits cost at most three reads.
    const size = SHARED_SIZES.find((n) => n >= limit) ?? limit;
    const answer = compute(size);
    const entry = { limit: size, answer };
    // Bounded: past SHARED_KEYS_MAX answers at one index, further ones are read but not kept.
    if (this.#answers.size < SHARED_KEYS_MAX || this.#answers.has(key)) {
      this.#answers.set(key, entry);
      answer.catch(() => {
        if (this.#answers.get(key) === entry) this.#answers.delete(key);
      });
    }
    return size === limit ? answer : answer.then((a) => cut(a, limit));
  }
}

/** The same answer for a smaller limit: every list is in answer order, so its first `limit`. */
const cut = (a: DeliveriesJson, limit: number): DeliveriesJson => ({
  Store: a.Store,
  Pending: a.Pending.slice(0, limit),
  Recent: a.Recent.slice(0, limit),
  Dead: a.Dead.slice(0, limit),
});

function deliveries(
  manager: WatchManager,
  shared: SharedDeliveries,
  req: ApiRequest,
): (index: number) => Promise<unknown> {
  const limit = Math.min(
    req.uint("limit", "Invalid value for ?limit") ?? 100,
    DELIVERIES_LIMIT_MAX,
  );
  const watch = req.param("watch") || undefined;
  const body = req.flag("body");
  const read = async (n: number): Promise<DeliveriesJson> => {
    const report = await manager.deliveries({ limit: n, ...(watch ? { watch } : {}) });
    return {
      Store: report.store,
      Pending: report.pending.map((r) => deliveryJson(r, body)),
      Recent: report.recent.map((r) => deliveryJson(r, body)),
      Dead: report.dead.map((r) => deliveryJson(r, body)),
    };
  };
  // A plain read reads afresh; blocking reads (the ones a change wakes together) share.
  if (req.blocking().minIndex === 0) return () => read(limit);
  return (index) => shared.read(index, JSON.stringify([watch ?? null, body]), limit, read);
}

async function replay(manager: WatchManager, req: ApiRequest, id: string): Promise<ApiResult> {
  const allDead = req.flag("all-dead");
  if (id === "" && !allDead) throw badRequest("Missing delivery ID (or ?all-dead)");
  if (id !== "" && allDead) throw badRequest("Cannot specify a delivery ID with ?all-dead");
  const replayed = await manager.replay(allDead ? { allDead: true } : id);
  return json({ Replayed: replayed.map((r) => deliveryJson(r, false)) });
}
