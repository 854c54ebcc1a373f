/**
 * JSON as Go's encoding/json writes it, which is what Consul's handlers receive: compact, with
 * `<`, `>`, `&`, U+2028 and U+2029 escaped (json.Encoder's default EscapeHTML).
 *
 * @module
 */

import { stringifyLossless } from "../lib/lossless-json.js";
import { goHtmlEscape } from "../lib/go-html-escape.js";

/** json.Marshal; `indent` gives json.MarshalIndent(v, "", indent). Bigints (uint64 Flags) are bare numbers. */
export function goJson(value: unknown, indent?: string): string {
  const text = stringifyLossless(value, indent) ?? "null";
  return goHtmlEscape(text);
}
