/**
 * JSON as Go's encoding/json writes it, which is what Consul's handlers receive: compact, with
 * `<`, `>`, `&`, U+2028 and U+2029 escaped (json.Encoder's default EscapeHTML).
 *
 * @module
 */

import { stringifyLossless } from "../lib/lossless-json.js";

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** json.Marshal; `indent` gives json.MarshalIndent(v, "", indent). Bigints (uint64 Flags) are bare numbers. */
export function goJson(value: unknown, indent?: string): string {
  const text = stringifyLossless(value, indent) ?? "null";
  // These characters can only occur inside strings, so replacing them in place is what Go does.
  return text.replace(HTML_UNSAFE, (c) => GO_ESCAPES[c] ?? c);
}
