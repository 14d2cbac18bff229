/**
 * When to send a failed request again: exponential backoff with full jitter, unless the upstream
 * said when (`retry-after-ms`, which OpenAI sends, or the standard `Retry-After` in seconds or as an
 * HTTP date). Whether to retry at all is the error's `isRetryable`, decided by the error mappers.
 */
/** Response headers as undici and node:http give them (lower-case names). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface RetryDelayOptions {
  /** Upper bound of the first backoff, doubled per attempt. Defaults to 500 ms. */
  initialDelayMs?: number;
  /** Cap of any backoff. Defaults to 8 s. */
  maxDelayMs?: number;
  /** Longest `Retry-After` honoured; a longer one is clamped to it. Defaults to 60 s. */
  maxRetryAfterMs?: number;
}

const DEFAULT_INITIAL_DELAY_MS = 500;
const DEFAULT_MAX_DELAY_MS = 8_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** The delay the upstream asked for, in milliseconds, or undefined when it gave none (or nonsense). */
export function parseRetryAfterMs(headers: ResponseHeaders, now = Date.now()): number | undefined {
  const milliseconds = firstHeader(headers['retry-after-ms']);
  if (milliseconds !== undefined) {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = firstHeader(headers['retry-after']);
  if (retryAfter === undefined || retryAfter.trim() === '') return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before retry number `attempt + 1` (attempt counts from 0): the upstream's own
 * `retryAfterMs` when given (clamped), otherwise a random delay in [0, min(max, initial * 2^attempt)].
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  options: RetryDelayOptions = {},
): number {
  if (retryAfterMs !== undefined) {
    return Math.min(retryAfterMs, options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
  }
  const ceiling = Math.min(
    options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    (options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS) * 2 ** attempt,
  );
  return Math.random() * ceiling;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
