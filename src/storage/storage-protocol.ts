/**
 * The storage protocol: one JSON operation per action on a table, validated with zod at every
 * boundary (in-process calls, the head's admin API, the gateway's `/v1/storage/<operation>`).
 *
 * `ByzerStorage` builds these bodies; `StorageService.call(operation, body)` checks and runs them.
 * Names of clusters, databases and tables become folder names, so they are restricted to
 * letters, digits, `_` and `-`.
 */
import { z } from 'zod';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;
const nameSchema = (what: string) =>
  z
    .string()
    .regex(NAME, `${what}: letters, digits, _ and - only, not starting with -, at most 128 characters`);
const fieldNameSchema = z.string().min(1).max(128);

export const locationSchema = z.strictObject({
  cluster: nameSchema('cluster'),
  database: nameSchema('database'),
  table: nameSchema('table'),
});
export type TableLocation = z.infer<typeof locationSchema>;

export const scalarValueSchema = z.union([z.string().max(65_536), z.number(), z.boolean()]);

export interface FilterCondition {
  field: string;
  value: string | number | boolean;
}
/** `{and: […]}` or `{or: […]}` of equality conditions and nested filters (the original's shape). */
export type Filter = { and: (FilterCondition | Filter)[] } | { or: (FilterCondition | Filter)[] };

const conditionSchema = z.strictObject({ field: fieldNameSchema, value: scalarValueSchema });
export const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    z.strictObject({
      and: z
        .array(z.union([conditionSchema, filterSchema]))
        .min(1)
        .max(1024),
    }),
    z.strictObject({
      or: z
        .array(z.union([conditionSchema, filterSchema]))
        .min(1)
        .max(1024),
    }),
  ]),
);

const vectorSchema = z
  .array(z.number().refine(Number.isFinite, 'vector values must be finite numbers'))
  .min(1)
  .max(65_536);

export const createTableSchema = locationSchema.extend({
  /** The `st(field(…))` form. */
  schema: z.string().min(1).max(65_536),
  /** Dimension per vector field; fields not listed take the dimension of `embModel`'s vectors. */
  vectorDimensions: z.record(fieldNameSchema, z.number().int().min(1).max(65_536)).optional(),
  embModel: z.string().min(1).max(256).optional(),
});

export const writeSchema = locationSchema.extend({
  // Items are checked field by field against the table's schema (item-values.ts); here only their shape.
  items: z
    .array(
      z.custom<Record<string, unknown>>(
        (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
        'each item must be an object',
      ),
    )
    .min(1)
    .max(100_000),
  /** Fields whose text is replaced by its embedding (items may also carry vectors already). */
  vectorFields: z.array(fieldNameSchema).max(64).default([]),
  /** Fields whose text is word-segmented; `analyze` fields always are. */
  searchFields: z.array(fieldNameSchema).max(64).default([]),
  embModel: z.string().min(1).max(256).optional(),
});

export const querySchema = locationSchema.extend({
  searchQuery: z
    .strictObject({ text: z.string().max(8192), fields: z.array(fieldNameSchema).max(64).default([]) })
    .optional(),
  vectorQuery: z
    .strictObject({
      text: z.string().max(65_536).optional(),
      vector: vectorSchema.optional(),
      fields: z.array(fieldNameSchema).min(1).max(64),
    })
    .refine(
      (value) => (value.text === undefined) !== (value.vector === undefined),
      'give text or vector, not both',
    )
    .optional(),
  filter: filterSchema.optional(),
  sort: z
    .array(z.strictObject({ field: fieldNameSchema, order: z.enum(['asc', 'desc']) }))
    .max(16)
    .default([]),
  fields: z.array(fieldNameSchema).max(1024).optional(),
  limit: z.number().int().min(1).max(10_000).default(10),
  embModel: z.string().min(1).max(256).optional(),
});

export const deleteByFilterSchema = locationSchema.extend({ filter: filterSchema });
export const deleteByIdsSchema = locationSchema.extend({
  ids: z
    .array(z.union([z.string().max(4096), z.number().int()]))
    .min(1)
    .max(100_000),
});
export const embedSchema = z.strictObject({
  cluster: nameSchema('cluster').optional(),
  embModel: z.string().min(1).max(256).optional(),
  texts: z.array(z.string().max(65_536)).min(1).max(4096),
});
export const listTablesSchema = z.strictObject({ cluster: nameSchema('cluster') });
export const configureClusterSchema = z.strictObject({
  cluster: nameSchema('cluster'),
  started: z.boolean().optional(),
  embModel: z.string().min(1).max(256).nullable().optional(),
  embDeployed: z.boolean().optional(),
});

/** A cluster as `storage status` shows it. */
export interface ClusterDescription {
  cluster: string;
  directory: string;
  started: boolean;
  /** The deployment that embeds text when a request names none. */
  embModel: string;
  embDeployed: boolean;
  tables: { database: string; table: string; rows: number }[];
}

export type CreateTableRequest = z.input<typeof createTableSchema>;
export type WriteRequest = z.input<typeof writeSchema>;
export type QueryRequest = z.input<typeof querySchema>;
export type ParsedQuery = z.output<typeof querySchema>;
export type DeleteByIdsRequest = z.input<typeof deleteByIdsSchema>;

/** A row as stored and returned: `_id`, the table's fields, and `_score` for searches. */
export type StoredRow = Record<string, unknown>;

export interface TableDescription {
  schema: string;
  vectorDimensions: Record<string, number>;
  rows: number;
}

/** What each operation takes and answers; the keys are the operation names. */
export interface StorageOperations {
  createTable: [CreateTableRequest, { created: boolean }];
  describeTable: [TableLocation, TableDescription];
  listTables: [{ cluster: string }, { tables: TableLocation[] }];
  write: [WriteRequest, { written: number }];
  query: [QueryRequest, { rows: StoredRow[] }];
  deleteByFilter: [z.input<typeof deleteByFilterSchema>, { deleted: number }];
  deleteByIds: [DeleteByIdsRequest, { deleted: number }];
  truncate: [TableLocation, { deleted: number }];
  drop: [TableLocation, { dropped: boolean }];
  commit: [TableLocation, { committed: boolean }];
  embed: [z.input<typeof embedSchema>, { embeddings: number[][] }];
  describeCluster: [{ cluster: string }, ClusterDescription];
  configureCluster: [z.input<typeof configureClusterSchema>, ClusterDescription];
  /** Writes `<cluster>.json` with the tables and their schemas; answers the file's path. */
  exportCluster: [{ cluster: string }, { file: string }];
}
export type StorageOperation = keyof StorageOperations;

export const STORAGE_OPERATIONS: readonly StorageOperation[] = [
  'createTable',
  'describeTable',
  'listTables',
  'write',
  'query',
  'deleteByFilter',
  'deleteByIds',
  'truncate',
  'drop',
  'commit',
  'embed',
  'describeCluster',
  'configureCluster',
  'exportCluster',
];

/**
 * How `ByzerStorage` reaches a store: in-process (`StorageService`), the head's admin API, or any
 * other transport carrying the same JSON.
 */
export interface StorageConnection {
  call<Operation extends StorageOperation>(
    operation: Operation,
    body: StorageOperations[Operation][0],
    signal?: AbortSignal,
  ): Promise<StorageOperations[Operation][1]>;
}
