/**
 * Items in and rows out: checks every value of a write against the table's schema before anything
 * is written (so a bad item fails the whole batch and the table stays as it was), and turns the
 * rows LanceDB answers (Arrow values, `bigint` longs) back into plain JSON.
 *
 * Storage shape: scalars and arrays as Arrow columns; vector fields as fixed-size float lists;
 * `map` and `st` fields as JSON text (decoded on the way out); `analyze` fields as their
 * space-separated words (the original also returned the tokenised text, not the original).
 */
import { InvalidArgumentError } from '../core/index.js';
import { segmentText } from './segment-text.js';
import {
  type FieldSpec,
  type FieldType,
  formatType,
  isVectorType,
  type TableSchema,
} from './table-schema.js';

export interface WriteContext {
  schema: TableSchema;
  vectorDimensions: Record<string, number>;
  /** Fields to word-segment besides the `analyze` ones. */
  searchFields: ReadonlySet<string>;
}

function bad(field: string, message: string): never {
  throw new InvalidArgumentError(`field ${field}: ${message}`);
}

function checkValue(path: string, type: FieldType, value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'scalar':
      switch (type.type) {
        case 'string':
          if (typeof value !== 'string') bad(path, `expected a string, got ${typeof value}`);
          return value;
        case 'long':
          if (typeof value !== 'number' || !Number.isSafeInteger(value))
            bad(path, `expected an integer (long), got ${JSON.stringify(value)}`);
          return value;
        case 'float':
        case 'double':
          if (typeof value !== 'number' || !Number.isFinite(value))
            bad(path, `expected a finite number (${type.type}), got ${JSON.stringify(value)}`);
          return value;
        case 'boolean':
          if (typeof value !== 'boolean') bad(path, `expected true or false, got ${JSON.stringify(value)}`);
          return value;
      }
      break;
    case 'array':
      if (!Array.isArray(value)) bad(path, `expected an array of ${formatType(type.element)}`);
      return value.map((element, index) => checkValue(`${path}[${index}]`, type.element, element, depth + 1));
    case 'map':
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value))
        bad(path, `expected an object (${formatType(type)})`);
      const record = value as Record<string, unknown>;
      if (type.kind === 'map') {
        for (const [key, inner] of Object.entries(record))
          checkValue(`${path}.${key}`, type.value, inner, depth + 1);
      } else {
        const known = new Map(type.fields.map((field) => [field.name, field]));
        for (const [key, inner] of Object.entries(record)) {
          const field = known.get(key);
          if (!field) bad(`${path}.${key}`, `unknown field; ${path} has ${[...known.keys()].join(', ')}`);
          checkValue(`${path}.${key}`, field.type, inner, depth + 1);
        }
      }
      // Stored as JSON text; only the top level encodes (nested values stay objects inside it).
      return depth === 0 ? JSON.stringify(record) : record;
    }
  }
}

function vectorValue(field: FieldSpec, value: unknown, dimension: number | undefined): number[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) bad(field.name, 'expected a vector (array of numbers) or text to embed');
  if (dimension !== undefined && value.length !== dimension) {
    bad(field.name, `vector has ${value.length} dimensions; the table's ${field.name} has ${dimension}`);
  }
  for (const element of value) {
    if (typeof element !== 'number' || !Number.isFinite(element))
      bad(field.name, 'vector values must be finite numbers');
  }
  return value as number[];
}

type FieldPlan = { field: FieldSpec; vector: boolean; segment: boolean; dimension: number | undefined };

/**
 * A converter from items to rows for one write: the per-field decisions are made once, then each
 * item is checked and converted (throwing naming the first bad field). Vectors must be embedded.
 */
export function createRowConverter(
  context: WriteContext,
): (item: Record<string, unknown>) => Record<string, unknown> {
  const plans: FieldPlan[] = context.schema.fields.map((field) => ({
    field,
    vector: isVectorType(field.type),
    segment: field.options.includes('analyze') || context.searchFields.has(field.name),
    dimension: context.vectorDimensions[field.name],
  }));
  const names = new Set(plans.map((plan) => plan.field.name));
  return (item) => {
    for (const key in item) {
      if (!names.has(key)) bad(key, `not in the table's schema; its fields are ${[...names].join(', ')}`);
    }
    const row: Record<string, unknown> = {};
    for (const plan of plans) {
      const name = plan.field.name;
      const value = item[name];
      if (plan.vector) {
        row[name] = vectorValue(plan.field, value, plan.dimension);
        continue;
      }
      const checked = checkValue(name, plan.field.type, value);
      row[name] = plan.segment && typeof checked === 'string' ? segmentText(checked) : checked;
    }
    if (row._id === null) bad('_id', 'every item needs an _id');
    return row;
  };
}

/** One item as a row to store (see `createRowConverter`). */
export function itemToRow(item: Record<string, unknown>, context: WriteContext): Record<string, unknown> {
  return createRowConverter(context)(item);
}

/** A typed array as numbers (`array(long)` comes back as a `BigInt64Array`). */
function typedNumbers(view: ArrayBufferView): number[] {
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) return Array.from(view, Number);
  return Array.from(view as unknown as ArrayLike<number>);
}

/** An Arrow value (bigint, vectors, typed arrays, struct rows) as plain JSON. */
export function plainValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (ArrayBuffer.isView(value)) return typedNumbers(value);
  if (typeof value === 'object') {
    const candidate = value as { toArray?: () => unknown; toJSON?: () => unknown };
    if (typeof candidate.toArray === 'function') {
      const elements = candidate.toArray();
      // Vectors come back as typed arrays: copy them as numbers without a call per element.
      if (ArrayBuffer.isView(elements)) return typedNumbers(elements);
      return Array.from(elements as Iterable<unknown>, plainValue);
    }
    if (Array.isArray(value)) return value.map(plainValue);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plainValue(inner)]));
  }
  return value;
}

/** A stored row as the caller sees it: JSON fields decoded, LanceDB's own columns dropped. */
export function rowToPlain(row: Record<string, unknown>, schema: TableSchema): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (!(field.name in row)) continue;
    const value = plainValue(row[field.name]);
    plain[field.name] =
      (field.type.kind === 'map' || field.type.kind === 'struct') && typeof value === 'string'
        ? JSON.parse(value)
        : value;
  }
  return plain;
}
