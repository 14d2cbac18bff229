/**
 * The one table markup of the console: a caption, a header row and one row per item, scrolling
 * sideways on a narrow screen. Pages describe their columns; `emptyText` fills a table with no rows.
 */
import type { ComponentChildren } from 'preact';

export interface Column<Row> {
  header: string;
  cell: (row: Row, index: number) => ComponentChildren;
  /** A class on the column's cells (tests and styles find a column by it). */
  class?: string;
}

export interface DataTableProps<Row> {
  caption: string;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  emptyText?: string;
  /** Extra attributes per row, e.g. `data-worker`. */
  rowAttributes?: (row: Row, index: number) => Record<string, string | number>;
}

export function DataTable<Row>({ caption, columns, rows, emptyText, rowAttributes }: DataTableProps<Row>) {
  return (
    <div class="table-scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.header}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && emptyText && (
            <tr>
              <td colSpan={columns.length}>{emptyText}</td>
            </tr>
          )}
          {rows.map((row, index) => (
            <tr key={index} {...(rowAttributes?.(row, index) ?? {})}>
              {columns.map((column) => (
                <td key={column.header} class={column.class}>
                  {column.cell(row, index)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A query's answer as a table: named columns, rows of values (objects shown as JSON). */
export function ResultTable({
  caption,
  columns,
  rows,
}: {
  caption: string;
  columns: readonly string[];
  rows: readonly (readonly unknown[])[];
}) {
  return (
    <DataTable
      caption={caption}
      rows={rows}
      emptyText="No rows."
      columns={columns.map((name, position) => ({
        header: name,
        cell: (row: readonly unknown[]) => showValue(row[position]),
      }))}
    />
  );
}

export function showValue(value: unknown): string {
  if (value === null || value === undefined) return '∅';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
