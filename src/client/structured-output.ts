/**
 * Structured output: a zod schema in, a typed, validated value out.
 *
 * Native mode (engine meta `support_response_format`): `ChatRequest.responseFormat` carries the JSON
 * Schema. Prompt mode: the schema is appended to the last user message. Either way the answer is
 * located (`extractJson`), validated with zod, and on failure the model gets ONE repair round (the
 * validation problems, and a request for corrected JSON); still failing → `meta.reason`.
 */
import { z } from 'zod';
import { extractJson } from './extract.js';

export type ResponseClassFormatFunc = (input: {
  question: string;
  schema: Record<string, unknown>;
}) => string;

export const defaultResponseClassFormat: ResponseClassFormatFunc = ({ question, schema }) =>
  [
    question,
    '',
    'Answer with only one JSON value inside a ```json block that matches this JSON Schema:',
    '```json',
    JSON.stringify(schema, null, 2),
    '```',
  ].join('\n');

/** The follow-up turn of `responseAfterChat`: turn the previous answer into JSON. */
export function afterChatPrompt(schema: Record<string, unknown>): string {
  return [
    'Reorganise your previous answer as one JSON value inside a ```json block matching this JSON Schema:',
    '```json',
    JSON.stringify(schema, null, 2),
    '```',
  ].join('\n');
}

export function repairPrompt(reason: string): string {
  return `Your answer could not be used: ${reason}\nAnswer again with only the corrected JSON inside a \`\`\`json block.`;
}

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** Parses and validates an answer; `reason` names what went wrong. */
export function parseStructured<Schema extends z.ZodType>(
  text: string,
  schema: Schema,
): { ok: true; value: z.infer<Schema> } | { ok: false; reason: string } {
  const found = extractJson(text);
  if (!found) return { ok: false, reason: 'No json block found in the answer' };
  const parsed = schema.safeParse(found.value);
  if (!parsed.success) {
    return { ok: false, reason: `the JSON does not match the schema: ${z.prettifyError(parsed.error)}` };
  }
  return { ok: true, value: parsed.data };
}
