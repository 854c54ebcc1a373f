/**
 * Consul's `?filter=` language: hashicorp/go-bexpr 0.1.2, the version Consul pins, evaluated
 * against the Go struct of each endpoint's result type (./schema). Creating a filter parses the
 * expression and validates it against that type — unknown selectors, operators the field's type
 * does not allow, values that do not coerce and bad regular expressions all fail here, before any
 * data is read — and answers 500 `Failed to create boolean expression evaluator: ...` as Consul
 * does. The one failure left for evaluation, selecting through a nil pointer (where 0.1.2 itself
 * panics), answers 500 with go-bexpr's text for it and no prefix.
 *
 * Regular expressions run on re2js (RE2 semantics, linear time): never on JS RegExp.
 *
 * @module
 */
import { AugurError } from "../../lib/errors.js";
import { evaluate, FilterEvalError } from "./evaluate.js";
import { FilterSyntaxError, parseFilter } from "./parser.js";
import { TARGETS, type FilterTarget } from "./schema.js";
import { FilterValidationError, validateFilter, type Checked } from "./validate.js";

export type Filter = (value: unknown) => boolean;
export type { FilterTarget } from "./schema.js";
export { parseFilter } from "./parser.js";

/** The prefix Consul's CreateFilter puts on every creation error. */
export const CREATE_ERROR_PREFIX = "Failed to create boolean expression evaluator: ";

const cache = new Map<string, Checked>();

/** Parses and validates `expression` for `target`; throws the AugurError Consul's 500 carries. */
export function compileFilter(expression: string, target: FilterTarget): Filter {
  const key = `${target}\u0000${expression}`;
  let checked = cache.get(key);
  if (!checked) {
    try {
      checked = validateFilter(parseFilter(expression), TARGETS[target]);
    } catch (err) {
      if (err instanceof FilterSyntaxError || err instanceof FilterValidationError) {
        throw new AugurError("INVALID_STATE", CREATE_ERROR_PREFIX + err.message, { cause: err });
      }
      // The parser recurses per nesting level; Go's growable stacks take deeper nesting than
      // V8's (a few hundred parentheses, a couple of thousand and/or terms) — refuse, don't crash.
      if (err instanceof RangeError && /call stack/.test(err.message)) {
        throw new AugurError(
          "INVALID_STATE",
          `${CREATE_ERROR_PREFIX}expression is nested too deeply`,
          { cause: err },
        );
      }
      throw err;
    }
    if (cache.size > 500) cache.clear();
    cache.set(key, checked);
  }
  const compiled = checked;
  const type = TARGETS[target];
  return (value) => {
    try {
      return evaluate(compiled, type, value);
    } catch (err) {
      if (err instanceof FilterEvalError)
        throw new AugurError("INVALID_STATE", err.message, { cause: err });
      throw err;
    }
  };
}
