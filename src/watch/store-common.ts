/**
 * Small pieces both watch stores share.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import type { NewRecord, OutboxRecord, PendingFilter } from "./outbox.js";

export const matches = (r: OutboxRecord, f: PendingFilter): boolean =>
  (f.watchId === undefined || r.watchId === f.watchId) &&
  (f.handlerKey === undefined || r.handlerKey === f.handlerKey) &&
  (f.afterSeq === undefined || r.seq > f.afterSeq);

/** A new record as queued: its id is its queue position. */
export const pendingRecord = (r: NewRecord, seq: number): OutboxRecord => ({
  ...r,
  id: String(seq),
  seq,
  status: "pending",
  attempts: 0,
  nextAttemptAt: 0,
});

/** A dead letter made pending again: attempts reset, failure kept for the record. */
export function notDead(r: OutboxRecord): OutboxRecord {
  const { finishedAt: _f, ...rest } = r;
  return { ...rest, status: "pending", attempts: 0 };
}

export function newestFirst(list: readonly OutboxRecord[], limit: number): OutboxRecord[] {
  return list.slice(-Math.max(0, limit)).reverse();
}

export const closedError = (): AugurError =>
  new AugurError("STORE_CLOSED", "The watch outbox is closed");

/** A commit of a watch after one of its commits failed, before the watch resumed (see WatchStore.commit). */
export const failedEarlier = (watchId: string): AugurError =>
  new AugurError(
    "STORE_IO",
    `watch outbox: an earlier write of watch "${watchId}" failed; the watch resumes from its last durable state first`,
  );
