/**
 * Qianfan's error codes → the error hierarchy. Qianfan answers most failures with HTTP 200 and
 * `{error_code, error_msg}`; the OAuth token endpoint answers 4xx with `{error, error_description}`.
 *
 * - 110/111 (access token invalid/expired) → auth, after which the engine fetches a new token once.
 * - 4, 17, 18, 19, 336501, 336502 (QPS, daily, RPM, TPM limits) → rate limit, retryable.
 * - 1, 2, 336000, 336100 (unknown error, service unavailable, internal errors) → server, retryable.
 * - 3, 336001, 336002, 336003, 336004, 336005 … (bad method, body, parameters) → bad request.
 * - 6, 13, 14, 15, 100 (no permission, bad credentials) → auth.
 */
import type { ByzerLLMError } from '../../core/errors.js';
import type { HttpErrorResponse } from '../shared/http-client.js';
import { type VendorErrorKind, vendorError } from '../shared/vendor-error.js';
import { errorFromVendorResponse } from '../shared/upstream-errors.js';
import { errorBodySchema } from './wire-schemas.js';

export const TOKEN_ERROR_CODES = new Set([110, 111]);
const RATE_LIMIT_CODES = new Set([4, 17, 18, 19, 336501, 336502]);
const SERVER_CODES = new Set([1, 2, 336000, 336100]);
const AUTH_CODES = new Set([6, 13, 14, 15, 100, 110, 111]);

export interface QianfanErrorContext {
  provider: string;
  secrets: readonly string[];
}

/** The error a body stands for, or undefined when it is not an error body. */
export function errorFromBody(body: unknown, context: QianfanErrorContext): ByzerLLMError | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { error_code: rawCode, error_msg: errorMessage, error, error_description: description } = parsed.data;
  if (rawCode !== undefined && rawCode !== null) {
    const code = Number(rawCode);
    const kind: VendorErrorKind = AUTH_CODES.has(code)
      ? 'auth'
      : RATE_LIMIT_CODES.has(code)
        ? 'rate_limit'
        : SERVER_CODES.has(code)
          ? 'server'
          : 'bad_request';
    return vendorError({ ...context, kind, vendorCode: code, message: errorMessage ?? '', body });
  }
  if (error) {
    return vendorError({
      ...context,
      kind: 'auth',
      vendorCode: error,
      message: description ?? error,
      body,
    });
  }
  return undefined;
}

/** For the HTTP client: 200 JSON bodies answered to stream requests, and non-2xx answers. */
export function errorFromResponse(response: HttpErrorResponse, context: QianfanErrorContext): ByzerLLMError {
  return errorFromVendorResponse(response, context, errorFromBody);
}
