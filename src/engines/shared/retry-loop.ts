/**
 * The shared retry policy as a loop around any call, for providers whose requests go through a
 * vendor SDK rather than `HttpClient` (AWS Bedrock): the same rule — retry errors whose
 * `isRetryable` is true, up to `maxRetries` times, waiting the upstream's `retryAfterSeconds` when
 * it sent one, else exponential backoff with full jitter — and the same abort behaviour.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, type ByzerLLMError } from '../../core/errors.js';
import { type RetryDelayOptions, retryDelayMs } from './retry-policy.js';

export interface RetryLoopOptions {
  maxRetries: number;
  signal?: AbortSignal;
  retry?: RetryDelayOptions;
  /** Maps whatever the call threw to the error hierarchy (decides `isRetryable`). */
  toError(error: unknown): ByzerLLMError;
}

export async function callWithRetries<T>(call: () => Promise<T>, options: RetryLoopOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw new AbortedError();
    let failure: ByzerLLMError;
    try {
      return await call();
    } catch (error) {
      failure = options.toError(error);
    }
    if (!failure.isRetryable || failure.code === 'aborted' || attempt >= options.maxRetries) throw failure;
    const retryAfterSeconds = failure.details.retryAfterSeconds;
    const retryAfterMs = typeof retryAfterSeconds === 'number' ? retryAfterSeconds * 1000 : undefined;
    try {
      await sleep(retryDelayMs(attempt, retryAfterMs, options.retry), undefined, {
        signal: options.signal,
      });
    } catch (error) {
      throw new AbortedError(undefined, { cause: error });
    }
  }
}
