/**
 * The watch engine: Consul-compatible watches (plans, handlers) with augur's change detection,
 * noise control, durable outbox and delivery. The agent needs {@link parseWatchDefinition} (config
 * load) and {@link WatchManager} (run, reload, deliveries, replay).
 *
 * @module
 */
export { parseWatchDefinition, withUniqueIds } from "./definition.js";
export {
  WatchManager,
  type WatchManagerOptions,
  type DeliveriesReport,
  type DeliveriesQuery,
  type ReplayTarget,
} from "./manager.js";
export type { WatchStatus } from "./watch-runner.js";
export type { OutboxRecord, DeliveryStatus } from "./outbox.js";
export type { WatchLogger } from "./logger.js";
export type * from "./types.js";
export { WATCH_TYPES, WATCH_DEFAULTS } from "./types.js";
