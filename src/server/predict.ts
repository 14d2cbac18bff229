/**
 * Byzer's `POST /model/predict`: form fields (`sql`, `data`, `dataType`, …) in, JSON rows out. The
 * gateway only reads the form and answers; what the SQL means is the injected `PredictHandler`'s
 * business (the head process composes it from the SQL layer, which the server may not import).
 */
import { badField } from './map-error.js';

/** Runs a predict request: the form's fields → the JSON answer. Throws ByzerLLMErrors. */
export type PredictHandler = (form: Record<string, string>, signal: AbortSignal) => Promise<unknown>;

/** Reads `application/x-www-form-urlencoded` (what Byzer's Python `requests.post(data=…)` sends) or JSON. */
export function readPredictForm(body: Buffer, contentType: string | undefined): Record<string, string> {
  const text = body.toString('utf8');
  if ((contentType ?? '').includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw badField('body', `the request body is not valid JSON (${(error as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw badField('body', 'the request body must be a JSON object of form fields');
    }
    return Object.fromEntries(
      Object.entries(parsed).map(([key, value]) => [
        key,
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
    );
  }
  return Object.fromEntries(new URLSearchParams(text));
}
