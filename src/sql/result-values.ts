/**
 * DuckDB's JavaScript values → what callers and JSON output expect: safe BIGINTs as numbers
 * (larger ones as decimal text), dates as ISO text, bytes as base64, nested lists/structs/maps kept.
 */
export function jsValue(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsValue(item)]));
  }
  return value;
}

export function jsRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, jsValue(value)]));
}
