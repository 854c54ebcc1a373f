/**
 * augur's version: the `version` of the package.json it was built from, read once at load so
 * the agent (`/v1/agent/self`, members' build tags) and `augur version` report the same one and a
 * release needs one edit. Compiled code lives in dist/src/lib/, three levels below the root.
 *
 * @module
 */
import { readFileSync } from "node:fs";

function packageVersion(): string {
  const pkg = JSON.parse(
    readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
  ) as { name?: unknown; version?: unknown };
  if (pkg.name !== "augur" || typeof pkg.version !== "string") return "unknown";
  return pkg.version;
}

export const VERSION: string = packageVersion();
