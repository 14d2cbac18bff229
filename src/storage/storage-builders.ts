/**
 * The original's builders in TypeScript idioms: `schemaBuilder()`, `writeBuilder()` and
 * `queryBuilder()` each collect settings and send one storage-protocol request on `execute()`.
 * They take a narrow `TableHandle` (where the table is and how to reach it), not the facade.
 */
import { InvalidArgumentError } from '../core/index.js';
import type {
  Filter,
  FilterCondition,
  QueryRequest,
  StorageConnection,
  StoredRow,
  TableLocation,
} from './storage-protocol.js';
import {
  type FieldOptionName,
  type FieldSpec,
  type FieldType,
  formatSchema,
  type ScalarType,
  SCALAR_TYPES,
  type SortOrder,
} from './table-schema.js';

export interface TableHandle {
  location: TableLocation;
  connection: StorageConnection;
  /** The embedding deployment; the cluster's (default `emb`) when unset. */
  embModel?: string;
}

function embModelOf(handle: TableHandle): { embModel?: string } {
  return handle.embModel === undefined ? {} : { embModel: handle.embModel };
}

/** A type as the builders accept it: a scalar name, or `array(float)`-style text. */
export type TypeLike = ScalarType | FieldType;

function toFieldType(type: TypeLike): FieldType {
  if (typeof type !== 'string') return type;
  if (!(SCALAR_TYPES as readonly string[]).includes(type)) {
    throw new InvalidArgumentError(
      `unknown type ${JSON.stringify(type)}; allowed: ${SCALAR_TYPES.join(', ')}`,
    );
  }
  return { kind: 'scalar', type };
}

/** Collects fields; `execute()` creates the table (false when it already exists). */
export class SchemaBuilder {
  private readonly fields: FieldSpec[] = [];

  constructor(private readonly handle?: TableHandle) {}

  addField(name: string, type: TypeLike, options: FieldOptionName[] = []): this {
    this.fields.push({ name, type: toFieldType(type), options: [...options] });
    return this;
  }

  addArrayField(name: string, elementType: TypeLike, options: FieldOptionName[] = []): this {
    this.fields.push({
      name,
      type: { kind: 'array', element: toFieldType(elementType) },
      options: [...options],
    });
    return this;
  }

  addMapField(name: string, keyType: TypeLike, valueType: TypeLike): this {
    this.fields.push({
      name,
      type: { kind: 'map', key: toFieldType(keyType), value: toFieldType(valueType) },
      options: [],
    });
    return this;
  }

  /** A nested `st(…)` field built by another (table-less) `SchemaBuilder`. */
  addStructField(name: string, builder: SchemaBuilder): this {
    this.fields.push({ name, type: { kind: 'struct', fields: builder.fieldSpecs() }, options: [] });
    return this;
  }

  fieldSpecs(): FieldSpec[] {
    return this.fields.map((field) => ({ ...field, options: [...field.options] }));
  }

  /** The `st(field(…))` form. */
  toString(): string {
    return formatSchema({ fields: this.fields });
  }

  /** Creates the table; `false` when one of that name exists (nothing is changed then). */
  async execute(options: { vectorDimensions?: Record<string, number> } = {}): Promise<boolean> {
    if (!this.handle)
      throw new InvalidArgumentError('this schema builder builds a struct field; it has no table');
    const { created } = await this.handle.connection.call('createTable', {
      ...this.handle.location,
      schema: this.toString(),
      ...embModelOf(this.handle),
      ...(options.vectorDimensions ? { vectorDimensions: options.vectorDimensions } : {}),
    });
    return created;
  }
}

/** Collects items; `execute()` writes them all in one batch (all or none). */
export class WriteBuilder {
  private readonly items: Record<string, unknown>[] = [];
  private readonly vectorFields = new Set<string>();
  private readonly searchFields = new Set<string>();

  constructor(private readonly handle: TableHandle) {}

  /**
   * `vectorFields`: fields whose text becomes its embedding; `searchFields`: fields whose text is
   * word-segmented for full-text search (`analyze` fields always are).
   */
  addItem(item: Record<string, unknown>, vectorFields: string[] = [], searchFields: string[] = []): this {
    return this.addItems([item], vectorFields, searchFields);
  }

