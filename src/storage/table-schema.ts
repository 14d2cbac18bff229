/**
 * Table schemas of Byzer storage: the original's types, field options and the `st(field(…))` string
 * form, parsed into one validated `TableSchema`.
 *
 * `st(field(_id,string),field(content,string,analyze),field(vector,array(float)))`
 *
 * - scalar types `string | long | float | double | boolean`; `array(t)`, `map(k,v)` and nested
 *   `st(…)` structs;
 * - options `analyze` (word-segmented and full-text indexed), `sort` (may be sorted on), `no_index`
 *   (stored only: neither filtered nor searched);
 * - every `array(float)` field is a vector field; its dimension comes from the embedding model when
 *   the table is created;
 * - every table has an `_id` field of type `string` or `long` (what `deleteByIds` deletes by).
 *
 * The parser is a small recursive descent over at most 64 KiB and 8 levels of nesting, so hostile
 * input costs bounded time and never recurses deeply. Errors name the field or the position.
 */
import { InvalidArgumentError } from '../core/index.js';

/** Scalar types of the original (`DataType` in its Python API). */
export const DataType = {
  STRING: 'string',
  LONG: 'long',
  FLOAT: 'float',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
} as const;
export type ScalarType = (typeof DataType)[keyof typeof DataType];
export const SCALAR_TYPES: readonly ScalarType[] = Object.values(DataType);

export const FieldOption = { ANALYZE: 'analyze', SORT: 'sort', NO_INDEX: 'no_index' } as const;
export type FieldOptionName = (typeof FieldOption)[keyof typeof FieldOption];
export const FIELD_OPTIONS: readonly FieldOptionName[] = Object.values(FieldOption);

export const SortOption = { DESC: 'desc', ASC: 'asc' } as const;
export type SortOrder = (typeof SortOption)[keyof typeof SortOption];

export type FieldType =
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'array'; element: FieldType }
  | { kind: 'map'; key: FieldType; value: FieldType }
  | { kind: 'struct'; fields: FieldSpec[] };

export interface FieldSpec {
  name: string;
  type: FieldType;
  options: FieldOptionName[];
}

export interface TableSchema {
  fields: FieldSpec[];
}

export const FIELD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_SCHEMA_LENGTH = 64 * 1024;
const MAX_DEPTH = 8;
const MAX_FIELDS = 1024;

export function isVectorType(type: FieldType): boolean {
  return type.kind === 'array' && type.element.kind === 'scalar' && type.element.type === 'float';
}

export function formatType(type: FieldType): string {
  switch (type.kind) {
    case 'scalar':
      return type.type;
    case 'array':
      return `array(${formatType(type.element)})`;
    case 'map':
      return `map(${formatType(type.key)},${formatType(type.value)})`;
    case 'struct':
      return formatSchema({ fields: type.fields });
  }
}

/** The `st(field(…),…)` string form of a schema; `parseSchema(formatSchema(s))` gives `s` back. */
export function formatSchema(schema: TableSchema): string {
  const fields = schema.fields.map(
    (field) => `field(${[field.name, formatType(field.type), ...field.options].join(',')})`,
  );
  return `st(${fields.join(',')})`;
}

class SchemaParser {
  private position = 0;
  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new InvalidArgumentError(`invalid schema at character ${this.position + 1}: ${message}`);
  }

  private skipSpace(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position]!)) this.position++;
  }

  private word(): string {
    this.skipSpace();
    const match = /^[A-Za-z0-9_]+/.exec(this.text.slice(this.position, this.position + 160));
    if (!match)
      this.fail(
        `expected a name, found ${JSON.stringify(this.text.slice(this.position, this.position + 12))}`,
      );
    this.position += match[0].length;
    return match[0];
  }

  private expect(character: string): void {
    this.skipSpace();
    if (this.text[this.position] !== character) {
      this.fail(`expected "${character}", found ${JSON.stringify(this.text[this.position] ?? 'the end')}`);
    }
    this.position++;
  }

  private peek(): string | undefined {
    this.skipSpace();
    return this.text[this.position];
  }

  struct(depth: number): FieldSpec[] {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    if (this.word() !== 'st') this.fail('a schema starts with st(');
    this.expect('(');
    const fields: FieldSpec[] = [];
    if (this.peek() === ')') this.fail('st() needs at least one field(…)');
    for (;;) {
      fields.push(this.field(depth));
      if (fields.length > MAX_FIELDS) this.fail(`more than ${MAX_FIELDS} fields`);
      if (this.peek() === ',') {
        this.position++;
        continue;
      }
      this.expect(')');
      return fields;
    }
  }

  private field(depth: number): FieldSpec {
    const keyword = this.word();
    if (keyword !== 'field') this.fail(`expected field(…), found ${JSON.stringify(keyword)}`);
    this.expect('(');
    const name = this.word();
    this.expect(',');
    const type = this.type(depth);
    const options: FieldOptionName[] = [];
    while (this.peek() === ',') {
      this.position++;
      const option = this.word();
      if (!(FIELD_OPTIONS as readonly string[]).includes(option)) {
        this.fail(
          `unknown option ${JSON.stringify(option)} of field ${name}; allowed: ${FIELD_OPTIONS.join(', ')}`,
        );
      }
      options.push(option as FieldOptionName);
    }
    this.expect(')');
    return { name, type, options };
  }

  private type(depth: number): FieldType {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    this.skipSpace();
    const start = this.position;
    const name = this.word();
    if ((SCALAR_TYPES as readonly string[]).includes(name))
      return { kind: 'scalar', type: name as ScalarType };
    if (name === 'st') {
      this.position = start;
      return { kind: 'struct', fields: this.struct(depth + 1) };
    }
    this.expect('(');
    let type: FieldType;
    if (name === 'array') type = { kind: 'array', element: this.type(depth + 1) };
    else if (name === 'map') {
      const key = this.type(depth + 1);
      this.expect(',');
      type = { kind: 'map', key, value: this.type(depth + 1) };
    } else {
      this.position = start;
      this.fail(
        `unknown type ${JSON.stringify(name)}; allowed: ${SCALAR_TYPES.join(', ')}, array(t), map(k,v), st(…)`,
      );
    }
    this.expect(')');
    return type;
  }

  end(): void {
    this.skipSpace();
    if (this.position < this.text.length) this.fail('unexpected text after the schema');
  }
}

