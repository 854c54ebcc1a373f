/**
 * Go's `path.Join`, which Consul's CLI uses to build KV keys (`consul lock`'s `<prefix>/.lock`,
 * `consul kv import -prefix`): empty elements dropped, the result cleaned (`a//b/` is `a/b`,
 * `a/../b` is `b`), and "" when every element is empty. Node's `path.posix.join` differs at the
 * edges: it answers "." for nothing and keeps a trailing slash.
 *
 * @module
 */
import { posix } from "node:path";

export function goPathJoin(...elements: string[]): string {
  const parts = elements.filter((e) => e !== "");
  if (parts.length === 0) return "";
  const cleaned = posix.normalize(parts.join("/"));
  return cleaned.length > 1 && cleaned.endsWith("/") ? cleaned.slice(0, -1) : cleaned;
}
