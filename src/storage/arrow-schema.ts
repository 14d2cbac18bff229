/**
 * A `TableSchema` as an Arrow schema for LanceDB, and the lazy loading of LanceDB itself.
 *
 * LanceDB and Apache Arrow are optional dependencies, imported on first use so that the client,
 * the CLI and the gateway never load the native module unless storage is used. The Byzer schema
 * string and the vector dimensions travel in the Arrow schema's metadata, so a reopened table
 * (after a head restart) knows its fields, options and dimensions without any other file.
 */
import { createRequire } from 'node:module';
import type * as ArrowModule from 'apache-arrow';
import { importOptional } from '../core/index.js';
import { type FieldType, formatSchema, isVectorType, type TableSchema } from './table-schema.js';

export type LanceModule = typeof import('@lancedb/lancedb');
export type { ArrowModule };

export const SCHEMA_METADATA_KEY = 'byzer.schema';
export const DIMENSIONS_METADATA_KEY = 'byzer.vector_dimensions';

let loaded: Promise<{ lancedb: LanceModule; arrow: typeof ArrowModule }> | undefined;

/**
 * Imports LanceDB and Arrow once; a clear error when the optional packages are not installed.
 *
 * Arrow is loaded with `require`, as LanceDB (a CommonJS package) loads it: the ES module build of
 * apache-arrow is a second copy of its classes, whose types LanceDB's `add` cannot read, and the
 * write path hands LanceDB Arrow tables built here (arrow-columns.ts).
 */
export function loadLance(): Promise<{ lancedb: LanceModule; arrow: typeof ArrowModule }> {
  loaded ??= importOptional(
    async () => {
      const lancedb = await import('@lancedb/lancedb');
      return { lancedb, arrow: createRequire(import.meta.url)('apache-arrow') as typeof ArrowModule };
    },
    { feature: 'byzerllm storage', packages: ['@lancedb/lancedb', 'apache-arrow'] },
  ).catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

function arrowType(
  arrow: typeof ArrowModule,
  type: FieldType,
  dimension: number | undefined,
): ArrowModule.DataType {
  switch (type.kind) {
    case 'scalar':
      switch (type.type) {
        case 'string':
          return new arrow.Utf8();
        case 'long':
          return new arrow.Int64();
        case 'float':
          return new arrow.Float32();
        case 'double':
          return new arrow.Float64();
        case 'boolean':
          return new arrow.Bool();
      }
      break;
    case 'array':
      if (dimension !== undefined && isVectorType(type)) {
        return new arrow.FixedSizeList(dimension, new arrow.Field('item', new arrow.Float32(), true));
      }
      return new arrow.List(new arrow.Field('item', arrowType(arrow, type.element, undefined), true));
    case 'map':
    case 'struct':
      return new arrow.Utf8(); // JSON text, see item-values.ts
  }
}

export function toArrowSchema(
  arrow: typeof ArrowModule,
  schema: TableSchema,
  vectorDimensions: Record<string, number>,
): ArrowModule.Schema {
  const fields = schema.fields.map(
    (field) =>
      new arrow.Field(
        field.name,
        arrowType(arrow, field.type, vectorDimensions[field.name]),
        field.name !== '_id',
      ),
  );
  return new arrow.Schema(
    fields,
    new Map([
      [SCHEMA_METADATA_KEY, formatSchema(schema)],
      [DIMENSIONS_METADATA_KEY, JSON.stringify(vectorDimensions)],
    ]),
  );
}
