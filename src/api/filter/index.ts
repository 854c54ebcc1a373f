/**
 * Consul's `?filter=` language (hashicorp/go-bexpr). A bad expression fails when it is
 * compiled, an evaluation error (a selector naming no field) when it meets data; both answer 500
 * as Consul does, the first as `Failed to create boolean expression evaluator: ...`.
 *
 * @module
 */
import { AugurError } from "../../lib/errors.js";
import { evaluate, FilterEvalError } from "./evaluate.js";
import { FilterSyntaxError, parseFilter, type Expr } from "./parser.js";

export type Filter = (value: unknown) => boolean;

export { parseFilter } from "./parser.js";

const cache = new Map<string, Expr>();

export function compileFilter(expression: string): Filter {
  let expr = cache.get(expression);
  if (!expr) {
    try {
      expr = parseFilter(expression);
    } catch (err) {
      if (err instanceof FilterSyntaxError) throw new AugurError("INVALID_STATE", `Failed to create boolean expression evaluator: ${err.message}`);
      throw err;
    }
    if (cache.size > 500) cache.clear();
    cache.set(expression, expr);
  }
  const compiled = expr;
  return (value) => {
    try {
      return evaluate(compiled, value);
    } catch (err) {
      if (err instanceof FilterEvalError) throw new AugurError("INVALID_STATE", err.message);
      throw err;
    }
  };
}
