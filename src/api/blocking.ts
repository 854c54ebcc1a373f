/**
 * Blocking queries: Consul's long-poll. With `?index=N` (N > 0) the request parks until the
 * query's own scope index passes N or `wait` (plus up to wait/16 jitter) ends; without it, `wait`
 * is ignored. Parking costs a waiter on one scope, so an unrelated change wakes nothing.
 *
 * @module
 */
import type { Indexed } from "../catalog/types.js";
import type { WaitSignal } from "../catalog/scopes.js";
import type { HandlerContext } from "./router.js";
import type { ApiRequest } from "./request.js";
import type { QueryMeta } from "./response.js";
import { badRequest, AugurError } from "../lib/errors.js";

/** What a blocking query needs from the catalog: a scope's waiter. */
export interface ScopeWaiter<S> {
  wait(scope: S, afterIndex: number, signal: WaitSignal): Promise<void>;
  /** The scope's current index: the revision of the last change that touched it. */
  scopeIndex(scope: S): number;
  /**
   * Resolves once the local view has applied every write the store had acknowledged when it was
   * called (one store round trip). A `?consistent` read waits for it, so it never answers an
   * index below one another agent of the cluster has already answered.
   */
  catchUp?(): Promise<void>;
}

/** A read's value and the meta headers for it. */
export interface BlockingAnswer<T> {
  readonly value: T;
  readonly meta: QueryMeta;
}

/**
 * Reads once; if the request asked to block and the result's index has not passed the requested
 * one, parks on `scope` and reads again on each wake until it has or the wait is over. Returns
 * the last read and the meta headers for it — synchronously when nothing had to wait (most
 * reads), so a plain GET takes no promise.
 */
export function blockingRead<S, T>(
  req: ApiRequest,
  ctx: HandlerContext,
  waiter: ScopeWaiter<S>,
  scope: S,
  read: () => Indexed<T>,
): BlockingAnswer<T> | Promise<BlockingAnswer<T>> {
  const consistency = readConsistency(req);
  const { minIndex, waitMs } = req.blocking();
  if (consistency === "consistent" && waiter.catchUp) {
    return waiter
      .catchUp()
      .then(() => readOrPark(ctx, waiter, scope, read, consistency, minIndex, waitMs));
  }
  return readOrPark(ctx, waiter, scope, read, consistency, minIndex, waitMs);
}

function readOrPark<S, T>(
  ctx: HandlerContext,
  waiter: ScopeWaiter<S>,
  scope: S,
  read: () => Indexed<T>,
  consistency: QueryMeta["consistency"],
  minIndex: number,
  waitMs: number,
): BlockingAnswer<T> | Promise<BlockingAnswer<T>> {
  const result = read();
  if (minIndex > 0 && result.index <= minIndex)
    return park(ctx, waiter, scope, read, result, consistency, minIndex, waitMs);
  return { value: result.value, meta: { index: result.index, consistency } };
}

async function park<S, T>(
  ctx: HandlerContext,
  waiter: ScopeWaiter<S>,
  scope: S,
  read: () => Indexed<T>,
  first: Indexed<T>,
  consistency: QueryMeta["consistency"],
  minIndex: number,
  waitMs: number,
): Promise<BlockingAnswer<T>> {
  // Consul adds up to wait/16 of random jitter so a crowd of watchers does not return at once.
  const deadline = ctx.deadline(waitMs + Math.random() * (waitMs / 16));
  // A scope can be ahead of what the read reports (a view loaded from a snapshot marks every
  // scope with the snapshot's revision while a key keeps its ModifyIndex). Each further wait
  // is for a change newer than the scope's index, so such a gap parks instead of spinning.
  let after = minIndex;
  let result = first;
  while (result.index <= minIndex && !deadline.aborted) {
    await waiter.wait(scope, after, deadline);
    result = read();
    after = Math.max(after, waiter.scopeIndex(scope));
  }
  return { value: result.value, meta: { index: result.index, consistency } };
}

/** `?stale` / `?consistent`, and the `dc`, `ns` and `partition` parameters every read takes. */
export function readConsistency(req: ApiRequest): QueryMeta["consistency"] {
  const stale = req.flag("stale");
  const consistent = req.flag("consistent");
  if (stale && consistent)
    throw badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.");
  return stale ? "stale" : consistent ? "consistent" : "leader";
}

/** Rejects a `dc` other than ours (500 as in Consul) and Enterprise-only namespaces/partitions. */
export function checkScopeParams(req: ApiRequest, datacenter: string): void {
  const dc = req.param("dc");
  if (dc !== undefined && dc !== "" && dc !== datacenter) {
    throw new AugurError("UNKNOWN_DATACENTER", "No path to datacenter");
  }
  for (const name of ["ns", "partition"]) {
    const v = req.param(name);
    if (v !== undefined && v !== "" && v !== "default") {
      throw badRequest(
        `${name === "ns" ? "Namespaces" : "Admin Partitions"} are a Consul Enterprise feature`,
      );
    }
  }
}
