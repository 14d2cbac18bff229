/**
 * One query on a table: filter only, full-text, vector, or hybrid (both, fused by reciprocal rank).
 *
 * - Full-text: the query is word-segmented like the stored text and matched (BM25) in the given
 *   `analyze` fields, all of them when none are named.
 * - Vector: the first named vector field (as in the original), cosine distance, text embedded with
 *   the table's embedding model; `_score` is `1 - distance`.
 * - Hybrid: each side fetches `max(3 × limit, 30)` candidates; a document's score is the sum over the
 *   sides of `1 / (60 + rank)` (RRF, k = 60), best first.
 * - Filters narrow every side before ranking (LanceDB prefilters). Sort applies to the top `limit`
 *   hits of a search, or to every matching row of a filter-only query (read, sorted, then cut).
 */
import type { Table } from '@lancedb/lancedb';
import { InvalidArgumentError } from '../core/index.js';
import { loadLance } from './arrow-schema.js';
import { filterToSql } from './filter-sql.js';
import { rowToPlain } from './item-values.js';
import { segmentText } from './segment-text.js';
import type { OpenTable } from './open-table.js';
import type { ParsedQuery, StoredRow } from './storage-protocol.js';
import { type FieldSpec, isVectorType, type TableSchema } from './table-schema.js';

const RRF_K = 60;

interface Hit {
  row: Record<string, unknown>;
  score: number;
}

function fieldNamed(schema: TableSchema, name: string, role: string): FieldSpec {
  const field = schema.fields.find((candidate) => candidate.name === name);
  if (!field) {
    throw new InvalidArgumentError(
      `${role} names unknown field ${name}; the table's fields are ${schema.fields.map((candidate) => candidate.name).join(', ')}`,
    );
  }
  return field;
}

function searchColumns(schema: TableSchema, names: string[]): string[] {
  const analyzed = schema.fields
    .filter((field) => field.options.includes('analyze'))
    .map((field) => field.name);
  if (names.length === 0) {
    if (analyzed.length === 0)
      throw new InvalidArgumentError('a text search needs an analyze field; the table has none');
    return analyzed;
  }
  for (const name of names) {
    const field = fieldNamed(schema, name, 'the search query');
    if (!field.options.includes('analyze')) {
      throw new InvalidArgumentError(
        `field ${name} is not searchable (not analyze); searchable fields: ${analyzed.join(', ') || 'none'}`,
      );
    }
  }
  return names;
}

function compareValues(left: unknown, right: unknown): number {
  if (left === right) return 0;
  if (left === null || left === undefined) return 1;
  if (right === null || right === undefined) return -1;
  return (left as number | string) < (right as number | string) ? -1 : 1;
}

async function fullTextHits(
  table: Table,
  columns: string[],
  text: string,
  where: string | undefined,
  limit: number,
): Promise<Hit[]> {
  const words = segmentText(text);
  if (words === '') return [];
  const { lancedb } = await loadLance();
  const search =
    columns.length === 1
      ? table.query().fullTextSearch(words, { columns: columns[0]! })
      : table.query().fullTextSearch(new lancedb.MultiMatchQuery(words, columns));
  if (where) search.where(where);
  const rows = (await search.limit(limit).toArray()) as Record<string, unknown>[];
  return rows.map((row) => ({ row, score: Number(row._score ?? 0) }));
}

async function vectorHits(
  open: OpenTable,
  request: NonNullable<ParsedQuery['vectorQuery']>,
  where: string | undefined,
  limit: number,
  embed: (text: string) => Promise<number[]>,
): Promise<Hit[]> {
  const name = request.fields[0]!;
  const field = fieldNamed(open.schema, name, 'the vector query');
  if (!isVectorType(field.type))
    throw new InvalidArgumentError(`field ${name} is not a vector field (array(float))`);
  const vector = request.vector ?? (await embed(request.text!));
  const dimension = open.vectorDimensions[name];
  if (dimension !== undefined && vector.length !== dimension) {
    throw new InvalidArgumentError(
      `the query vector has ${vector.length} dimensions; field ${name} has ${dimension}`,
    );
  }
  const search = open.table.query().nearestTo(vector).column(name).distanceType('cosine');
  if (where) search.where(where);
  const rows = (await search.limit(limit).toArray()) as Record<string, unknown>[];
  return rows.map((row) => ({ row, score: 1 - Number(row._distance ?? 1) }));
}

