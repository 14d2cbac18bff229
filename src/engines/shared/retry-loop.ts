/**
 * The shared retry policy as a loop around any call, for providers whose requests go through a
 * vendor SDK rather than `HttpClient` (AWS Bedrock): the same rule — retry errors whose
 * `isRetryable` is true, up to `maxRetries` times, waiting the upstream's `retryAfterSeconds` when
 * it sent one, else exponential backoff with full jitter — the same abort behaviour, and the same
 * total deadline (`saas.deadline`): the signal each attempt gets aborts when it passes, and the caller
 * then sees a `TimeoutError` that is not retryable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, type ByzerLLMError } from '../../core/errors.js';
import { DEFAULT_DEADLINE_MS, RequestDeadline } from './request-deadline.js';
import { type RetryDelayOptions, retryDelayMs } from './retry-policy.js';

export interface RetryLoopOptions {
  maxRetries: number;
  signal?: AbortSignal;
  retry?: RetryDelayOptions;
  /** Total time across every attempt and backoff. Defaults to 600 s. */
  deadlineMs?: number;
  /** Names the upstream in the deadline's error, e.g. `saas/aws_bedrock at https://…`. */
  describe?: string;
  /** Maps whatever the call threw to the error hierarchy (decides `isRetryable`). */
  toError(error: unknown): ByzerLLMError;
}

/** `call` gets a signal that aborts when the caller's does or the deadline passes. */
export async function callWithRetries<T>(
  call: (signal: AbortSignal) => Promise<T>,
  options: RetryLoopOptions,
): Promise<T> {
  const deadline = new RequestDeadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS, options.signal);
  const describe = options.describe ?? 'the upstream';
  try {
    for (let attempt = 0; ; attempt++) {
      if (deadline.expired) throw deadline.timeoutError(describe, attempt);
      if (options.signal?.aborted) throw new AbortedError();
      let failure: ByzerLLMError;
      try {
        return await call(deadline.signal);
      } catch (error) {
        if (deadline.expired) throw deadline.timeoutError(describe, attempt + 1, error);
        failure = options.toError(error);
      }
      if (!failure.isRetryable || failure.code === 'aborted' || attempt >= options.maxRetries) throw failure;
      const retryAfterSeconds = failure.details.retryAfterSeconds;
      const retryAfterMs = typeof retryAfterSeconds === 'number' ? retryAfterSeconds * 1000 : undefined;
      const delayMs = retryDelayMs(attempt, retryAfterMs, options.retry);
      if (delayMs >= deadline.remainingMs()) throw failure;
      try {
        await sleep(delayMs, undefined, { signal: deadline.signal });
      } catch (error) {
        if (deadline.expired) throw deadline.timeoutError(describe, attempt + 1, error);
        throw new AbortedError(undefined, { cause: error });
      }
    }
  } finally {
    // Only the clock stops: a stream the call returned still gets the caller's abort through it.
    deadline.clear();
  }
}
