/**
 * The one retry loop of every engine: `HttpClient` runs its attempts through it, and so do the
 * SDK-based providers (AWS Bedrock), the retries of error codes that vendors report inside 2xx
 * bodies (Qianfan, MiniMax, Volcengine) and SparkDesk's WebSocket connects.
 *
 * Policy (`retry-policy.ts` for the delays):
 * - An attempt's failure is mapped to the error hierarchy (`toError`); it is retried only when its
 *   `isRetryable` is true (and `shouldRetry` agrees), never an abort, at most `maxRetries` times.
 * - The wait is the upstream's own delay when it gave one (`Retry-After`, `retry-after-ms`, or
 *   `details.retryAfterSeconds`), else exponential backoff with full jitter.
 * - The total deadline (`saas.deadline`) covers every attempt and every wait: each attempt gets a
 *   signal that aborts when the caller's does or the deadline passes; a retry whose wait would end
 *   past the deadline is not started; a request the deadline ended fails with a `TimeoutError` that
 *   is not retryable (its budget is spent).
 * - Loops nest without stretching the budget: an outer loop (vendor codes) hands its `deadline` to
 *   the calls it wraps (`HttpCallOptions.deadline`), and an inner loop given a `deadline` uses it
 *   instead of starting its own clock, so the budget is one for the whole request.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, type ByzerLLMError } from '../../core/errors.js';
import { DEFAULT_DEADLINE_MS, RequestDeadline } from './request-deadline.js';
import { type RetryDelayOptions, retryDelayMs } from './retry-policy.js';

export interface RetryLoopOptions {
  maxRetries: number;
  signal?: AbortSignal;
  retry?: RetryDelayOptions;
  /** Total time across every attempt and backoff. Defaults to 600 s. Ignored when `deadline` is given. */
  deadlineMs?: number;
  /**
   * A deadline already running (an outer loop's): attempts share its budget, and this loop neither
   * restarts nor stops its clock — its owner does.
   */
  deadline?: RequestDeadline;
  /** Names the upstream in the deadline's error, e.g. `saas/aws_bedrock at https://…`. */
  describe?: string;
  /** Maps whatever an attempt threw to the error hierarchy (decides `isRetryable`). */
  toError(error: unknown, deadline: RequestDeadline): ByzerLLMError;
  /**
   * Narrows which retryable failures this loop retries (e.g. only vendor codes, because the HTTP
   * client inside already retried HTTP failures). Defaults to every retryable failure.
   */
  shouldRetry?(failure: ByzerLLMError): boolean;
  /** The delay the upstream asked for before the next attempt; defaults to `details.retryAfterSeconds`. */
  retryAfterMs?(failure: ByzerLLMError): number | undefined;
}

/**
 * Runs `call` until it succeeds, fails for good, or the deadline passes. `call` gets the deadline:
 * its `signal` (or, for undici, `upstreamSignal`) to hand to the upstream, and the deadline itself
 * to pass on to nested calls. The `AbortController` behind `signal` is created only when asked for.
 */
export async function callWithRetries<T>(
  call: (deadline: RequestDeadline) => Promise<T>,
  options: RetryLoopOptions,
  /** Overrides `options.deadline`: options made once can then serve every call (no copy per call). */
  given: RequestDeadline | undefined = options.deadline,
): Promise<T> {
  const owned = given === undefined;
  const deadline = given ?? new RequestDeadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS, options.signal);
  const describe = options.describe ?? 'the upstream';
  try {
    for (let attempt = 0; ; attempt++) {
      if (deadline.expired) throw deadline.timeoutError(describe, attempt);
      if (deadline.aborted) throw new AbortedError();
      let failure: ByzerLLMError;
      try {
        return await call(deadline);
      } catch (error) {
        failure = deadline.expired
          ? deadline.timeoutError(describe, attempt + 1, error)
          : options.toError(error, deadline);
      }
      if (!isRetried(failure, options) || attempt >= options.maxRetries) throw failure;
      const delayMs = retryDelayMs(
        attempt,
        (options.retryAfterMs ?? retryAfterFromDetails)(failure),
        options.retry,
      );
      // A retry that could only start after the deadline is not worth waiting for.
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
    if (owned) deadline.clear();
  }
}

function isRetried(failure: ByzerLLMError, options: RetryLoopOptions): boolean {
  if (!failure.isRetryable || failure.code === 'aborted') return false;
  return options.shouldRetry ? options.shouldRetry(failure) : true;
}

function retryAfterFromDetails(failure: ByzerLLMError): number | undefined {
  const seconds = failure.details.retryAfterSeconds;
  return typeof seconds === 'number' ? seconds * 1000 : undefined;
}