/** Reciprocal rank fusion of ranked lists, keyed by `_id`. */
export function fuseByRank(lists: Hit[][]): Hit[] {
  const fused = new Map<unknown, Hit>();
  for (const hits of lists) {
    hits.forEach((hit, rank) => {
      const id = hit.row._id;
      const entry = fused.get(typeof id === 'bigint' ? Number(id) : id) ?? { row: hit.row, score: 0 };
      entry.score += 1 / (RRF_K + rank + 1);
      fused.set(typeof id === 'bigint' ? Number(id) : id, entry);
    });
  }
  return [...fused.values()].sort((left, right) => right.score - left.score);
}

export async function runQuery(
  open: OpenTable,
  request: ParsedQuery,
  embed: (text: string) => Promise<number[]>,
): Promise<StoredRow[]> {
  const { schema, table } = open;
  const fields = request.fields ?? schema.fields.map((field) => field.name);
  for (const name of fields) if (name !== '_score') fieldNamed(schema, name, 'setFields');
  for (const order of request.sort) {
    const field = fieldNamed(schema, order.field, 'sort');
    if (!field.options.includes('sort')) {
      const sortable = schema.fields
        .filter((candidate) => candidate.options.includes('sort'))
        .map((candidate) => candidate.name);
      throw new InvalidArgumentError(
        `field ${order.field} cannot be sorted on (no sort option); sortable fields: ${sortable.join(', ') || 'none'}`,
      );
    }
  }
  const where = request.filter ? filterToSql(schema, request.filter) : undefined;
  const isSearch = request.searchQuery !== undefined || request.vectorQuery !== undefined;
  let hits: Hit[];
  if (!isSearch) {
    const scan = table.query();
    if (where) scan.where(where);
    const columns = [
      ...new Set([
        ...fields.filter((name) => name !== '_score'),
        ...request.sort.map((order) => order.field),
      ]),
    ];
    scan.select(columns.length > 0 ? columns : ['_id']);
    // Without a sort, LanceDB stops at the limit; with one, every matching row is read and sorted.
    if (request.sort.length === 0) scan.limit(request.limit);
    const rows = (await scan.toArray()) as Record<string, unknown>[];
    hits = rows.map((row) => ({ row, score: 0 }));
  } else {
    const hybrid = request.searchQuery !== undefined && request.vectorQuery !== undefined;
    const candidates = hybrid ? Math.max(3 * request.limit, 30) : request.limit;
    const lists = await Promise.all([
      request.searchQuery
        ? fullTextHits(
            table,
            searchColumns(schema, request.searchQuery.fields),
            request.searchQuery.text,
            where,
            candidates,
          )
        : undefined,
      request.vectorQuery ? vectorHits(open, request.vectorQuery, where, candidates, embed) : undefined,
    ]);
    const present = lists.filter((list): list is Hit[] => list !== undefined);
    hits = hybrid ? fuseByRank(present) : present[0]!;
  }
  if (request.sort.length > 0) {
    if (isSearch) hits = hits.slice(0, request.limit);
    hits = [...hits].sort((left, right) => {
      for (const order of request.sort) {
        const difference = compareValues(left.row[order.field], right.row[order.field]);
        if (difference !== 0) return order.order === 'asc' ? difference : -difference;
      }
      return 0;
    });
  }
  return hits.slice(0, request.limit).map((hit) => {
    const plain = rowToPlain(hit.row, schema);
    const row: StoredRow = {};
    for (const name of fields) if (name !== '_score') row[name] = plain[name] ?? null;
    if (isSearch && (request.fields === undefined || request.fields.includes('_score')))
      row._score = hit.score;
    return row;
  });
}
