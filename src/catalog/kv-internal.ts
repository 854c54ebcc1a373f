/**
 * Keys augur keeps for itself inside the KV namespace: `_augur/` holds the `once_per_cluster`
 * leadership locks and their delivery watermarks. They live in KV (not beside it) because the
 * leadership works through the Consul HTTP API, so it also works against a real Consul agent.
 *
 * A client must not be able to write them: a forged watermark marks events delivered that never
 * were, a foreign `?acquire` keeps every agent a follower, a delete hands leadership to whoever
 * is fastest — each silences a watch. So writes and deletes of these keys through the KV API and
 * `/v1/txn` are refused with Consul's `Permission denied` (403; 409 inside a txn, as Consul
 * reports ACL failures per op), reads stay open, and a recursive delete of an enclosing prefix
 * (`DELETE /v1/kv/?recurse`) removes everything but them. Only the agent's own watch engine, which
 * presents the agent's internal token, may write them.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import type { KvOp, KvVerb } from "./kv.js";

export const INTERNAL_KV_PREFIX = "_augur/";

const WRITES: ReadonlySet<KvVerb> = new Set<KvVerb>([
  "set",
  "cas",
  "lock",
  "unlock",
  "delete",
  "delete-cas",
  "delete-tree",
]);

export const isInternalKey = (key: string): boolean => key.startsWith(INTERNAL_KV_PREFIX);

/** The text of the refusal; starts with Consul's `Permission denied` so clients treat it as an ACL denial. */
export function internalKeyDenied(key: string): string {
  return `Permission denied: key ${JSON.stringify(key)} is under ${INTERNAL_KV_PREFIX}, which augur keeps for its own records (read-only through the KV API)`;
}

/**
 * True for an op a client may not run: a write inside `_augur/`, or a recursive delete of
 * `_augur/` or below. A recursive delete of an enclosing prefix is allowed: it skips the
 * internal keys instead.
 */
export function isForbiddenOp(op: KvOp): boolean {
  return WRITES.has(op.verb) && isInternalKey(op.key);
}

/** Throws PERMISSION_DENIED for the single-op KV endpoint. */
export function refuseInternalWrite(op: KvOp): void {
  if (isForbiddenOp(op)) throw new AugurError("PERMISSION_DENIED", internalKeyDenied(op.key));
}
