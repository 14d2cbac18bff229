/**
 * The notebook's console API: `GET/PUT /console/api/notebook` read and save the notebook file,
 * `POST /console/api/notebook/run` runs one cell in the console's SQL session and answers its
 * results with rows as arrays in column order, the first `SAVED_ROWS` of each (what the table shows
 * and the file keeps) and how many there were.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { InvalidArgumentError, UnsupportedError } from '../../core/index.js';
import type { ConsoleNotebookRunner } from './console-features.js';
import { type NotebookResult, type NotebookStore, SAVED_ROWS } from './notebook-store.js';

const runBodySchema = z.strictObject({ source: z.string().min(1).max(100_000) });

export function mountNotebookRoutes(
  app: Hono,
  store: NotebookStore,
  runner: ConsoleNotebookRunner | undefined,
): void {
  app.get('/console/api/notebook', async (context) => context.json(await store.load()));
  app.put('/console/api/notebook', async (context) =>
    context.json(await store.save(await context.req.json().catch(() => null))),
  );
  app.post('/console/api/notebook/run', async (context) => {
    if (!runner) {
      throw new UnsupportedError(
        'this console has no SQL session: DuckDB (@duckdb/node-api) is not installed where the head runs',
      );
    }
    const body = runBodySchema.safeParse(await context.req.json().catch(() => null));
    if (!body.success) throw new InvalidArgumentError('the notebook sends { source: "<cell text>" }');
    const results = await runner.run(body.data.source, context.req.raw.signal);
    return context.json({
      results: results.map((result): NotebookResult & { totalRows: number } => ({
        kind: result.kind,
        columns: result.columns,
        rows: result.rows.slice(0, SAVED_ROWS).map((row) => result.columns.map((column) => row[column])),
        totalRows: result.rows.length,
        ...(result.answer === undefined ? {} : { answer: result.answer }),
      })),
    });
  });
}
