import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ERRORS } from "../../src/lib/errors.js";

const DOC = fileURLToPath(new URL("../../../docs/errors.md", import.meta.url));

test("errors - docs/errors.md lists every code with its status and retry flag", () => {
  const rows = new Map<string, string[]>();
  for (const line of readFileSync(DOC, "utf8").split("\n")) {
    const m = /^\| `([A-Z_]+)` \| (\d+) \| (yes|no) \|/.exec(line);
    if (m) rows.set(m[1] as string, [m[2] as string, m[3] as string]);
  }
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.deepEqual(
      rows.get(code),
      [String(spec.status), spec.retryable ? "yes" : "no"],
      `docs/errors.md row for ${code}`,
    );
  }
  assert.equal(
    rows.size,
    Object.keys(ERRORS).length,
    "docs/errors.md has rows for codes that no longer exist",
  );
});
