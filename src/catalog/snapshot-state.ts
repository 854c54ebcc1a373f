/**
 * `state.bin`, augur's own encoding of the store inside a snapshot archive: a header line, then
 * one JSON line per key in key order. Consul's state.bin (msgpack records of its FSM) and this one
 * cannot stand in for each other: the decoder refuses anything that does not start with augur's
 * header, and Consul refuses this.
 *
 * ```
 * {"Format":"augur-state","Version":1,"Revision":42,"Keys":2}
 * {"Key":"kv/a","Value":"aGk="}
 * {"Key":"sessions/…","Value":"…","Lease":"7","LeaseTTL":30}
 * ```
 *
 * A key that rode on a store lease keeps the lease's id (only to group keys that shared one) and
 * TTL: a restore grants a fresh lease per id, as Consul restarts its session TTL timers.
 *
 * @module
 */
import { snapshotError } from "./snapshot-archive.js";
import { FAILED_PREFIX, PREFIX } from "./records.js";

export const STATE_FORMAT = "augur-state";
export const STATE_VERSION = 1;

/**
 * Keys a snapshot neither saves nor restores: cluster membership and liveness (Serf's in Consul,
 * which no snapshot holds either). They ride on the running agents' own leases, which a snapshot
 * could not bring back; a restore leaves them as they are.
 */
export const MEMBERSHIP_PREFIXES: readonly string[] = [PREFIX.agents, PREFIX.alive, FAILED_PREFIX];

export const inSnapshotScope = (key: string): boolean =>
  !MEMBERSHIP_PREFIXES.some((p) => key.startsWith(p));

/**
 * The most keys a state may hold. Each decoded key costs a few hundred bytes while a restore is
 * planned, so this bounds a restore's memory (about 1 GiB at the limit) whatever the archive;
 * it is twice the 1,000,000 keys the store is benchmarked with.
 */
export const SNAPSHOT_MAX_KEYS = 2_000_000;

/** The longest lease a state may ask for: a session's 24 h maximum TTL, twice. */
const MAX_LEASE_TTL_SECONDS = 2 * 24 * 3600;
/**
 * The longest line a state may have: a 512 KiB KV value, base64 in its record and again in the
 * line, is under 1 MiB. Bounds what one JSON.parse holds the event loop for.
 */
const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** Lines decoded between two yields to the event loop. */
const LINES_PER_TURN = 2000;

/** One key as a snapshot keeps it. */
export interface StateEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** The lease the key rode on when saved: its id then (to group keys) and its TTL. */
  readonly lease?: { readonly id: string; readonly ttlSeconds: number };
}

export interface DecodedState {
  /** The store revision the state was read at. */
  readonly revision: number;
  readonly entries: readonly StateEntry[];
  /** Each entry's encoded size in bytes (its line), for `snapshot inspect`. */
  readonly sizes: readonly number[];
}

