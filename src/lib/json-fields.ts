/**
 * Lenient JSON reading (request bodies and config files) as Go's encoding/json does it: field names match case-insensitively,
 * unknown fields are ignored, and a wrong type is a 400 naming the field.
 *
 * @module
 */
import { badRequest } from "./errors.js";

export type JsonObject = Record<string, unknown>;

/** The value of the first of `names` present, matched case-insensitively and ignoring `_`. */
export function pick(obj: JsonObject, ...names: string[]): unknown {
  for (const name of names) if (name in obj) return obj[name];
  const wanted = new Set(names.map(norm));
  for (const [k, v] of Object.entries(obj)) if (wanted.has(norm(k))) return v;
  return undefined;
}

const norm = (s: string): string => s.replace(/_/g, "").toLowerCase();

export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(
      `Request decode failed: json: cannot unmarshal ${jsonType(value)} into Go value of type ${what}`,
    );
  }
  return value as JsonObject;
}

export function optString(obj: JsonObject, ...names: string[]): string | undefined {
  const v = pick(obj, ...names);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw typeError(names[0] ?? "", v, "string");
  return v;
}

export function optNumber(obj: JsonObject, ...names: string[]): number | undefined {
  const v = pick(obj, ...names);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw typeError(names[0] ?? "", v, "int");
  return v;
}

export function optBool(obj: JsonObject, ...names: string[]): boolean | undefined {
  const v = pick(obj, ...names);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw typeError(names[0] ?? "", v, "bool");
  return v;
}

export function optStringMap(
  obj: JsonObject,
  ...names: string[]
): Record<string, string> | undefined {
  const v = pick(obj, ...names);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw typeError(names[0] ?? "", v, "map[string]string");
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as JsonObject)) {
    if (typeof val !== "string") throw typeError(`${names[0] ?? ""}.${k}`, val, "string");
    out[k] = val;
  }
  return out;
}

export function optStringList(obj: JsonObject, ...names: string[]): string[] | undefined {
  const v = pick(obj, ...names);
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw typeError(names[0] ?? "", v, "[]string");
  return v as string[];
}

export function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}

function typeError(field: string, v: unknown, expected: string): Error {
  return badRequest(
    `Request decode failed: json: cannot unmarshal ${jsonType(v)} into Go struct field .${field} of type ${expected}`,
  );
}
