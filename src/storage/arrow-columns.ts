/**
 * Checked rows (item-values.ts) as one Arrow table, built column by column for the table's Arrow
 * schema, so LanceDB's `add` serialises it as it is.
 *
 * Why: given plain objects, LanceDB infers and converts every value through Arrow's generic
 * builders (`makeArrowTable`), which cost more than the checks and the word segmentation of a write
 * together — most of it on vectors, one boxed number at a time. Here vectors are copied into one
 * `Float32Array`, strings into one UTF-8 buffer, numbers into typed arrays; the rarer types (lists
 * of scalars, booleans) still go through Arrow's builders. The values were checked before (types,
 * dimensions, `_id` present), so building never has to reject one.
 */
import type { ArrowModule } from './arrow-schema.js';

type Data = ArrowModule.Data;
type Row = Record<string, unknown>;

/** The validity bitmap of `values` (bit set = not null), or undefined when none is null. */
function validity(values: readonly unknown[]): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (const value of values) if (value === null || value === undefined) nullCount++;
  if (nullCount === 0) return { bitmap: undefined, nullCount };
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, index) => {
    if (value !== null && value !== undefined) bitmap[index >> 3]! |= 1 << (index & 7);
  });
  return { bitmap, nullCount };
}

function utf8Column(arrow: typeof ArrowModule, type: ArrowModule.Utf8, values: unknown[]): Data {
  const { bitmap, nullCount } = validity(values);
  const offsets = new Int32Array(values.length + 1);
  let bytes = 0;
  const lengths = values.map((value) => (typeof value === 'string' ? Buffer.byteLength(value) : 0));
  for (const length of lengths) bytes += length;
  const data = Buffer.allocUnsafe(bytes);
  let position = 0;
  values.forEach((value, index) => {
    if (typeof value === 'string') position += data.write(value, position, lengths[index]!, 'utf8');
    offsets[index + 1] = position;
  });
  return arrow.makeData({
    type,
    length: values.length,
    nullCount,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

function vectorColumn(
  arrow: typeof ArrowModule,
  type: ArrowModule.FixedSizeList<ArrowModule.Float32>,
  values: unknown[],
): Data {
  const { bitmap, nullCount } = validity(values);
  const dimension = type.listSize;
  const floats = new Float32Array(values.length * dimension);
  values.forEach((value, index) => {
    if (Array.isArray(value)) floats.set(value as number[], index * dimension);
  });
  const child = arrow.makeData({ type: type.children[0]!.type, length: floats.length, data: floats });
  return arrow.makeData({ type, length: values.length, nullCount, nullBitmap: bitmap, child });
}

function numberColumn(
  arrow: typeof ArrowModule,
  type: ArrowModule.Int64 | ArrowModule.Float32 | ArrowModule.Float64,
  values: unknown[],
): Data {
  const { bitmap, nullCount } = validity(values);
  const length = values.length;
  if (arrow.DataType.isInt(type)) {
    const data = new BigInt64Array(length);
    values.forEach((value, index) => {
      if (typeof value === 'number') data[index] = BigInt(value);
    });
    return arrow.makeData({ type, length, nullCount, nullBitmap: bitmap, data });
  }
  const data =
    type.precision === arrow.Precision.SINGLE ? new Float32Array(length) : new Float64Array(length);
  values.forEach((value, index) => {
    if (typeof value === 'number') data[index] = value;
  });
  return arrow.makeData({ type: type as ArrowModule.Float, length, nullCount, nullBitmap: bitmap, data });
}

/** A checked value as Arrow's builders take it: 64-bit integers as `bigint`, inside lists too. */
function builderValue(arrow: typeof ArrowModule, type: ArrowModule.DataType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (arrow.DataType.isInt(type) && type.bitWidth === 64) return BigInt(value as number);
  if (arrow.DataType.isList(type)) {
    const element = type.children[0]!.type;
    return (value as unknown[]).map((item) => builderValue(arrow, element, item));
  }
  return value;
}

/** Any other type through Arrow's own builder (booleans, lists of scalars). */
function builtColumn(arrow: typeof ArrowModule, type: ArrowModule.DataType, values: unknown[]): Data {
  const builder = arrow.makeBuilder({ type, nullValues: [null, undefined] });
  for (const value of values) builder.append(builderValue(arrow, type, value));
  return builder.finish().flush();
}

function column(arrow: typeof ArrowModule, type: ArrowModule.DataType, values: unknown[]): Data {
  if (arrow.DataType.isUtf8(type)) return utf8Column(arrow, type, values);
  if (arrow.DataType.isFixedSizeList(type) && arrow.DataType.isFloat(type.children[0]!.type)) {
    return vectorColumn(arrow, type as ArrowModule.FixedSizeList<ArrowModule.Float32>, values);
  }
  if (arrow.DataType.isInt(type) && type.bitWidth === 64)
    return numberColumn(arrow, type as ArrowModule.Int64, values);
  if (arrow.DataType.isFloat(type) && type.precision !== arrow.Precision.HALF) {
    return numberColumn(arrow, type as ArrowModule.Float32 | ArrowModule.Float64, values);
  }
  return builtColumn(arrow, type, values);
}

/** The rows as one record batch of `schema` (the table's Arrow schema, metadata included). */
export function rowsToArrowTable(
  arrow: typeof ArrowModule,
  schema: ArrowModule.Schema,
  rows: readonly Row[],
): ArrowModule.Table {
  const children = schema.fields.map((field) =>
    column(
      arrow,
      field.type,
      rows.map((row) => row[field.name] ?? null),
    ),
  );
  const struct = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}
