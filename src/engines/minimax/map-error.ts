/**
 * MiniMax reports failures as `base_resp: {status_code, status_msg}`, mostly inside HTTP 200:
 * 1004 (authentication) → auth; 1002 (RPM limit), 1039 (TPM limit) → rate limit; 1000 (unknown),
 * 1001 (timeout), 1013 (internal) → server, retryable; 1008 (insufficient balance), 1026/1027
 * (sensitive content), 2013 (invalid parameters) and the rest → bad request.
 */
import type { ByzerLLMError } from '../../core/errors.js';
import { errorFromVendorResponse } from '../shared/upstream-errors.js';
import type { HttpErrorResponse } from '../shared/http-client.js';
import { type VendorErrorKind, vendorError } from '../shared/vendor-error.js';
import { baseRespSchema } from './wire-schemas.js';
import { z } from 'zod';

export interface MiniMaxErrorContext {
  provider: string;
  secrets: readonly string[];
}

const withBaseResp = z.looseObject({ base_resp: baseRespSchema });

export function errorFromBody(body: unknown, context: MiniMaxErrorContext): ByzerLLMError | undefined {
  const parsed = withBaseResp.safeParse(body);
  if (!parsed.success || parsed.data.base_resp.status_code === 0) return undefined;
  const code = parsed.data.base_resp.status_code;
  const kind: VendorErrorKind =
    code === 1004
      ? 'auth'
      : code === 1002 || code === 1039
        ? 'rate_limit'
        : code === 1000 || code === 1001 || code === 1013
          ? 'server'
          : 'bad_request';
  return vendorError({
    ...context,
    kind,
    vendorCode: code,
    message: parsed.data.base_resp.status_msg ?? '',
    body,
  });
}

export function errorFromResponse(response: HttpErrorResponse, context: MiniMaxErrorContext): ByzerLLMError {
  return errorFromVendorResponse(response, context, errorFromBody);
}