interface StateLine {
  Key: string;
  Value: string;
  Lease?: string;
  LeaseTTL?: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Encodes a state; yields to the event loop between slices so a large store stalls nothing. */
export async function encodeState(
  revision: number,
  entries: readonly StateEntry[],
): Promise<Buffer> {
  const header = { Format: STATE_FORMAT, Version: STATE_VERSION, Revision: revision };
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify({ ...header, Keys: entries.length })}\n`)];
  let n = 0;
  for (const e of entries) {
    const line: StateLine = { Key: e.key, Value: Buffer.from(e.value).toString("base64") };
    if (e.lease) {
      line.Lease = e.lease.id;
      line.LeaseTTL = e.lease.ttlSeconds;
    }
    parts.push(Buffer.from(`${JSON.stringify(line)}\n`));
    if (++n % LINES_PER_TURN === 0) await yieldToEventLoop();
  }
  return Buffer.concat(parts);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes and checks a state: augur's header (else the archive is foreign, a Consul snapshot
 * most likely), then every line well-formed, keys strictly increasing (no key twice) and inside
 * the snapshot's scope, lease ids and TTLs sane, and as many keys as the header says. Throws a
 * 500 `BAD_REQUEST` naming the first problem; nothing is changed by a state that fails here.
 */
export async function decodeState(bytes: Uint8Array): Promise<DecodedState> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const firstEnd = buf.indexOf(0x0a);
  const header = firstEnd > 0 && firstEnd < 4096 ? parseJson(buf.subarray(0, firstEnd)) : undefined;
  if (!isHeader(header))
    throw snapshotError(
      "failed to restore snapshot: state.bin is not an augur state (a Consul snapshot, or another program's, cannot be restored into augur)",
    );
  if (header.Version !== STATE_VERSION)
    throw snapshotError(
      `failed to restore snapshot: unsupported augur state version ${header.Version} (this agent reads version ${STATE_VERSION})`,
    );
  if (header.Keys > SNAPSHOT_MAX_KEYS)
    throw snapshotError(
      `failed to restore snapshot: the state holds ${header.Keys} keys, more than the ${SNAPSHOT_MAX_KEYS} a snapshot may hold`,
    );
  const entries: StateEntry[] = [];
  const sizes: number[] = [];
  let at = firstEnd + 1;
  let previous = "";
  while (at < buf.length) {
    if (entries.length === header.Keys)
      throw corrupt(`the header says ${header.Keys} keys, the state holds more`);
    const end = buf.indexOf(0x0a, at);
    const lineEnd = end < 0 ? buf.length : end;
    if (lineEnd - at > MAX_LINE_BYTES)
      throw corrupt(`line ${entries.length + 2} is longer than ${MAX_LINE_BYTES} bytes`);
    const entry = checkLine(parseJson(buf.subarray(at, lineEnd)), entries.length + 2, previous);
    entries.push(entry);
    sizes.push(lineEnd + 1 - at);
    previous = entry.key;
    at = lineEnd + 1;
    if (entries.length % LINES_PER_TURN === 0) await yieldToEventLoop();
  }
  if (entries.length !== header.Keys)
    throw corrupt(`the header says ${header.Keys} keys, the state holds ${entries.length}`);
  return { revision: header.Revision, entries, sizes };
}

const corrupt = (why: string): Error =>
  snapshotError(`failed to restore snapshot: corrupt augur state: ${why}`);

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

function isHeader(
  value: unknown,
): value is { Format: string; Version: number; Revision: number; Keys: number } {
  if (typeof value !== "object" || value === null) return false;
  const h = value as Record<string, unknown>;
  return (
    h["Format"] === STATE_FORMAT &&
    Number.isSafeInteger(h["Version"]) &&
    Number.isSafeInteger(h["Revision"]) &&
    Number.isSafeInteger(h["Keys"]) &&
    (h["Keys"] as number) >= 0
  );
}

function checkLine(value: unknown, lineNo: number, previous: string): StateEntry {
  const bad = (why: string): Error => corrupt(`line ${lineNo}: ${why}`);
  if (typeof value !== "object" || value === null) throw bad("not a JSON object");
  const line = value as Partial<Record<keyof StateLine, unknown>>;
  const { Key: key, Value: text, Lease: lease, LeaseTTL: ttl } = line;
  if (typeof key !== "string" || key === "") throw bad("no Key");
  if (key <= previous) throw bad(`key ${JSON.stringify(key)} is out of order or repeated`);
  if (!inSnapshotScope(key))
    throw bad(`key ${JSON.stringify(key)} is cluster membership, which snapshots do not hold`);
  if (typeof text !== "string" || text.length % 4 !== 0 || !BASE64.test(text))
    throw bad(`the value of ${JSON.stringify(key)} is not base64`);
  const entry = { key, value: new Uint8Array(Buffer.from(text, "base64")) };
  if (lease === undefined && ttl === undefined) return entry;
  // Only sessions ride on leases: a lease anywhere else would be granted for nothing.
  if (!key.startsWith(PREFIX.sessions))
    throw bad(`${JSON.stringify(key)} is not a session but names a lease`);
  if (typeof lease !== "string" || !/^[1-9]\d{0,19}$/.test(lease))
    throw bad(`bad lease id for ${JSON.stringify(key)}`);
  if (!Number.isSafeInteger(ttl) || (ttl as number) < 1 || (ttl as number) > MAX_LEASE_TTL_SECONDS)
    throw bad(`bad LeaseTTL for ${JSON.stringify(key)}`);
  return { ...entry, lease: { id: lease, ttlSeconds: ttl as number } };
}
