/**
 * go-bexpr 0.1.2's evaluation (evaluate.go) over augur's JSON records, read as the Go structs
 * Consul decodes them into: a field absent from the JSON holds Go's zero value, a `null` list or
 * map is an empty one, and a `null` (or absent) pointer is nil.
 *
 * - A selector through a list matches when any element matches (so `Checks.Status != passing`
 *   means "some check is not passing", and an empty list matches nothing, whatever the operator).
 * - A map key that is absent answers `==`, `in` and `is not empty` with false and every other
 *   operator (`!=`, `not in`, `is empty`, `matches`, `not matches`) with true: 0.1.2's table.
 * - Selecting through a nil pointer (AgentService.Proxy of a typical service) is an error:
 *   `Value at selector "Proxy" with type invalid does not support nested field selection`, the
 *   text go-bexpr has for this case. 0.1.2 itself panics there (reflect on a zero Value) and
 *   Consul drops the connection; an error is the closest honest answer.
 *
 * @module
 */
import { goRegexpMatches } from "../../lib/go-regexp.js";
import type { GoString } from "./go-strconv.js";
import type { Checked, Coerced } from "./validate.js";
import { quoteSelector } from "./validate.js";
import type { GoType } from "./schema.js";

export class FilterEvalError extends Error {}

type Match = Extract<Checked, { type: "match" }>;

/** reflect.Indirect of a nil pointer: a Value that is not valid. */
const INVALID = Symbol("invalid");

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function resolve(t: GoType, v: unknown): unknown {
  if (t.kind === "struct" && t.pointer && (v === null || v === undefined)) return INVALID;
  return v;
}

function stringEquals(want: GoString, have: unknown): boolean {
  const s = typeof have === "string" ? have : "";
  return want.text !== undefined ? want.text === s : want.bytes.equals(Buffer.from(s, "utf8"));
}

function stringContains(haystack: unknown, needle: GoString): boolean {
  const s = typeof haystack === "string" ? haystack : "";
  return needle.text !== undefined
    ? s.includes(needle.text)
    : Buffer.from(s, "utf8").includes(needle.bytes);
}

function primitiveEquals(want: Coerced, have: unknown): boolean {
  switch (want.kind) {
    case "string":
      return stringEquals(want.value, have);
    case "bool":
      return (have === true) === want.value;
    case "int":
    case "uint":
      return typeof have === "number" && Number.isInteger(have)
        ? BigInt(have) === want.value
        : want.value === 0n;
    case "regexp":
      return false;
  }
}

function doIn(t: GoType, v: unknown, want: Coerced): boolean {
  switch (t.kind) {
    case "map":
      return (
        want.kind === "string" &&
        want.value.text !== undefined &&
        isObject(v) &&
        Object.hasOwn(v, want.value.text)
      );
    case "slice":
      return Array.isArray(v) && v.some((el) => primitiveEquals(want, el));
    case "string":
      return want.kind === "string" && stringContains(v, want.value);
    default:
      throw new FilterEvalError(`Cannot perform in/contains operations on type ${t.kind}`);
  }
}

function doMatch(m: Match, t: GoType, v: unknown): boolean {
  const want = m.value as Coerced;
  switch (m.op) {
    case "==":
      return primitiveEquals(want, v);
    case "!=":
      return !primitiveEquals(want, v);
    case "in":
      return doIn(t, v, want);
    case "not in":
      return !doIn(t, v, want);
    case "is empty":
    case "is not empty": {
      const len = Array.isArray(v) ? v.length : isObject(v) ? Object.keys(v).length : 0;
      return (len === 0) === (m.op === "is empty");
    }
    case "matches":
    case "not matches": {
      if (want.kind !== "regexp") return false;
      const found = goRegexpMatches(want.value, typeof v === "string" ? v : "");
      return found === (m.op === "matches");
    }
  }
}

const MISSING_KEY_ANSWER: Record<Match["op"], boolean> = {
  "==": false,
  "is not empty": false,
  in: false,
  "!=": true,
  "is empty": true,
  "not in": true,
  matches: true,
  "not matches": true,
};

function walk(m: Match, t: GoType, v: unknown, depth: number): boolean {
  if (depth >= m.selector.length) return doMatch(m, t, v);
  if (v === INVALID || (t.kind !== "struct" && t.kind !== "slice" && t.kind !== "map")) {
    const kind = v === INVALID ? "invalid" : t.kind;
    throw new FilterEvalError(
      `Value at selector ${quoteSelector(m.selector.slice(0, depth))} with type ${kind} does not support nested field selection`,
    );
  }
  switch (t.kind) {
    case "struct": {
      const name = m.selector[depth] as string;
      const ft = t.fields[name] as GoType;
      return walk(m, ft, resolve(ft, isObject(v) ? v[name] : undefined), depth + 1);
    }
    case "slice":
      return Array.isArray(v) && v.some((el) => walk(m, t.elem, resolve(t.elem, el), depth));
    case "map": {
      const key = m.selector[depth] as string;
      if (!isObject(v) || !Object.hasOwn(v, key)) return MISSING_KEY_ANSWER[m.op];
      return walk(m, t.value, resolve(t.value, v[key]), depth + 1);
    }
  }
}

/** Evaluates a validated expression against one record of type `target`. */
export function evaluate(expr: Checked, target: GoType, datum: unknown): boolean {
  switch (expr.type) {
    case "or":
      return evaluate(expr.left, target, datum) || evaluate(expr.right, target, datum);
    case "and":
      return evaluate(expr.left, target, datum) && evaluate(expr.right, target, datum);
    case "not":
      return !evaluate(expr.operand, target, datum);
    case "match":
      return walk(expr, target, datum, 0);
  }
}
