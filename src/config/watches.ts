/**
 * Watch definitions in config files are checked at load (Consul agent/config: `watches`), so a
 * bad watch fails the start with its file and index. The watch engine runs them.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";

export const WATCH_TYPES = ["key", "keyprefix", "services", "nodes", "service", "checks", "event"] as const;

export function validateWatch(raw: unknown, where: string): Record<string, unknown> {
  const bad = (why: string): AugurError => new AugurError("CONFIG_INVALID", `${where}: Failed to parse watch: ${why}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("expected an object");
  const w = raw as Record<string, unknown>;
  const type = w["type"];
  if (typeof type !== "string" || type === "") throw bad("Watch type must be specified");
  if (!(WATCH_TYPES as readonly string[]).includes(type)) throw bad(`Unsupported watch type: ${type}`);
  const handlerType = w["handler_type"] ?? (w["http_handler_config"] ? "http" : "script");
  if (handlerType !== "script" && handlerType !== "http") throw bad(`Handler type '${String(handlerType)}' not recognized`);
  const hasScript = w["handler"] !== undefined || w["args"] !== undefined;
  if (handlerType === "http" && hasScript) throw bad("Only one watch handler allowed");
  if (w["handler"] !== undefined && w["args"] !== undefined) throw bad("Only one watch handler allowed");
  if (handlerType === "script" && !hasScript) throw bad("Must define a watch handler");
  if (handlerType === "http" && (typeof w["http_handler_config"] !== "object" || w["http_handler_config"] === null)) throw bad("Must define a watch handler");
  return w;
}
