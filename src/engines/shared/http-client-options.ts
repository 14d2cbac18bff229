/**
 * The options and answers of `HttpClient` (`http-client.ts`, whose header states the contract).
 */
import type { ByzerLLMError } from '../../core/errors.js';
import type { RequestDeadline } from './request-deadline.js';
import type { ResponseHeaders, RetryDelayOptions } from './retry-policy.js';
import type { EventSourceMessage } from './server-sent-events.js';

/** A non-2xx answer, as the provider's error mapper receives it. */
export interface HttpErrorResponse {
  status: number;
  headers: ResponseHeaders;
  /** The whole response body as text (error bodies are small). */
  bodyText: string;
  /** Parsed from `retry-after-ms` / `Retry-After`, in seconds, when the upstream sent one. */
  retryAfterSeconds?: number;
}

export interface HttpClientOptions {
  /** Provider name used in error messages, e.g. `saas/openai`. */
  provider: string;
  /** Base URL that request paths are appended to, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Headers sent with every request (authorization, custom headers). Names are lower-cased. */
  headers: Record<string, string>;
  /** Idle timeout for headers and between body chunks, in milliseconds. */
  timeoutMs: number;
  /** How many times a retryable failure is retried. 0 disables retries. */
  maxRetries: number;
  /** Total time of one request across its attempts (`saas.deadline`). Defaults to 600 s. */
  deadlineMs?: number;
  /** Builds the error for a non-2xx answer from the provider's error body. */
  errorFromResponse(response: HttpErrorResponse): ByzerLLMError;
  retry?: RetryDelayOptions;
  /** Send every request through this HTTP(S) proxy, e.g. `http://user:pass@proxy:3128`. */
  proxyUrl?: string;
  /**
   * Headers computed for every attempt (short-lived signed tokens such as Zhipu's JWT). They are
   * applied after `headers`. May be async (signing with `jose` is).
   */
  requestHeaders?: () => Record<string, string> | Promise<Record<string, string>>;
}

export interface HttpCallOptions {
  signal?: AbortSignal;
  /** Headers for this call only (e.g. DashScope's `X-DashScope-SSE: enable` on streams). */
  headers?: Record<string, string>;
  /**
   * The deadline of an outer retry loop (vendor codes in 2xx bodies) this call runs inside: its
   * attempts then share that budget instead of starting their own `deadlineMs`.
   */
  deadline?: RequestDeadline;
}

export interface JsonResponse {
  headers: ResponseHeaders;
  body: unknown;
}

/** A 2xx answer read whole as bytes (audio, images). */
export interface BytesResponse {
  headers: ResponseHeaders;
  bytes: Uint8Array;
}

export interface EventStreamResponse {
  headers: ResponseHeaders;
  /**
   * The events, read lazily. Failures while reading throw `ByzerLLMError`s; breaking out of the
   * loop (or `return()`) closes the connection so the upstream stops generating.
   */
  events: AsyncIterable<EventSourceMessage>;
}
