/**
 * HCL (config files and ACL policy rules), parsed by `js-hcl-parser`: HashiCorp's own HCL v1 parser (the one Consul
 * uses) compiled to JavaScript, so HCL quirks behave exactly as in Consul. HCL turns every block
 * into a list of objects; as Consul's loader does, a one-element list of one object is flattened
 * back to the object except for keys that really are lists.
 *
 * @module
 */
import { createRequire } from "node:module";

interface HclParser {
  parse(text: string): string;
}

/**
 * Loaded on the first `.hcl` file, not at import: the GopherJS runtime the parser is compiled
 * with sets `Error.stackTraceLimit = Infinity` when it loads, which makes every error the
 * process creates afterwards capture its whole stack. An agent configured in JSON, or a CLI
 * command, never loads it; one that reads HCL gets the limit it had back.
 */
let parser: HclParser | undefined;
function hcl(): HclParser {
  if (parser) return parser;
  const limit = Error.stackTraceLimit;
  try {
    parser = createRequire(import.meta.url)("js-hcl-parser") as HclParser;
  } finally {
    Error.stackTraceLimit = limit;
  }
  return parser;
}

/** Keys whose value is a list even with one element. */
const LIST_KEYS = new Set([
  "services",
  "checks",
  "watches",
  "retry_join",
  "start_join",
  "endpoints",
  "args",
  "tags",
]);

export class HclSyntaxError extends Error {}

export function parseHcl(text: string): Record<string, unknown> {
  const out = hcl().parse(text);
  if (out.startsWith("unable to parse"))
    throw new HclSyntaxError(out.replace(/^unable to parse JSON: /, ""));
  return flatten(JSON.parse(out) as unknown, "") as Record<string, unknown>;
}

function flatten(value: unknown, key: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => flatten(v, key));
    if (
      !LIST_KEYS.has(key) &&
      items.length === 1 &&
      typeof items[0] === "object" &&
      items[0] !== null &&
      !Array.isArray(items[0])
    )
      return items[0];
    return items;
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = flatten(v, k);
    return out;
  }
  return value;
}
