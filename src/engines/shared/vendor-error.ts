/**
 * Errors for APIs that report failures as codes inside the body (Qianfan `error_code`, MiniMax
 * `base_resp.status_code`, Spark `header.code`, Volcano `code`) rather than as HTTP statuses. The
 * provider maps its code to a kind; the kind decides the stable error code and `isRetryable`
 * exactly as `upstreamErrorFromStatus` does for the equivalent HTTP status.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, UpstreamError } from '../../core/errors.js';
import { redactSecrets, redactSecretsInValue } from './redact-secrets.js';
import { retryDelayMs } from './retry-policy.js';

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

/**
 * Retries `call` while it fails with a retryable error that a vendor reported inside a 2xx body
 * (those carry `details.vendorCode`; HTTP-status failures are already retried by the HTTP client,
 * so they are not retried twice). Exponential backoff with jitter; an abort stops the wait.
 */
export async function retryVendorErrors<Result>(
  maxRetries: number,
  signal: AbortSignal | undefined,
  call: () => Promise<Result>,
): Promise<Result> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const vendorFailure =
        error instanceof UpstreamError && error.isRetryable && error.details.vendorCode !== undefined;
      if (!vendorFailure || attempt >= maxRetries) throw error;
      try {
        await sleep(retryDelayMs(attempt, undefined), undefined, { signal });
      } catch (cause) {
        throw new AbortedError(undefined, { cause });
      }
    }
  }
}
