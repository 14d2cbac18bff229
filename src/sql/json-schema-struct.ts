/**
 * The JSON Schema subset `llm(model, prompt, schema)` accepts, read into one shape used three ways:
 * to check a model's answer, to tell DuckDB the STRUCT type of the column (`from_json` structure),
 * and to describe the schema in a repair prompt. Supported: `type` object (with `properties`,
 * `required`), array (with `items`), string (optionally `enum`), integer, number, boolean.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';

export type SchemaShape =
  | { type: 'object'; properties: Record<string, SchemaShape>; required: string[] }
  | { type: 'array'; items: SchemaShape }
  | { type: 'string'; enum?: string[] }
  | { type: 'integer' | 'number' | 'boolean' };

const schemaInput: z.ZodType<Record<string, unknown>> = z.record(z.string(), z.unknown());

/** Reads a schema given as JSON text; throws an `InvalidArgumentError` naming what is unsupported. */
export function readSchema(text: string): { shape: SchemaShape; schema: Record<string, unknown> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`the schema of llm() is not JSON: ${(error as Error).message}`);
  }
  const schema = schemaInput.safeParse(parsed);
  if (!schema.success) throw new InvalidArgumentError('the schema of llm() must be a JSON object');
  return { shape: shapeOf(schema.data, '$'), schema: schema.data };
}

function shapeOf(node: Record<string, unknown>, path: string): SchemaShape {
  const type = node.type;
  switch (type) {
    case 'object': {
      const properties = schemaInput.safeParse(node.properties ?? {});
      if (!properties.success) throw new InvalidArgumentError(`${path}.properties must be an object`);
      const shapes: Record<string, SchemaShape> = {};
      for (const [name, child] of Object.entries(properties.data)) {
        const childNode = schemaInput.safeParse(child);
        if (!childNode.success) throw new InvalidArgumentError(`${path}.${name} must be a schema object`);
        shapes[name] = shapeOf(childNode.data, `${path}.${name}`);
      }
      const required = z.array(z.string()).safeParse(node.required ?? Object.keys(shapes));
      if (!required.success) throw new InvalidArgumentError(`${path}.required must be a list of names`);
      return { type: 'object', properties: shapes, required: required.data };
    }
    case 'array': {
      const items = schemaInput.safeParse(node.items);
      if (!items.success) throw new InvalidArgumentError(`${path}.items must be a schema object`);
      return { type: 'array', items: shapeOf(items.data, `${path}[]`) };
    }
    case 'string': {
      const values = z.array(z.string()).optional().safeParse(node.enum);
      return values.success && values.data ? { type: 'string', enum: values.data } : { type: 'string' };
    }
    case 'integer':
    case 'number':
    case 'boolean':
      return { type };
    default:
      throw new InvalidArgumentError(
        `${path}: unsupported schema type ${JSON.stringify(type)}; allowed: object, array, string, integer, number, boolean`,
      );
  }
}

/** The DuckDB `from_json` structure for a shape, e.g. `{"name":"VARCHAR","age":"BIGINT"}`. */
export function duckdbStructure(shape: SchemaShape): unknown {
  switch (shape.type) {
    case 'object':
      return Object.fromEntries(
        Object.entries(shape.properties).map(([name, child]) => [name, duckdbStructure(child)]),
      );
    case 'array':
      return [duckdbStructure(shape.items)];
    case 'string':
      return 'VARCHAR';
    case 'integer':
      return 'BIGINT';
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
  }
}

/** Problems of `value` against `shape`, each naming the path; empty when it conforms. */
export function schemaProblems(value: unknown, shape: SchemaShape, path = '$'): string[] {
  switch (shape.type) {
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        return [`${path} must be an object`];
      const record = value as Record<string, unknown>;
      const problems = shape.required
        .filter((name) => !(name in record))
        .map((name) => `${path}.${name} is missing`);
      for (const [name, child] of Object.entries(shape.properties)) {
        if (name in record && record[name] !== null)
          problems.push(...schemaProblems(record[name], child, `${path}.${name}`));
      }
      return problems;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path} must be an array`];
      return value.flatMap((item, index) => schemaProblems(item, shape.items, `${path}[${index}]`));
    case 'string':
      if (typeof value !== 'string') return [`${path} must be a string`];
      return shape.enum && !shape.enum.includes(value)
        ? [`${path} must be one of ${shape.enum.join(', ')}`]
        : [];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${path} must be an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path} must be a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path} must be a boolean`];
  }
}

/** The JSON inside a model's answer: the whole text, or the first fenced or braced block. */
export function extractJson(text: string): unknown {
  const candidates = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  if (fenced?.[1]) candidates.push(fenced[1].trim());
  const braced = /[[{][\s\S]*[\]}]/.exec(text);
  if (braced) candidates.push(braced[0]);
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next reading
    }
  }
  return undefined;
}
