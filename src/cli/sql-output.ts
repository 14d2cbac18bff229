/**
 * How `byzerllm sql` prints results: an aligned table, JSON (one array per result), CSV, or Parquet
 * (written through DuckDB, to `--output_file` or to a non-terminal stdout).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import type { QueryProgress, SqlSession, StatementResult } from '../sql/index.js';
import { alignColumns } from './table-output.js';

export const OUTPUT_FORMATS = ['table', 'json', 'csv', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function readOutputFormat(value: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `unknown --output ${JSON.stringify(value)}; allowed: ${OUTPUT_FORMATS.join(', ')}`,
    );
  }
  return value as OutputFormat;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** A result as text in a text format; chat cells print their answer. */
export function formatResult(result: StatementResult, format: Exclude<OutputFormat, 'parquet'>): string {
  if (result.kind === 'chat' && format === 'table') return `${result.answer ?? ''}\n`;
  if (format === 'json') return `${JSON.stringify(result.rows)}\n`;
  if (format === 'csv') {
    const quote = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
    const lines = [result.columns.map(quote).join(',')];
    for (const row of result.rows) {
      lines.push(
        result.columns.map((column) => quote(row[column] == null ? '' : cellText(row[column]))).join(','),
      );
    }
    return `${lines.join('\n')}\n`;
  }
  if (result.columns.length === 0) return '';
  const rows = result.rows.map((row) =>
    result.columns.map((column) => cellText(row[column]).replace(/\n/g, '\\n')),
  );
  const { widths, lines } = alignColumns(result.columns, rows, ' | ');
  const rule = widths.map((width) => '-'.repeat(width)).join('-+-');
  const count = `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`;
  const [header, ...body] = lines;
  return `${[header, rule, ...body, count].join('\n')}\n`;
}

/** Writes results: text formats to `outputFile` or stdout; Parquet through DuckDB. */
export async function writeResults(
  session: SqlSession,
  results: StatementResult[],
  format: OutputFormat,
  outputFile?: string,
): Promise<void> {
  if (format === 'parquet') {
    const last = results.at(-1);
    if (!last) return;
    if (!outputFile && process.stdout.isTTY) {
      throw new InvalidArgumentError(
        '--output parquet is binary: give --output_file PATH or redirect stdout',
      );
    }
    const target =
      outputFile ?? path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-sql-')), 'out.parquet');
    await session.exportRows(last, target);
    if (!outputFile) {
      process.stdout.write(await fs.readFile(target));
      await fs.rm(path.dirname(target), { recursive: true, force: true });
    }
    return;
  }
  const text = results.map((result) => formatResult(result, format)).join('');
  if (outputFile) await fs.writeFile(outputFile, text);
  else process.stdout.write(text);
}

/** A one-line progress display on a terminal for statements with more than one chunk of calls. */
export function progressLine(stream: NodeJS.WriteStream): {
  update(progress: QueryProgress): void;
  clear(): void;
} {
  let shown = false;
  return {
    update(progress) {
      if (!stream.isTTY || progress.total <= 2048) return;
      shown = true;
      stream.write(
        `\r\x1b[K${progress.done}/${progress.total} rows  ${progress.rowsPerSecond.toFixed(0)} rows/s  ${progress.errors} errors`,
      );
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
