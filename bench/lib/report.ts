/**
 * Benchmarks write their figures into BENCHMARKS.md, each into its own section between
 * `<!-- bench:<name> -->` markers, so re-running one benchmark updates only its section.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";

export const BENCHMARKS_MD = fileURLToPath(new URL("../../../BENCHMARKS.md", import.meta.url));

export async function writeSection(name: string, markdown: string): Promise<void> {
  let text = "";
  try {
    text = await readFile(BENCHMARKS_MD, "utf8");
  } catch {
    text =
      "# Benchmarks\n\nFigures from `bench/`, each with its peer measured in the same run on the same machine.\n";
  }
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const stamp = `_Run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}._`;
  const block = `${start}\n${markdown.trim()}\n\n${stamp}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(BENCHMARKS_MD, text);
  process.stdout.write(`${markdown.trim()}\n`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export const fmt = (n: number, digits = 1): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
