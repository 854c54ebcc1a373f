/**
 * Go's encoding/json escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings (HTML-safe output).
 * Consul's answers and its watch payloads carry them so; one table for both.
 *
 * @module
 */

const HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_UNSAFE_ALL = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * Escapes encoded JSON text as Go would have written it. The characters can only occur inside
 * strings of JSON text, so replacing them in place is what Go does.
 */
export function goHtmlEscape(json: string): string {
  return HTML_UNSAFE.test(json) ? json.replace(HTML_UNSAFE_ALL, (c) => GO_ESCAPES[c] ?? c) : json;
}
