/**
 * What a JSON request body may hold before it is parsed. `JSON.parse` runs on the event loop
 * and its cost follows the shape of the text, not its size: measured on Node 20, 16 MiB of
 * `[[[[…` held the loop 9 s, and 12 MiB of distinct object keys 2 s, while a Go server (Consul)
 * parses on a goroutine of its own. One pass over the bytes (about 1 ms per MiB) counts nesting,
 * object members and values before `JSON.parse` sees them:
 *
 * - nesting past Go's `maxNestingDepth` (10,000) is refused as Go's decoder refuses it;
 * - at most {@link JSON_MAX_MEMBERS} object members (distinct keys cost about 1 µs each to
 *   parse: 10,000 is about 10 ms) and {@link JSON_MAX_VALUES} values. Consul has no such limits;
 *   its largest bodies (a 128-operation transaction, a node with 64 meta pairs and its services
 *   and checks) hold a few thousand.
 *
 * @module
 */

/** Go's encoding/json maxNestingDepth: the 10,001st open bracket is an error. */
export const JSON_MAX_DEPTH = 10_000;
/** Object members (`"key": value` pairs) one body may hold. */
export const JSON_MAX_MEMBERS = 10_000;
/** Values separated by commas (array elements and object members) one body may hold. */
export const JSON_MAX_VALUES = 100_000;

/** Why a body is not handed to `JSON.parse`: nested too deep, or too many members or values. */
export type JsonBodyProblem = "depth" | "members" | "values";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Counts outside strings (a `\` in a string skips the next byte, so `\"` does not end it).
 * Malformed text passes through to the parser, which reports it.
 */
export function jsonBodyProblem(body: Uint8Array): JsonBodyProblem | undefined {
  let depth = 0;
  let members = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    switch (c) {
      case QUOTE:
        inString = true;
        break;
      case 0x5b: // [
      case 0x7b: // {
        if (++depth > JSON_MAX_DEPTH) return "depth";
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth--;
        break;
      case 0x3a: // :
        if (++members > JSON_MAX_MEMBERS) return "members";
        break;
      case 0x2c: // ,
        if (++values > JSON_MAX_VALUES) return "values";
        break;
    }
  }
  return undefined;
}
