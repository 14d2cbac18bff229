import type { Table } from '@lancedb/lancedb';
import type { ArrowModule } from './arrow-schema.js';
import type { TableSchema } from './table-schema.js';

/** An open table with what the store knows about it. */
export interface OpenTable {
  table: Table;
  /** The table's Arrow schema, as LanceDB answered it when the table was opened. */
  arrowSchema: ArrowModule.Schema;
  schema: TableSchema;
  vectorDimensions: Record<string, number>;
}