  addItems(items: Record<string, unknown>[], vectorFields: string[] = [], searchFields: string[] = []): this {
    this.items.push(...items);
    for (const field of vectorFields) this.vectorFields.add(field);
    for (const field of searchFields) this.searchFields.add(field);
    return this;
  }

  /** Writes the items; resolves to how many were written. */
  async execute(signal?: AbortSignal): Promise<number> {
    if (this.items.length === 0) return 0;
    const { written } = await this.handle.connection.call(
      'write',
      {
        ...this.handle.location,
        items: this.items,
        vectorFields: [...this.vectorFields],
        searchFields: [...this.searchFields],
        ...embModelOf(this.handle),
      },
      signal,
    );
    this.items.length = 0;
    return written;
  }
}

/** `and`/`or` conditions; `build()` returns to the query builder. */
export class FilterBuilder {
  private readonly conditions: (FilterCondition | Filter)[] = [];

  constructor(
    private readonly operator: 'and' | 'or',
    private readonly done: (filter: Filter) => QueryBuilder,
  ) {}

  addCondition(field: string, value: string | number | boolean): this {
    this.conditions.push({ field, value });
    return this;
  }

  /** A nested filter, e.g. `{ or: [{ field: 'a', value: 1 }, { field: 'a', value: 2 }] }`. */
  addFilter(filter: Filter): this {
    this.conditions.push(filter);
    return this;
  }

  build(): QueryBuilder {
    const filter = this.operator === 'and' ? { and: this.conditions } : { or: this.conditions };
    return this.done(filter);
  }
}

export class QueryBuilder {
  private readonly request: Omit<QueryRequest, keyof TableLocation> = {};

  constructor(private readonly handle: TableHandle) {}

  /** Full-text search of `text` in these `analyze` fields (all of them when none are named). */
  setSearchQuery(text: string, fields: string[] = []): this {
    this.request.searchQuery = { text, fields };
    return this;
  }

  /** Nearest neighbours of a vector, or of the embedding of a text, in the first named vector field. */
  setVectorQuery(query: string | number[], fields: string[]): this {
    this.request.vectorQuery =
      typeof query === 'string' ? { text: query, fields } : { vector: query, fields };
    return this;
  }

  andFilter(): FilterBuilder {
    return new FilterBuilder('and', (filter) => this.setFilter(filter));
  }

  orFilter(): FilterBuilder {
    return new FilterBuilder('or', (filter) => this.setFilter(filter));
  }

  setFilter(filter: Filter): this {
    this.request.filter = filter;
    return this;
  }

  sort(field: string, order: SortOrder = 'desc'): this {
    this.request.sort = [...(this.request.sort ?? []), { field, order }];
    return this;
  }

  setFields(fields: string[]): this {
    this.request.fields = [...fields];
    return this;
  }

  /** At most this many rows. Defaults to 10. */
  setLimit(limit: number): this {
    this.request.limit = limit;
    return this;
  }

  /** The request body this builder sends. */
  toRequest(): QueryRequest {
    return { ...this.handle.location, ...this.request, ...embModelOf(this.handle) };
  }

  async execute(signal?: AbortSignal): Promise<StoredRow[]> {
    return (await this.handle.connection.call('query', this.toRequest(), signal)).rows;
  }

  /** Deletes every row the filter matches (filter-only queries; the original's `delete()`). */
  async delete(): Promise<number> {
    if (this.request.searchQuery || this.request.vectorQuery) {
      throw new InvalidArgumentError('delete() takes a filter only; remove setSearchQuery/setVectorQuery');
    }
    if (!this.request.filter)
      throw new InvalidArgumentError(
        'delete() needs a filter (andFilter()/orFilter()); use truncateTable() to delete all',
      );
    const { deleted } = await this.handle.connection.call('deleteByFilter', {
      ...this.handle.location,
      filter: this.request.filter,
    });
    return deleted;
  }
}
