/**
 * Retry decisions for one delivery: exponential backoff with "equal jitter" (half fixed, half
 * random, so retries of many records spread out but never come back sooner than half the
 * interval), bounded by attempts and by age; a receiver's `Retry-After` is honoured when longer.
 *
 * @module
 */
import type { RetryPolicy } from "./types.js";

/** What one attempt came to. */
export type DeliveryOutcome = (
  | { readonly kind: "delivered" }
  /** Worth retrying: 5xx, 429, timeout, connection error, script exit 75. */
  | { readonly kind: "retry"; readonly error: string; readonly retryAfterMs?: number }
  /** Retrying cannot help: other 4xx, other non-zero exits, a handler that cannot start. */
  | { readonly kind: "permanent"; readonly error: string }
) & {
  /** The handler's captured output (script stdout+stderr, HTTP response body), Consul-style. */
  readonly output?: string;
};

/** Delay before attempt `attempts + 1`, after `attempts` failed ones. */
export function backoffMs(
  policy: RetryPolicy,
  attempts: number,
  random: () => number = Math.random,
): number {
  const exp = policy.initialIntervalMs * 2 ** Math.max(0, attempts - 1);
  const capped = Math.min(exp, policy.maxIntervalMs);
  return capped / 2 + random() * (capped / 2);
}

/** Why a failed record is not retried again, or undefined when it may be. */
export function exhausted(
  policy: RetryPolicy,
  attempts: number,
  createdAt: number,
  nextAt: number,
): string | undefined {
  if (policy.maxAttempts > 0 && attempts >= policy.maxAttempts)
    return `gave up after ${attempts} attempts`;
  if (policy.maxAgeMs > 0 && nextAt - createdAt > policy.maxAgeMs)
    return `gave up: older than retry_max_age`;
  return undefined;
}

/** Parses `Retry-After`: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
