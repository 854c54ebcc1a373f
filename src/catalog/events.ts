/**
 * User events (Consul agent/user_event.go, event_endpoint.go). Consul gossips events and each
 * agent keeps the last 256; augur stores them (so every agent sees every event) and trims to 256.
 * The `/event/list` index is the last event's UUID folded to 64 bits, as Consul computes it.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";
import type { UserEvent } from "./types.js";
import { PREFIX, encodeRecord, type EventRecord } from "./records.js";
import type { CatalogView } from "./view.js";

export const EVENT_BUFFER_SIZE = 256;

export interface FireRequest {
  name: string;
  payload: Uint8Array | null;
  nodeFilter?: string;
  serviceFilter?: string;
  tagFilter?: string;
}

/** Events oldest first (keys sort by time of firing). */
export function listEvents(view: CatalogView): UserEvent[] {
  return [...view.events.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => s.value);
}

/** Consul's uuidToUint64: XOR of the UUID's two 64-bit halves (hex without dashes). */
export function eventIndex(events: readonly UserEvent[]): bigint {
  const last = events[events.length - 1];
  if (!last) return 1n;
  const id = last.ID;
  const high = BigInt(`0x${id.slice(0, 8)}${id.slice(9, 13)}${id.slice(14, 18)}`);
  const low = BigInt(`0x${id.slice(19, 23)}${id.slice(24, 36)}`);
  return high ^ low;
}

export async function fireEvent(
  store: Store,
  view: CatalogView,
  req: FireRequest,
): Promise<UserEvent> {
  const existing = listEvents(view);
  const lastLTime = existing[existing.length - 1]?.LTime ?? 0;
  const event: EventRecord = {
    ID: randomUUID(),
    Name: req.name,
    Payload:
      req.payload && req.payload.length > 0 ? Buffer.from(req.payload).toString("base64") : null,
    NodeFilter: req.nodeFilter ?? "",
    ServiceFilter: req.serviceFilter ?? "",
    TagFilter: req.tagFilter ?? "",
    Version: 1,
    LTime: lastLTime + 1,
  };
  const key = `${PREFIX.events}${String(Date.now()).padStart(15, "0")}-${event.ID}`;
  const overflow = [...view.events.keys()]
    .sort()
    .slice(0, Math.max(0, view.events.size + 1 - EVENT_BUFFER_SIZE));
  const res = await store.txn({
    compare: [],
    success: [
      { type: "put", key, value: encodeRecord(event) },
      ...overflow.map((k) => ({ type: "delete" as const, key: k })),
    ],
  });
  await view.waitFor(res.revision);
  // Consul answers the fire with LTime 0: the Lamport time is assigned when gossiped.
  return { ...event, LTime: 0 };
}
