/**
 * Canonical JSON (object keys sorted) and its sha256: the identity of a definition, a handler,
 * an entity state. Two values that are deep-equal hash the same whatever their key order.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { stringifyLossless } from "../lib/lossless-json.js";

/** JSON with object keys sorted at every level; `undefined` members are dropped as JSON does. */
export function canonicalJson(value: unknown): string {
  return stringifyLossless(sortKeys(value)) ?? "null";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort())
    out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/** sha256 (hex) of the canonical JSON of `value`, or of the given parts joined by NUL. */
export function stableHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** A UUID-shaped id (8-4-4-4-12, lowercase) derived from a hash: stable, so receivers can dedupe. */
export function hashId(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
