/**
 * Loads an agent configuration as `augur agent` would: the flags, and at most one config file
 * written to a temp dir for the call.
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, parseAgentFlags } from "../../src/config/index.js";

export async function loadWith(
  args: string[],
  file?: { name: string; text: string },
): ReturnType<typeof loadConfig> {
  const dir = await mkdtemp(join(tmpdir(), "augur-config-"));
  try {
    const files: string[] = [];
    if (file) {
      await writeFile(join(dir, file.name), file.text);
      files.push(join(dir, file.name));
    }
    return await loadConfig({ flags: parseAgentFlags(args), files, dirs: [] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
