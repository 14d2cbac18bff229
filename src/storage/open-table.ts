import type { Table } from '@lancedb/lancedb';
import type { TableSchema } from './table-schema.js';

/** An open table with what the store knows about it. */
export interface OpenTable {
  table: Table;
  schema: TableSchema;
  vectorDimensions: Record<string, number>;
}
