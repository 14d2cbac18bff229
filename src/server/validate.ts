/**
 * Request validation: zod schemas per endpoint; the first issue becomes a 400 naming the field
 * (OpenAI `error.param`), the bad value and what is allowed.
 */
import type { z } from 'zod';
import { badField } from './map-error.js';

export function parseRequest<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
  const bad = issue.path.reduce<unknown>(
    (current, key) => (current as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey],
    value,
  );
  const shown = bad === undefined ? '' : ` ${truncate(JSON.stringify(bad) ?? String(bad))}`;
  throw badField(param || 'body', `invalid ${param || 'body'}${shown}: ${issue.message}`);
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * `fields` without its `null` and `undefined` entries. OpenAI clients send `null` for "not set"
 * (the schemas accept it with `nullish`); our requests say "not set" by leaving the field out.
 */
export function setFields<Fields extends Record<string, unknown>>(
  fields: Fields,
): { [Key in keyof Fields]?: NonNullable<Fields[Key]> } {
  const present: Record<string, unknown> = {};
  for (const key in fields) {
    if (fields[key] != null) present[key] = fields[key];
  }
  return present as { [Key in keyof Fields]?: NonNullable<Fields[Key]> };
}
