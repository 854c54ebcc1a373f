/**
 * go-bexpr 0.1.2's validation pass (validate.go with field_config.go): every selector is
 * checked against the target type's field configuration, every operator against what the
 * selected field's type allows, and every value is coerced to that type, all before any data
 * is looked at. So an unknown selector is an error even over an empty list and even where a
 * short-circuit would never reach it.
 *
 * What a type allows (field_config.go):
 * - string: `==`, `!=`, `in`/`contains` (substring), `matches`;
 * - bool, int: `==`, `!=` (Consul's filterable structs have no float fields);
 * - list of a primitive: `in`/`contains` (membership), `is empty`;
 * - list of anything else: `is empty`, and selection into the element's fields (any element);
 * - map with string keys: `in`/`contains` (key exists), `is empty`, and `.key` selection;
 * - struct: only selection into its fields.
 *
 * @module
 */
import type { RE2JS } from "re2js";
import { compileGoRegexp, GoRegexpError } from "../../lib/go-regexp.js";
import { goParseBool, goParseInt, goParseUint, goQuote, type GoString } from "./go-strconv.js";
import type { Expr, MatchOp } from "./parser.js";
import type { GoType } from "./schema.js";

export class FilterValidationError extends Error {}

type Primitive = "string" | "bool" | "int" | "uint";

interface FieldConfig {
  readonly ops: readonly MatchOp[];
  readonly coerce?: Primitive;
  /** Sub-fields by name; "" is the wildcard a map's keys select. */
  readonly sub?: ReadonlyMap<string, FieldConfig>;
}

/** A coerced value, ready to compare with a field of the coerced type. */
export type Coerced =
  | { readonly kind: "string"; readonly value: GoString }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "int" | "uint"; readonly value: bigint }
  | { readonly kind: "regexp"; readonly value: RE2JS };

export type Checked =
  | { readonly type: "or" | "and"; readonly left: Checked; readonly right: Checked }
  | { readonly type: "not"; readonly operand: Checked }
  | {
      readonly type: "match";
      readonly selector: readonly string[];
      readonly op: MatchOp;
      readonly value?: Coerced;
    };

const OPERATOR_NAMES: Record<MatchOp, string> = {
  "==": "Equal",
  "!=": "Not Equal",
  in: "In",
  "not in": "Not In",
  "is empty": "Is Empty",
  "is not empty": "Is Not Empty",
  matches: "Matches",
  "not matches": "Not Matches",
};

const PRIMITIVES = new Set<string>(["string", "bool", "int", "uint"]);

function configOf(t: GoType): FieldConfig {
  switch (t.kind) {
    case "string":
      return { ops: ["==", "!=", "in", "not in", "matches", "not matches"], coerce: "string" };
    case "bool":
    case "int":
    case "uint":
      return { ops: ["==", "!="], coerce: t.kind };
    case "slice":
      if (PRIMITIVES.has(t.elem.kind))
        return {
          ops: ["in", "not in", "is empty", "is not empty"],
          coerce: t.elem.kind as Primitive,
        };
      return { ops: ["is empty", "is not empty"], sub: configOf(t.elem).sub };
    case "map":
      return {
        ops: ["is empty", "is not empty", "in", "not in"],
        coerce: "string",
        sub: new Map([["", configOf(t.value)]]),
      };
    case "struct":
      return {
        ops: [],
        sub: new Map(Object.entries(t.fields).map(([name, ft]) => [name, configOf(ft)])),
      };
  }
}

const configCache = new WeakMap<GoType, FieldConfig>();

function cachedConfig(t: GoType): FieldConfig {
  let c = configCache.get(t);
  if (!c) configCache.set(t, (c = configOf(t)));
  return c;
}

/** `%q` of a go-bexpr Selector, which prints through its String method (parts joined by "."). */
export function quoteSelector(parts: readonly string[]): string {
  return goQuote(parts.join("."));
}

function coerce(kind: Primitive, raw: GoString): Coerced {
  if (kind === "string") return { kind, value: raw };
  // Go parses the raw bytes; a non-UTF-8 literal cannot be a number or a bool anyway, and the
  // replacement characters keep the error text close to Go's.
  const text = raw.text ?? raw.bytes.toString("utf8");
  switch (kind) {
    case "bool":
      return { kind, value: goParseBool(text) };
    case "int":
      return { kind, value: goParseInt(text) };
    case "uint":
      return { kind, value: goParseUint(text) };
  }
}

function compileRegexp(raw: GoString): RE2JS {
  if (raw.text === undefined) {
    throw new FilterValidationError(
      `Failed to compile regular expression ${goQuote(raw)}: error parsing regexp: invalid UTF-8: \`${raw.bytes.toString("utf8")}\``,
    );
  }
  try {
    return compileGoRegexp(raw.text);
  } catch (err) {
    if (err instanceof GoRegexpError)
      throw new FilterValidationError(
        `Failed to compile regular expression ${goQuote(raw)}: ${err.message}`,
      );
    throw err;
  }
}

function checkMatch(node: Extract<Expr, { type: "match" }>, root: FieldConfig): Checked {
  let configs = root.sub;
  let last: FieldConfig | undefined;
  node.selector.forEach((field, idx) => {
    const found = configs?.get(field) ?? configs?.get("");
    if (!found)
      throw new FilterValidationError(
        `Selector ${quoteSelector(node.selector.slice(0, idx + 1))} is not valid`,
      );
    last = found;
    configs = found.sub;
  });
  const cfg = last as FieldConfig;
  if (!cfg.ops.includes(node.op)) {
    throw new FilterValidationError(
      `Invalid match operator ${goQuote(OPERATOR_NAMES[node.op])} for selector ${quoteSelector(node.selector)}`,
    );
  }
  if (node.value === undefined) return { type: "match", selector: node.selector, op: node.op };
  let value: Coerced = { kind: "string", value: node.value };
  if (cfg.coerce) {
    try {
      value = coerce(cfg.coerce, node.value);
    } catch (err) {
      // strconv quotes the raw bytes it was given, which need not be UTF-8.
      const why = (err as Error).message.replace(
        /parsing ".*": /s,
        `parsing ${goQuote(node.value)}: `,
      );
      throw new FilterValidationError(
        `Failed to coerce value ${goQuote(node.value)} for selector ${quoteSelector(node.selector)}: ${why}`,
      );
    }
  }
  if (node.op === "matches" || node.op === "not matches") {
    if (value.kind !== "string")
      throw new FilterValidationError(
        `Match operator ${goQuote(OPERATOR_NAMES[node.op])} cannot be used with fields whose coercion functions return non string values`,
      );
    value = { kind: "regexp", value: compileRegexp(value.value) };
  }
  return { type: "match", selector: node.selector, op: node.op, value };
}

/** Validates `expr` against `target` and coerces its values; throws FilterValidationError. */
export function validateFilter(expr: Expr, target: GoType): Checked {
  const root = cachedConfig(target);
  const walk = (e: Expr): Checked => {
    switch (e.type) {
      case "or":
      case "and":
        return { type: e.type, left: walk(e.left), right: walk(e.right) };
      case "not":
        return { type: "not", operand: walk(e.operand) };
      case "match":
        return checkMatch(e, root);
    }
  };
  return walk(expr);
}
