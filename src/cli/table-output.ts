/**
 * Plain-text tables for the cli's listing commands (`list`, `ps`, `jobs list`, `head nodes`) and the
 * SQL shell: columns padded to their widest cell, trailing spaces trimmed so that output diffs cleanly.
 */

/** The header and rows as aligned lines; `widths` lets a caller draw a rule under the header. */
export function alignColumns(
  header: string[],
  rows: string[][],
  separator: string,
): { widths: number[]; lines: string[] } {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join(separator)
      .trimEnd();
  return { widths, lines: [line(header), ...rows.map(line)] };
}

/** A table with two spaces between columns, ending in a newline. */
export function formatTable(header: string[], rows: string[][]): string {
  return `${alignColumns(header, rows, '  ').lines.join('\n')}\n`;
}

/**
 * The two outputs every listing command shares before its table: the records as JSON (`--json`),
 * or a sentence when there are none. Returns true when it printed one of them, so the caller stops.
 */
export function printJsonOrEmpty(
  records: readonly unknown[],
  json: boolean | undefined,
  emptyMessage: string,
): boolean {
  if (json) {
    process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    return true;
  }
  if (records.length === 0) {
    process.stdout.write(`${emptyMessage}\n`);
    return true;
  }
  return false;
}
