/**
 * A write's items as rows, ready for the one LanceDB commit that adds them all.
 *
 * Every item is checked against the schema before the (slow) embedding of its vector fields, and
 * again after, so a bad item fails the batch before any model time is spent and nothing is written.
 */
import { InvalidArgumentError, toByzerLLMError } from '../core/index.js';
import { createRowConverter, type WriteContext } from './item-values.js';
import type { OpenTable } from './open-table.js';
import { formatType, isVectorType } from './table-schema.js';

export interface WriteItemsRequest {
  table: string;
  items: Record<string, unknown>[];
  vectorFields: string[];
  searchFields: string[];
}

function checkFieldLists(open: OpenTable, request: WriteItemsRequest): void {
  const fields = new Map(open.schema.fields.map((field) => [field.name, field]));
  for (const name of request.vectorFields) {
    const field = fields.get(name);
    if (!field || !isVectorType(field.type)) {
      throw new InvalidArgumentError(`vector field ${name} is not an array(float) field of ${request.table}`);
    }
  }
  for (const name of request.searchFields) {
    const field = fields.get(name);
    if (field?.type.kind !== 'scalar' || field.type.type !== 'string') {
      throw new InvalidArgumentError(
        `search field ${name} is not a string field of ${request.table}${field ? ` (it is ${formatType(field.type)})` : ''}`,
      );
    }
  }
}

function toRows(items: Record<string, unknown>[], context: WriteContext): Record<string, unknown>[] {
  const convert = createRowConverter(context);
  return items.map((item, index) => {
    try {
      return convert(item);
    } catch (error) {
      throw new InvalidArgumentError(`item ${index}: ${toByzerLLMError(error).message}`);
    }
  });
}

/** The rows to add; `embed` turns the texts of vector fields into vectors. */
export async function itemsToRows(
  open: OpenTable,
  request: WriteItemsRequest,
  embed: (texts: string[]) => Promise<number[][]>,
): Promise<Record<string, unknown>[]> {
  checkFieldLists(open, request);
  const context: WriteContext = {
    schema: open.schema,
    vectorDimensions: open.vectorDimensions,
    searchFields: new Set(request.searchFields),
  };
  const pending = request.vectorFields.flatMap((name) =>
    request.items.flatMap((item, index) => (typeof item[name] === 'string' ? [{ index, name }] : [])),
  );
  if (pending.length === 0) return toRows(request.items, context);
  const items = request.items.map((item) => ({ ...item }));
  for (const { index, name } of pending) items[index]![name] = null;
  toRows(items, context); // everything but the texts to embed, checked before the model runs
  const vectors = await embed(pending.map(({ index, name }) => request.items[index]![name] as string));
  pending.forEach(({ index, name }, position) => {
    items[index]![name] = vectors[position];
  });
  return toRows(items, context);
}
