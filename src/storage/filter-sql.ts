/**
 * Filters (`{and|or: [{field, value}, …]}`) as LanceDB `where` predicates.
 *
 * Field names are checked against the schema (filterable fields only) and quoted; values are
 * type-checked against the field and written as SQL literals, strings with quotes doubled — no
 * caller text reaches the predicate unquoted.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { Filter, FilterCondition } from './storage-protocol.js';
import { type FieldSpec, isFilterable, type TableSchema } from './table-schema.js';

export function quoteIdentifier(name: string): string {
  return `\`${name}\``;
}

function literal(field: FieldSpec, value: FilterCondition['value']): string {
  if (field.type.kind !== 'scalar')
    throw new InvalidArgumentError(`field ${field.name} cannot be filtered on`);
  const type = field.type.type;
  const wrong = () =>
    new InvalidArgumentError(`filter on ${field.name}: ${JSON.stringify(value)} is not a ${type} value`);
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw wrong();
      return `'${value.replaceAll("'", "''")}'`;
    case 'long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrong();
      return String(value);
    case 'float':
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrong();
      return String(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong();
      return value ? 'TRUE' : 'FALSE';
  }
}

function filterableField(schema: TableSchema, name: string): FieldSpec {
  const field = schema.fields.find((candidate) => candidate.name === name);
  const allowed = () =>
    schema.fields
      .filter(isFilterable)
      .map((candidate) => candidate.name)
      .join(', ');
  if (!field)
    throw new InvalidArgumentError(`filter on unknown field ${name}; filterable fields: ${allowed()}`);
  if (!isFilterable(field)) {
    throw new InvalidArgumentError(
      `field ${name} cannot be filtered on (analyze, no_index and non-scalar fields cannot); filterable fields: ${allowed()}`,
    );
  }
  return field;
}

export function filterToSql(schema: TableSchema, filter: Filter): string {
  const [operator, parts] = 'and' in filter ? (['AND', filter.and] as const) : (['OR', filter.or] as const);
  const clauses = parts.map((part) => {
    if ('field' in part) {
      const field = filterableField(schema, part.field);
      return `${quoteIdentifier(field.name)} = ${literal(field, part.value)}`;
    }
    return filterToSql(schema, part);
  });
  return `(${clauses.join(` ${operator} `)})`;
}

/** `_id IN (…)` for `deleteByIds`, the ids checked against the `_id` type. */
export function idsToSql(schema: TableSchema, ids: (string | number)[]): string {
  const idField = schema.fields.find((field) => field.name === '_id')!;
  return `${quoteIdentifier('_id')} IN (${ids.map((id) => literal(idField, id)).join(', ')})`;
}
