/**
 * What a deliverer calls: one attempt to hand one record to a handler. Implementations:
 * {@link ScriptHandler}, {@link HttpHandler}; both pass one contract suite. A handler never
 * throws for a failed delivery: it classifies the failure (retry or permanent) instead.
 *
 * @module
 */
import type { DeliveryOutcome } from "../retry.js";

export interface DeliveryRequest {
  /** Compact JSON; Consul's encoder adds a newline, and so do handlers. */
  readonly body: string;
  /** `CONSUL_INDEX` / `X-Consul-Index`. */
  readonly index: string;
  /** The event id: `Idempotency-Key` / `AUGUR_EVENT_ID`. */
  readonly eventId: string;
  readonly deliveryId: string;
  readonly watchId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** `once_per_cluster` watches: the leader lock's LockIndex (`X-Augur-Fencing-Token` / `AUGUR_FENCING_TOKEN`). */
  readonly fencingToken?: string;
}

export interface Handler {
  readonly kind: "script" | "http";
  /** For logs: the command or the URL. */
  readonly target: string;
  /** One attempt. Aborting `signal` ends it early (the record stays pending). */
  deliver(request: DeliveryRequest, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Releases what the handler keeps between deliveries (a script handler's waiting shell). */
  close?(): void;
}

/** Environment variables a script handler gets besides `CONSUL_INDEX`. */
export const SCRIPT_ENV = {
  eventId: "AUGUR_EVENT_ID",
  deliveryId: "AUGUR_DELIVERY_ID",
  watchId: "AUGUR_WATCH_ID",
  attempt: "AUGUR_DELIVERY_ATTEMPT",
  fencingToken: "AUGUR_FENCING_TOKEN",
} as const;
