/**
 * Go's regexp.Compile (RE2 syntax, as of Go 1.19) on re2js, a port of the same parser and
 * matcher: linear-time matching, so a user's pattern can never backtrack catastrophically, and
 * Go's error texts. Every regex that comes from a request or a flag goes through here — never
 * through JS RegExp.
 *
 * @module
 */
import { RE2JS } from "re2js";

/** A pattern Go's regexp.Compile rejects; `message` is Go's `err.Error()`. */
export class GoRegexpError extends Error {}

/** Whether `pattern` has a `(?<` group outside a character class (Go before 1.22 rejects it). */
function hasAngleGroup(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") i++;
    else if (inClass) {
      if (c === "[" && pattern[i + 1] === ":") {
        const end = pattern.indexOf(":]", i + 2);
        if (end > 0) i = end + 1;
      } else if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++;
    } else if (c === "(" && pattern.startsWith("?<", i + 1)) return true;
  }
  return false;
}

/**
 * Compiles `pattern` as Go would; throws GoRegexpError. re2js accepts `(?<name>...)`, which Go
 * only learnt in 1.22, so that is refused here as Go 1.19 refuses it.
 */
export function compileGoRegexp(pattern: string): RE2JS {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const message = (err as Error).message;
    // Go always ends with the offending text in backquotes, even when it is empty.
    throw new GoRegexpError(message.endsWith("`") ? message : `${message}: \`\``);
  }
  if (hasAngleGroup(pattern))
    throw new GoRegexpError("error parsing regexp: invalid or unsupported Perl syntax: `(?<`");
  return re;
}

/** Whether `re` matches anywhere in `text` (Go's MatchString). */
export function goRegexpMatches(re: RE2JS, text: string): boolean {
  return re.matcher(text).find();
}
