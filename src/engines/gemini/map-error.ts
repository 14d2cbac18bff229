/**
 * Gemini error bodies are Google's `{error:{code, message, status, details}}`, read by the shared
 * mapper; one exception: a bad API key comes back as HTTP 400 `INVALID_ARGUMENT` with reason
 * `API_KEY_INVALID`, which is an authentication failure, not a bad request.
 */
import { type ByzerLLMError, UpstreamError } from '../../core/errors.js';
import { type ErrorMappingContext, errorFromResponse } from '../shared/upstream-errors.js';
import type { HttpErrorResponse } from '../shared/http-client.js';

export function geminiErrorFromResponse(
  response: HttpErrorResponse,
  context: ErrorMappingContext,
): ByzerLLMError {
  const error = errorFromResponse(response, context);
  if (response.status === 400 && response.bodyText.includes('API_KEY_INVALID')) {
    return new UpstreamError('upstream_auth', error.message, { details: error.details });
  }
  return error;
}
