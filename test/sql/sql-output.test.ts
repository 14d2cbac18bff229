/**
 * How `byzerllm sql` prints: aligned tables, CSV quoting, JSON, and the progress line that only a
 * terminal gets, only for statements with more than one chunk (2,048 rows) of model calls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatResult, progressLine } from '../../src/cli/sql-output.js';
import type { StatementResult } from '../../src/sql/index.js';

const result: StatementResult = {
  kind: 'sql',
  position: { line: 1, column: 1 },
  cell: 0,
  columns: ['name', 'note'],
  rows: [
    { name: 'Ann', note: 'says "hi", twice' },
    { name: 'Bob', note: null },
  ],
};

test('table, csv and json output', () => {
  assert.equal(
    formatResult(result, 'table'),
    'name | note\n-----+-----------------\nAnn  | says "hi", twice\nBob  | NULL\n(2 rows)\n',
  );
  assert.equal(formatResult(result, 'csv'), 'name,note\nAnn,"says ""hi"", twice"\nBob,\n');
  assert.deepEqual(JSON.parse(formatResult(result, 'json')), result.rows);
  assert.equal(formatResult({ ...result, kind: 'chat', answer: 'hello' }, 'table'), 'hello\n');
});

test('the progress line shows on a terminal for more than one chunk and is cleared after', () => {
  const written: string[] = [];
  const terminal = {
    isTTY: true,
    write: (text: string) => written.push(text),
  } as unknown as NodeJS.WriteStream;
  const line = progressLine(terminal);
  line.update({ done: 10, total: 2048, errors: 0, rowsPerSecond: 5 });
  assert.deepEqual(written, []);
  line.update({ done: 1500, total: 10000, errors: 3, rowsPerSecond: 612.4 });
  line.clear();
  assert.deepEqual(written, ['\r\x1b[K1500/10000 rows  612 rows/s  3 errors', '\r\x1b[K']);
  const piped: string[] = [];
  const pipe = { isTTY: false, write: (text: string) => piped.push(text) } as unknown as NodeJS.WriteStream;
  progressLine(pipe).update({ done: 1, total: 5000, errors: 0, rowsPerSecond: 1 });
  assert.deepEqual(piped, []);
});