/** Parses and validates the `st(field(…))` form. */
export function parseSchema(text: unknown): TableSchema {
  if (typeof text !== 'string')
    throw new InvalidArgumentError('the schema must be a string of the form st(field(…),…)');
  if (text.length > MAX_SCHEMA_LENGTH) {
    throw new InvalidArgumentError(`the schema is ${text.length} characters; at most ${MAX_SCHEMA_LENGTH}`);
  }
  const parser = new SchemaParser(text);
  const fields = parser.struct(0);
  parser.end();
  const schema = { fields };
  validateSchema(schema);
  return schema;
}

function validateFields(fields: FieldSpec[], path: string, topLevel: boolean): void {
  const seen = new Set<string>();
  for (const field of fields) {
    const name = `${path}${field.name}`;
    if (!FIELD_NAME_PATTERN.test(field.name)) {
      throw new InvalidArgumentError(
        `invalid field name ${JSON.stringify(name)}: letters, digits and _ only, not starting with a digit, at most 128`,
      );
    }
    if (seen.has(field.name.toLowerCase())) throw new InvalidArgumentError(`field ${name} appears twice`);
    seen.add(field.name.toLowerCase());
    if (new Set(field.options).size !== field.options.length) {
      throw new InvalidArgumentError(`field ${name} repeats an option`);
    }
    const isString = field.type.kind === 'scalar' && field.type.type === 'string';
    if (field.options.includes('analyze') && !isString) {
      throw new InvalidArgumentError(
        `field ${name}: analyze needs a string field, not ${formatType(field.type)}`,
      );
    }
    if (field.options.includes('sort') && field.type.kind !== 'scalar') {
      throw new InvalidArgumentError(
        `field ${name}: sort needs a scalar field, not ${formatType(field.type)}`,
      );
    }
    if (field.options.includes('no_index') && field.options.length > 1) {
      throw new InvalidArgumentError(`field ${name}: no_index cannot be combined with analyze or sort`);
    }
    if (!topLevel && field.options.length > 0) {
      throw new InvalidArgumentError(`field ${name}: options apply to top-level fields only`);
    }
    if (field.type.kind === 'struct') validateFields(field.type.fields, `${name}.`, false);
    if (field.type.kind === 'map' && field.type.key.kind !== 'scalar') {
      throw new InvalidArgumentError(`field ${name}: map keys must be a scalar type`);
    }
  }
}

export function validateSchema(schema: TableSchema): void {
  if (schema.fields.length === 0) throw new InvalidArgumentError('a schema needs at least one field');
  validateFields(schema.fields, '', true);
  const id = schema.fields.find((field) => field.name === '_id');
  if (!id) throw new InvalidArgumentError('the schema needs an _id field of type string or long');
  if (
    id.type.kind !== 'scalar' ||
    (id.type.type !== 'string' && id.type.type !== 'long') ||
    id.options.length > 0
  ) {
    throw new InvalidArgumentError(
      `field _id must be string or long without options, not ${formatType(id.type)}`,
    );
  }
}

/** The fields a query may filter on: indexed top-level scalars that are not analyzed. */
export function isFilterable(field: FieldSpec): boolean {
  return (
    field.type.kind === 'scalar' && !field.options.includes('analyze') && !field.options.includes('no_index')
  );
}
