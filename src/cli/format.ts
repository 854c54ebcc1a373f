/**
 * The two table layouts Consul's CLI prints with, reproduced so scripts that cut columns keep
 * working: ryanuber/columnize (members, catalog nodes) and Go's text/tabwriter as Consul
 * configures it (`kv get -detailed`, `catalog services -tags`).
 *
 * @module
 */

const runeLength = (s: string): number => [...s].length;
const padEnd = (s: string, width: number): string =>
  s + " ".repeat(Math.max(0, width - runeLength(s)));

/**
 * columnize.Format with Consul's config (glue two spaces, cells trimmed): each row is a list of
 * cells; every cell but a row's last is padded to its column's widest cell. No trailing newline.
 */
export function columnize(rows: readonly (readonly string[])[]): string {
  const trimmed = rows.map((r) => r.map((c) => c.trim()));
  const widths: number[] = [];
  for (const row of trimmed)
    row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, runeLength(c))));
  return trimmed
    .map((row) =>
      row.map((c, i) => (i === row.length - 1 ? c : padEnd(c, widths[i] ?? 0))).join("  "),
    )
    .join("\n");
}

/**
 * Go's `tabwriter.NewWriter(w, 0, 2, 6, ' ', 0)` over `text`: cells end at tabs, a line's text
 * after its last tab is not a column, and a column block (consecutive lines that have that
 * column) is as wide as its widest cell plus 6.
 */
export function tabwrite(text: string, padding = 6): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  const out: string[] = [];
  format(lines, [], 0, lines.length, padding, out);
  return out.join("\n");
}

function format(
  lines: string[][],
  widths: number[],
  line0: number,
  line1: number,
  padding: number,
  out: string[],
): void {
  const column = widths.length;
  let start = line0;
  for (let at = line0; at < line1; at++) {
    if (column >= (lines[at]?.length ?? 0) - 1) continue;
    writeLines(lines, widths, start, at, out);
    start = at;
    let width = 0;
    for (; at < line1 && column < (lines[at]?.length ?? 0) - 1; at++)
      width = Math.max(width, runeLength(lines[at]?.[column] ?? "") + padding);
    format(lines, [...widths, width], start, at, padding, out);
    start = at;
    at--;
  }
  writeLines(lines, widths, start, line1, out);
}

function writeLines(
  lines: string[][],
  widths: number[],
  from: number,
  to: number,
  out: string[],
): void {
  for (let i = from; i < to; i++) {
    const cells = lines[i] ?? [];
    out.push(
      cells
        .map((c, j) => (j < widths.length && j < cells.length - 1 ? padEnd(c, widths[j] ?? 0) : c))
        .join(""),
    );
  }
}
