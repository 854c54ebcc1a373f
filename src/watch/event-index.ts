/**
 * Consul's event "index": the last event's UUID folded to 64 bits (api/event.go IDToIndex).
 * It is random, not monotonic, so it can only be compared for equality.
 *
 * @module
 */

/** Hex chars 0–7, 9–12, 14–17 as one uint64; 19–22, 24–35 as another; XOR. */
export function eventIdToIndex(uuid: string): bigint {
  if (uuid.length !== 36) return 0n;
  const lower = BigInt(`0x${uuid.slice(0, 8)}${uuid.slice(9, 13)}${uuid.slice(14, 18)}`);
  const upper = BigInt(`0x${uuid.slice(19, 23)}${uuid.slice(24, 36)}`);
  return lower ^ upper;
}
