/**
 * What the AWS SDK throws → the error hierarchy.
 *
 * Service errors carry `$metadata.httpStatusCode` and a modelled `name`: `ThrottlingException`
 * (429) is `upstream_rate_limit`; `ServiceUnavailableException` (503) and `ModelNotReadyException`
 * (429, the model is still being provisioned) are `upstream_overloaded` — capacity, not this
 * caller's rate; everything else goes by status like every other provider. Errors below HTTP
 * (refused, reset, DNS) go through the shared `errorFromTransport`; the SDK's idle `TimeoutError`
 * becomes `TimeoutError`. Texts pass through `redactSecrets`.
 */
import {
  AbortedError,
  type ByzerLLMError,
  TimeoutError,
  UpstreamError,
  upstreamErrorFromStatus,
} from '../../core/errors.js';
import { redactSecrets } from '../shared/redact-secrets.js';
import { errorFromTransport } from '../shared/transport-error.js';

export interface BedrockErrorContext {
  provider: string;
  /** The endpoint as shown to users. */
  baseUrl: string;
  timeoutMs: number;
  secrets: readonly string[];
  signal?: AbortSignal;
  midStream?: boolean;
}

const CAPACITY_ERRORS = new Set(['ServiceUnavailableException', 'ModelNotReadyException']);

/**
 * Statuses of Bedrock's modelled exceptions, for those raised inside an event stream: the SDK throws
 * them after the 200 has arrived, without an HTTP status of their own.
 */
const STATUS_BY_NAME: Record<string, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelStreamErrorException: 424,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

export function errorFromBedrock(error: unknown, context: BedrockErrorContext): ByzerLLMError {
  if (context.signal?.aborted) return new AbortedError(undefined, { cause: error });
  if (!(error instanceof Error)) return errorFromTransport(error, transportContext(context));
  const name = error.name;
  const httpStatus = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const status = httpStatus !== undefined && httpStatus >= 400 ? httpStatus : STATUS_BY_NAME[name];
  const message = redactSecrets(error.message || name, context.secrets)
    .replace(/\s+/g, ' ')
    .trim();
  if (status !== undefined && status >= 400) {
    const body = { type: name, message };
    if (CAPACITY_ERRORS.has(name)) {
      return new UpstreamError(
        'upstream_overloaded',
        `${context.provider} answered HTTP ${status}: ${name}: ${message}`,
        {
          isRetryable: true,
          details: { provider: context.provider, status, body },
        },
      );
    }
    return upstreamErrorFromStatus({
      provider: context.provider,
      status,
      message: `${name}: ${message}`,
      body,
    });
  }
  if (name === 'TimeoutError') {
    return new TimeoutError(
      `${context.provider} at ${context.baseUrl} sent no data for ${context.timeoutMs / 1000} s (saas.timeout)`,
      { cause: error, details: { provider: context.provider, baseUrl: context.baseUrl } },
    );
  }
  return errorFromTransport(error, transportContext(context));
}

function transportContext(context: BedrockErrorContext) {
  return {
    provider: context.provider,
    baseUrl: context.baseUrl,
    timeoutMs: context.timeoutMs,
    ...(context.midStream ? { midStream: true } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
  };
}
