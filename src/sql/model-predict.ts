/**
 * Byzer's `/model/predict` over the SQL layer: the form's `data` (a JSON array of rows) becomes table
 * `data`, the form's `sql` runs over it, the rows come back as JSON. With `dataType=string` (the
 * default, as Byzer's Python snippet sends) every row is one column `feature` holding the row's
 * JSON text, so `select qianwen_chat(array(feature)) as value` works as written; with `dataType=row`
 * the rows' keys become text columns.
 *
 * The SQL comes from the network: it runs in a fresh in-memory DuckDB with file access and
 * extensions off, one statement, no `load`/`save`/`run command`.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import { identifier } from './byzer-commands.js';
import { type SqlCluster, SqlSession } from './sql-session.js';
import { hasTopLevelFrom } from './byzer-statement.js';
import { splitStatements, tokenize } from './sql-tokens.js';

const MAX_ROWS = 10_000;

/** Byzer's other fields (`owner`, `sessionPerUser`, …) are accepted and ignored. */
const formSchema = z.object({
  sql: z.string().min(1, 'the form field "sql" is required'),
  data: z.string().default('[]'),
  dataType: z.enum(['string', 'row']).default('string'),
});

const rowsSchema = z.array(z.unknown()).max(MAX_ROWS, `"data" may hold at most ${MAX_ROWS} rows`);

/** The predict handler the gateway calls (see src/server/predict.ts). */
export function createPredictHandler(cluster: SqlCluster) {
  return async (form: Record<string, string>, signal: AbortSignal): Promise<unknown> => {
    const parsed = formSchema.safeParse(form);
    if (!parsed.success)
      throw new InvalidArgumentError(
        parsed.error.issues
          .map((issue) => `form field "${issue.path.join('.')}": ${issue.message}`)
          .join('; '),
      );
    const { sql, data, dataType } = parsed.data;
    let rows: unknown[];
    try {
      rows = rowsSchema.parse(JSON.parse(data));
    } catch (error) {
      throw new InvalidArgumentError(
        `"data" must be a JSON array of rows: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    if (splitStatements(sql).length !== 1) {
      throw new InvalidArgumentError('"sql" must be exactly one statement');
    }
    // Byzer runs the SQL over the rows: a select without FROM reads table `data`.
    const tokens = tokenize(sql);
    const overData =
      tokens[0]?.value.toLowerCase() === 'select' && !hasTopLevelFrom(tokens)
        ? `${sql.replace(/;\s*$/, '')} FROM data`
        : sql;
    const session = new SqlSession({ cluster, untrusted: true });
    try {
      const connection = await session.open();
      await createDataTable(connection, rows, dataType);
      return await session.run(overData, { signal });
    } finally {
      await session.close();
    }
  };
}

async function createDataTable(
  connection: Awaited<ReturnType<SqlSession['open']>>,
  rows: unknown[],
  dataType: 'string' | 'row',
): Promise<void> {
  const asText = (value: unknown) =>
    value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value);
  if (dataType === 'string') {
    await connection.run('CREATE TABLE data (feature VARCHAR)');
    for (const row of rows) await connection.run('INSERT INTO data VALUES ($1)', [asText(row)]);
    return;
  }
  const objects = rows.map((row, index) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new InvalidArgumentError(
        `dataType=row needs JSON objects; row ${index} is ${JSON.stringify(row)}`,
      );
    }
    return row as Record<string, unknown>;
  });
  const columns = [...new Set(objects.flatMap((row) => Object.keys(row)))];
  if (columns.length === 0) {
    await connection.run('CREATE TABLE data (feature VARCHAR)');
    return;
  }
  await connection.run(
    `CREATE TABLE data (${columns.map((name) => `${identifier(name)} VARCHAR`).join(', ')})`,
  );
  const placeholders = columns.map((_, index) => `$${index + 1}`).join(', ');
  for (const row of objects) {
    await connection.run(
      `INSERT INTO data VALUES (${placeholders})`,
      columns.map((name) => asText(row[name])),
    );
  }
}
