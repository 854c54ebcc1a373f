/**
 * Consul's `helpers.LoadDataSource`: a data argument `@path` reads a file, `-` reads stdin, ``
 * is empty, anything else is the literal value.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { AugurError } from "../lib/errors.js";
import type { CommandContext } from "./command.js";

export async function loadDataSource(ctx: CommandContext, data: string): Promise<Buffer> {
  if (data === "") return Buffer.alloc(0);
  if (data.startsWith("@")) {
    try {
      return await readFile(data.slice(1));
    } catch (err) {
      throw new AugurError(
        "BAD_REQUEST",
        `Failed to read file: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  if (data === "-") {
    try {
      return await ctx.readStdin();
    } catch (err) {
      throw new AugurError(
        "BAD_REQUEST",
        `Failed to read stdin: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  return Buffer.from(data);
}
