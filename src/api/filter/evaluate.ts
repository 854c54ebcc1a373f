/**
 * Evaluation of a parsed filter against Consul's JSON shapes, with go-bexpr's semantics:
 * - the literal is coerced to the selected field's type (bool via ParseBool, numbers, strings);
 * - a missing map key gives the operator's "not present" answer (`==` false, `!=` true,
 *   `is empty` true, ...); a missing struct field is an error, as pointerstructure reports it;
 * - `in`/`contains`: substring for strings, membership for lists, key-exists for maps;
 * - a selector that walks through a list (e.g. `Checks.Status`) matches when any element does.
 *
 * @module
 */
import { parseGoBool } from "../request.js";
import type { Expr, MatchOp } from "./parser.js";

export class FilterEvalError extends Error {}

type Lookup = { found: true; value: unknown } | { found: false; mapMiss: boolean };

const NOT_PRESENT: Record<MatchOp, boolean> = {
  "==": false,
  "!=": true,
  in: false,
  "not in": true,
  contains: false,
  "not contains": true,
  "is empty": true,
  "is not empty": false,
  matches: false,
  "not matches": true,
};

const regexCache = new Map<string, RegExp>();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Resolves `path` under `value`; lists met mid-path fan out (any element). */
function lookup(value: unknown, path: readonly string[], i: number, full: string, onEach: (l: Lookup) => boolean): boolean {
  if (i === path.length) return onEach({ found: true, value });
  const part = path[i] as string;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(part)) {
      const idx = Number(part);
      if (idx >= value.length) throw new FilterEvalError(`error finding value in datum: /${full}: invalid index ${idx}`);
      return lookup(value[idx], path, i + 1, full, onEach);
    }
    return value.some((el) => lookup(el, path, i, full, onEach));
  }
  if (isObject(value)) {
    if (part in value) return lookup(value[part], path, i + 1, full, onEach);
    // Absent map key vs absent struct field: our records are plain objects, so treat known
    // map-like fields (Meta, NodeMeta, ServiceMeta, TaggedAddresses...) as maps.
    return onEach({ found: false, mapMiss: i > 0 && MAP_FIELDS.has(path[i - 1] as string) });
  }
  if (value === null || value === undefined) return onEach({ found: false, mapMiss: true });
  throw new FilterEvalError(`error finding value in datum: /${full}: ${typeof value} has no field ${JSON.stringify(part)}`);
}

const MAP_FIELDS = new Set(["Meta", "NodeMeta", "ServiceMeta", "TaggedAddresses", "ServiceTaggedAddresses", "Tags", "Header", "Definition", "Weights", "ServiceWeights"]);

function coerce(raw: string, like: unknown, selector: string): unknown {
  if (typeof like === "boolean") {
    const b = parseGoBool(raw);
    if (b === undefined) throw new FilterEvalError(`error getting match value in expression: Failed to convert value "${raw}" to bool for selector ${selector}`);
    return b;
  }
  if (typeof like === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new FilterEvalError(`error getting match value in expression: Failed to convert value "${raw}" to a number for selector ${selector}`);
    return n;
  }
  return raw;
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === "string" || Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  throw new FilterEvalError(`Cannot perform is empty on value of type ${typeof v}`);
}

function contains(container: unknown, raw: string, selector: string): boolean {
  if (typeof container === "string") return container.includes(raw);
  if (Array.isArray(container)) return container.some((el) => el === coerce(raw, el, selector));
  if (isObject(container)) return raw in container;
  if (container === null || container === undefined) return false;
  throw new FilterEvalError(`cannot perform in/contains operations on type ${typeof container} for selector: "${selector}"`);
}

function matches(v: unknown, raw: string, selector: string): boolean {
  if (typeof v !== "string") throw new FilterEvalError(`value of type ${typeof v} is not convertible to []byte for selector: "${selector}"`);
  let re = regexCache.get(raw);
  if (!re) {
    try {
      re = new RegExp(raw);
    } catch (err) {
      throw new FilterEvalError(`failed to compile regular expression ${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(raw, re);
  }
  return re.test(v);
}

function positive(op: MatchOp): MatchOp {
  return op.startsWith("not ") ? (op.slice(4) as MatchOp) : op === "!=" ? "==" : op === "is not empty" ? "is empty" : op;
}

function matchOne(value: unknown, op: MatchOp, raw: string | undefined, selector: string): boolean {
  const p = positive(op);
  let result: boolean;
  switch (p) {
    case "==":
      result = value === coerce(raw ?? "", value, selector) || (value === null && raw === "");
      break;
    case "in":
    case "contains":
      result = contains(value, raw ?? "", selector);
      break;
    case "is empty":
      result = isEmpty(value);
      break;
    default:
      result = matches(value, raw ?? "", selector);
  }
  return p === op ? result : !result;
}

/** A match's selector spelled for error messages, made once per expression, not once per item. */
const selectorNameCache = new WeakMap<Expr, { full: string; selector: string }>();

function selectorNames(expr: Expr & { type: "match" }): { full: string; selector: string } {
  let names = selectorNameCache.get(expr);
  if (!names) selectorNameCache.set(expr, (names = { full: expr.selector.join("/"), selector: expr.selector.join(".") }));
  return names;
}

export function evaluate(expr: Expr, datum: unknown): boolean {
  switch (expr.type) {
    case "or":
      return evaluate(expr.left, datum) || evaluate(expr.right, datum);
    case "and":
      return evaluate(expr.left, datum) && evaluate(expr.right, datum);
    case "not":
      return !evaluate(expr.operand, datum);
    case "match": {
      const { full, selector } = selectorNames(expr);
      return lookup(datum, expr.selector, 0, full, (l) => {
        if (!l.found) {
          if (l.mapMiss) return NOT_PRESENT[expr.op];
          throw new FilterEvalError(`error finding value in datum: /${full}: couldn't find key or field ${JSON.stringify(expr.selector.at(-1))}`);
        }
        return matchOne(l.value, expr.op, expr.value, selector);
      });
    }
  }
}
