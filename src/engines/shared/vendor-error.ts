/**
 * Errors for APIs that report failures as codes inside the body (Qianfan `error_code`, MiniMax
 * `base_resp.status_code`, Spark `header.code`, Volcano `code`) rather than as HTTP statuses. The
 * provider maps its code to a kind; the kind decides the stable error code and `isRetryable`
 * exactly as `upstreamErrorFromStatus` does for the equivalent HTTP status.
 */
import { toByzerLLMError, UpstreamError } from '../../core/errors.js';
import { redactSecrets, redactSecretsInValue } from './redact-secrets.js';
import type { HttpClient } from './http-client.js';
import type { RequestDeadline } from './request-deadline.js';
import { callWithRetries } from './retry-loop.js';

export type VendorErrorKind = 'auth' | 'rate_limit' | 'bad_request' | 'not_found' | 'server';

export interface VendorErrorInput {
  provider: string;
  kind: VendorErrorKind;
  /** The provider's own error code, named in the message and kept in `details.vendorCode`. */
  vendorCode: number | string;
  message: string;
  body?: unknown;
  secrets?: readonly string[];
}

export function vendorError(input: VendorErrorInput): UpstreamError {
  const secrets = input.secrets ?? [];
  const text = redactSecrets(input.message.replace(/\s+/g, ' ').trim(), secrets).slice(0, 500);
  const message = `${input.provider} answered error ${input.vendorCode}: ${text || 'no message'}`;
  const details: Record<string, unknown> = { provider: input.provider, vendorCode: input.vendorCode };
  if (input.body !== undefined) details.body = redactSecretsInValue(input.body, secrets);
  switch (input.kind) {
    case 'auth':
      return new UpstreamError('upstream_auth', message, { details });
    case 'rate_limit':
      return new UpstreamError('upstream_rate_limit', message, { details, isRetryable: true });
    case 'bad_request':
      return new UpstreamError('upstream_bad_request', message, { details });
    case 'not_found':
      return new UpstreamError('upstream_not_found', message, { details });
    case 'server':
      return new UpstreamError('upstream_error', message, { details, isRetryable: true });
  }
}

export interface VendorRetryOptions {
  maxRetries: number;
  signal?: AbortSignal | undefined;
  /** The client the calls go through: its `saas.deadline` is the budget of every attempt, inner and outer. */
  client: Pick<HttpClient, 'deadlineMs' | 'describe'>;
}

/**
 * Retries `call` while it fails with a retryable error that a vendor reported inside a 2xx body
 * (those carry `details.vendorCode`; HTTP-status failures are already retried by the HTTP client,
 * so they are not retried twice), through the shared loop. `call` gets `{signal, deadline}` to hand
 * to the HTTP client, so the client's own attempts spend the same budget: the deadline covers
 * every attempt of the request, inner and outer.
 */
export function retryVendorErrors<Result>(
  options: VendorRetryOptions,
  call: (callOptions: { signal: AbortSignal; deadline: RequestDeadline }) => Promise<Result>,
): Promise<Result> {
  return callWithRetries((deadline) => call({ signal: deadline.signal, deadline }), {
    maxRetries: options.maxRetries,
    ...(options.signal ? { signal: options.signal } : {}),
    deadlineMs: options.client.deadlineMs,
    describe: options.client.describe(),
    toError: toByzerLLMError,
    shouldRetry: (failure) => failure instanceof UpstreamError && failure.details.vendorCode !== undefined,
  });
}
