import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const configModule = new URL("../../src/config/index.js", import.meta.url).href;

/**
 * Runs a fresh node that loads one config file and prints whether the HCL parser's module was
 * loaded and what Error.stackTraceLimit is afterwards (the parser's runtime sets it to Infinity).
 */
async function loadIn(
  file: string,
): Promise<{ hclLoaded: boolean; stackTraceLimit: number | null }> {
  const script = `
    import { createRequire } from "node:module";
    const { loadConfig, parseAgentFlags } = await import(${JSON.stringify(configModule)});
    await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [${JSON.stringify(file)}], dirs: [] });
    const cache = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({ hclLoaded: cache.some((k) => k.includes("js-hcl-parser")), stackTraceLimit: Error.stackTraceLimit }));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return JSON.parse(stdout) as { hclLoaded: boolean; stackTraceLimit: number | null };
}

describe("config - the HCL parser", () => {
  it("config - is loaded only when an .hcl file is read, and leaves Error.stackTraceLimit as it was", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-hcl-lazy-"));
    try {
      const json = join(dir, "a.json");
      const hcl = join(dir, "a.hcl");
      await writeFile(json, JSON.stringify({ node_name: "n1" }));
      await writeFile(hcl, 'node_name = "n1"\n');
      assert.deepEqual(await loadIn(json), { hclLoaded: false, stackTraceLimit: 10 });
      assert.deepEqual(await loadIn(hcl), { hclLoaded: true, stackTraceLimit: 10 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
