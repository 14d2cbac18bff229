/**
 * The ONLY place that maps byzerllm errors to OpenAI error bodies and HTTP statuses.
 *
 * OpenAI clients branch on the status (the SDKs retry 429 and 5xx, honouring `Retry-After`) and show
 * `error.message`, so the status must say whose fault it is: 4xx for the caller's request, 502/504 when
 * the upstream provider failed, 429 when there is no capacity right now. Gateway-only situations that
 * have no error code of their own (bad API key, body too large, unknown route) travel as
 * `InvalidArgumentError` with `details.reason`; they are mapped here too.
 */
import { type ByzerLLMError, type ErrorCode, InvalidArgumentError } from '../core/index.js';

/** Why a gateway request was refused before it reached the cluster (`details.reason`). */
export type GatewayRefusal =
  | 'unauthenticated'
  | 'body_too_large'
  | 'route_not_found'
  | 'method_not_allowed'
  // Virtual keys and rate limits (`gate-admission.ts`).
  | 'model_not_allowed'
  | 'budget_exceeded'
  | 'rate_limited';

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export interface MappedError {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

/** A refusal of the gateway itself, mapped below by its reason. */
export function gatewayRefusal(reason: GatewayRefusal, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { details: { reason } });
}

/** A bad request field; `param` is the OpenAI `error.param` (e.g. `messages[0].role`). */
export function badField(param: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { details: { param } });
}

const REFUSALS: Record<GatewayRefusal, { status: number; type: string; code: string }> = {
  unauthenticated: { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  body_too_large: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  route_not_found: { status: 404, type: 'invalid_request_error', code: 'unknown_url' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', code: 'method_not_allowed' },
  model_not_allowed: { status: 403, type: 'permission_error', code: 'model_not_allowed' },
  // OpenAI answers a spent quota with 429 `insufficient_quota`; the SDKs do not retry that code.
  budget_exceeded: { status: 429, type: 'insufficient_quota', code: 'budget_exceeded' },
  rate_limited: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
};

const BY_CODE: Record<ErrorCode, { status: number; type: string }> = {
  invalid_argument: { status: 400, type: 'invalid_request_error' },
  unsupported: { status: 400, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  already_exists: { status: 409, type: 'invalid_request_error' },
  insufficient_resources: { status: 409, type: 'invalid_request_error' },
  capacity_exhausted: { status: 429, type: 'rate_limit_error' },
  upstream_rate_limit: { status: 429, type: 'rate_limit_error' },
  // The provider is overloaded (503/529): a retry later may succeed.
  upstream_overloaded: { status: 503, type: 'server_error' },
  // The provider refused what the caller asked (context too long, bad parameter for that model).
  upstream_bad_request: { status: 400, type: 'invalid_request_error' },
  // The deployment's own credentials or model name are wrong: the gateway's problem, not the caller's.
  upstream_auth: { status: 502, type: 'upstream_error' },
  upstream_not_found: { status: 502, type: 'upstream_error' },
  upstream_error: { status: 502, type: 'upstream_error' },
  upstream_unreachable: { status: 502, type: 'upstream_error' },
  timeout: { status: 504, type: 'timeout_error' },
  worker_failed: { status: 503, type: 'server_error' },
  head_unreachable: { status: 503, type: 'server_error' },
  // Nobody reads it (the client left); nginx's convention.
  aborted: { status: 499, type: 'invalid_request_error' },
  internal: { status: 500, type: 'server_error' },
};

/**
 * OpenAI's `model_not_found` for a missing deployment; a `NotFoundError` about something else says
 * what in `details.resource` (storage: `table`, `route`), which becomes `<resource>_not_found`.
 */
function notFoundCode(details: Record<string, unknown>): string {
  const resource = details.resource;
  return typeof resource === 'string' && /^[a-z]{1,32}$/.test(resource)
    ? `${resource}_not_found`
    : // A missing thing that names its field (a stored response id) is not a missing model.
      typeof details.param === 'string'
      ? 'not_found'
      : 'model_not_found';
}

export function mapError(error: ByzerLLMError): MappedError {
  const details = error.details;
  const refusal = typeof details.reason === 'string' ? REFUSALS[details.reason as GatewayRefusal] : undefined;
  const mapping = refusal ?? BY_CODE[error.code] ?? BY_CODE.internal;
  const headers: Record<string, string> = {};
  if (mapping.status === 429) {
    const seconds = typeof details.retryAfterSeconds === 'number' ? details.retryAfterSeconds : 1;
    headers['retry-after'] = String(Math.max(0, Math.ceil(seconds)));
  }
  const code = refusal?.code ?? (error.code === 'not_found' ? notFoundCode(details) : error.code);
  return {
    status: mapping.status,
    headers,
    body: {
      error: {
        // Internal failures keep their message out of the answer: it may name files or stacks.
        message: error.code === 'internal' ? 'internal server error' : error.message,
        type: mapping.type,
        code,
        param: typeof details.param === 'string' ? details.param : null,
      },
    },
  };
}
