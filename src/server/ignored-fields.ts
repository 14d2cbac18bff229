/**
 * Request fields of another vendor's API that deployments cannot honour. Each is either refused (a
 * 400 naming the field: the client relies on it, as on `background: true`) or answered with a
 * warning the client can see in the `x-byzerllm-warnings` header (it only tunes the vendor's own
 * service, as `service_tier` does) — never dropped without a word.
 */
import { badField } from './map-error.js';

/** Field → whether its value asks for something (`false`, `null`, defaults ask for nothing). */
export type FieldCheck = Record<string, (value: unknown) => boolean>;

/** Any value but absent, null and false asks for something. */
export const present = (value: unknown): boolean => value !== undefined && value !== null && value !== false;

/** Throws a 400 for the first refused field the body sets. */
export function refuseFields(body: Record<string, unknown>, refused: FieldCheck, reason: string): void {
  for (const [field, asks] of Object.entries(refused)) {
    if (asks(body[field])) throw badField(field, `${field} is not supported: ${reason}`);
  }
}

/** The `x-byzerllm-warnings` header naming the ignored fields the body sets, or no header. */
export function ignoredFieldsHeader(
  body: Record<string, unknown>,
  ignored: FieldCheck,
): Record<string, string> {
  const fields = Object.entries(ignored)
    .filter(([field, asks]) => asks(body[field]))
    .map(([field]) => field);
  if (fields.length === 0) return {};
  return { 'x-byzerllm-warnings': `ignored (deployments cannot honour them): ${fields.join(', ')}` };
}
