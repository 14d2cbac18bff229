/**
 * The HTTP layer every HTTP-speaking engine shares: JSON POSTs and `text/event-stream` POSTs to one
 * base URL over an undici keep-alive `Pool`.
 *
 * Why undici's `Pool.request` and not global `fetch`: it skips the WHATWG Request/Response/stream
 * machinery, which is measurable when a gateway adds only tenths of a millisecond per request.
 *
 * Contract:
 * - Non-2xx answers are turned into errors by the provider's `errorFromResponse` (which reads the
 *   provider's error body); failures below HTTP by `errorFromTransport` (shared).
 * - Retryable errors (`isRetryable`) are retried up to `maxRetries` times before any byte of a
 *   success response is handed out, with exponential backoff and jitter, or after the delay the
 *   upstream asked for (`retry-after-ms` / `Retry-After`). A stream is never retried once it started.
 * - `signal` aborts the upstream request at any point, including mid-stream and during a backoff;
 *   the caller then sees `AbortedError`, and the upstream sees its connection close.
 * - `timeoutMs` bounds the wait for response headers and each gap between body chunks (idle time,
 *   so long streams that keep producing are not cut).
 * - `deadlineMs` (`saas.deadline`) bounds the whole request across its attempts and backoffs: a JSON
 *   or bytes answer until it is read, a stream until it starts. When it passes the caller gets a
 *   `TimeoutError` that is not retryable (the budget is spent), and no retry starts whose backoff
 *   would end past it.
 * - `proxyUrl` (the seeds' `saas.proxies`) sends every request through an HTTP(S) proxy with undici's
 *   `ProxyAgent` (CONNECT tunnels; `user:password@` in the URL becomes `Proxy-Authorization`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, Pool, ProxyAgent } from 'undici';
import { AbortedError, type ByzerLLMError, UpstreamError } from '../../core/errors.js';
import {
  type ResponseHeaders,
  type RetryDelayOptions,
  parseRetryAfterMs,
  retryDelayMs,
} from './retry-policy.js';
import { DEFAULT_DEADLINE_MS, RequestDeadline } from './request-deadline.js';
import {
  type EventSourceMessage,
  readServerSentEventBatches,
  readServerSentEvents,
} from './server-sent-events.js';
import { errorFromTransport } from './transport-error.js';

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
   * applied after `headers`.
   */
  requestHeaders?: () => Record<string, string>;
}

export interface HttpCallOptions {
  signal?: AbortSignal;
  /** Headers for this call only (e.g. DashScope's `X-DashScope-SSE: enable` on streams). */
  headers?: Record<string, string>;
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

type PoolResponse = Dispatcher.ResponseData;

export class HttpClient {
  /** The base URL as shown in messages: no credentials, no trailing slash. */
  readonly displayUrl: string;
  private readonly pool: Dispatcher;
  private readonly origin: string;
  private closed = false;
  private readonly pathPrefix: string;
  private readonly query: string;
  private readonly jsonHeaders: Record<string, string>;
  private readonly streamHeaders: Record<string, string>;

  constructor(private readonly options: HttpClientOptions) {
    const url = new URL(options.baseUrl);
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.query = url.search;
    this.origin = url.origin;
    this.displayUrl = `${url.origin}${this.pathPrefix}`;
    // One pool per base URL: unlimited keep-alive connections, no pipelining (LLM answers are slow
    // and would block each other on one socket).
    const timeouts = { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs };
    this.pool = options.proxyUrl
      ? new ProxyAgent({ uri: options.proxyUrl, pipelining: 1, ...timeouts })
      : new Pool(url.origin, { pipelining: 1, ...timeouts });
    const common = { 'user-agent': 'byzerllm', 'content-type': 'application/json' };
    const extra = lowerCaseKeys(options.headers);
    this.jsonHeaders = { ...common, accept: 'application/json', ...extra };
    this.streamHeaders = { ...common, accept: 'text/event-stream', ...extra };
  }

  /** POSTs `body` as JSON and returns the parsed JSON answer. */
  async postJson(path: string, body: unknown, options: HttpCallOptions = {}): Promise<JsonResponse> {
    const deadline = this.startDeadline(options.signal);
    let text: string;
    let response: PoolResponse;
    try {
      response = await this.send(
        path,
        JSON.stringify(body),
        withCallHeaders(this.jsonHeaders, options),
        deadline,
      );
      try {
        text = await response.body.text();
      } catch (error) {
        throw this.transportError(error, options.signal, true, deadline);
      }
    } finally {
      deadline.dispose();
    }
    try {
      return { headers: response.headers, body: JSON.parse(text) };
    } catch (error) {
      throw new UpstreamError('upstream_error', `${this.options.provider} answered with invalid JSON`, {
        cause: error,
        details: { provider: this.options.provider, status: response.statusCode, body: text.slice(0, 500) },
      });
    }
  }

  /** POSTs `body` as JSON and resolves once a 2xx answer started; the events follow lazily. */
  async postEventStream(
    path: string,
    body: unknown,
    options: HttpCallOptions = {},
  ): Promise<EventStreamResponse> {
    const { response, deadline } = await this.startStream(path, body, options);
    return {
      headers: response.headers,
      events: this.readEvents(response, options.signal, deadline, readServerSentEvents),
    };
  }

  /** As `postEventStream`, with the events in the batches one read of the body completed. */
  async postEventBatches(
    path: string,
    body: unknown,
    options: HttpCallOptions = {},
  ): Promise<{ headers: ResponseHeaders; batches: AsyncIterable<EventSourceMessage[]> }> {
    const { response, deadline } = await this.startStream(path, body, options);
    return {
      headers: response.headers,
      batches: this.readEvents(response, options.signal, deadline, readServerSentEventBatches),
    };
  }

  /**
   * Sends a stream request within the deadline. Once the stream started the deadline stops (the idle
   * timeout governs from here on; the caller's abort still applies) and is disposed with the body.
   */
  private async startStream(
    path: string,
    body: unknown,
    options: HttpCallOptions,
  ): Promise<{ response: PoolResponse; deadline: RequestDeadline }> {
    const deadline = this.startDeadline(options.signal);
    let response: PoolResponse;
    try {
      response = await this.send(
        path,
        JSON.stringify(body),
        withCallHeaders(this.streamHeaders, options),
        deadline,
      );
    } catch (error) {
      deadline.dispose();
      throw error;
    }
    deadline.clear();
    return { response, deadline };
  }

  /**
   * POSTs `payload` with the given content type (JSON, SSML, multipart) and returns the answer's
   * bytes, for endpoints that answer audio or other binary data. Same retries and errors as `postJson`.
   */
  async postForBytes(
    path: string,
    payload: string | Uint8Array,
    contentType: string,
    options: HttpCallOptions = {},
  ): Promise<BytesResponse> {
    const headers = withCallHeaders(
      { ...this.jsonHeaders, 'content-type': contentType, accept: '*/*' },
      options,
    );
    const deadline = this.startDeadline(options.signal);
    try {
      const response = await this.send(path, payload, headers, deadline);
      try {
        return { headers: response.headers, bytes: new Uint8Array(await response.body.arrayBuffer()) };
      } catch (error) {
        throw this.transportError(error, options.signal, true, deadline);
      }
    } finally {
      deadline.dispose();
    }
  }

  /** Drops every connection, aborting requests still running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  private async *readEvents<Item>(
    response: PoolResponse,
    signal: AbortSignal | undefined,
    deadline: RequestDeadline,
    read: (body: AsyncIterable<Uint8Array>) => AsyncIterable<Item>,
  ): AsyncGenerator<Item> {
    try {
      yield* read(response.body);
    } catch (error) {
      throw this.transportError(error, signal, true);
    } finally {
      deadline.dispose();
      // Early exit (consumer stopped, error): destroy the body so the socket closes and the
      // upstream notices; after a complete read this is a no-op.
      if (!response.body.readableEnded) response.body.destroy();
    }
  }

  private startDeadline(signal: AbortSignal | undefined): RequestDeadline {
    return new RequestDeadline(this.options.deadlineMs ?? DEFAULT_DEADLINE_MS, signal);
  }

  /** Sends with retries within the deadline; returns a 2xx response whose body is still unread. */
  private async send(
    path: string,
    payload: string | Uint8Array,
    headers: Record<string, string>,
    deadline: RequestDeadline,
  ): Promise<PoolResponse> {
    const signal = deadline.signal;
    for (let attempt = 0; ; attempt++) {
      if (deadline.expired) throw deadline.timeoutError(this.describe(), attempt);
      if (signal.aborted) throw new AbortedError();
      let failure: ByzerLLMError;
      let retryAfterMs: number | undefined;
      try {
        const response = await this.pool.request({
          origin: this.origin,
          path: joinPath(this.pathPrefix, path, this.query),
          method: 'POST',
          headers: this.options.requestHeaders
            ? { ...headers, ...lowerCaseKeys(this.options.requestHeaders()) }
            : headers,
          body: payload,
          signal,
        });
        const success = response.statusCode >= 200 && response.statusCode < 300;
        // A JSON answer to a stream request is an error report, not a stream: Qianfan and MiniMax
        // answer 200 with an error body. Mapping it here gives it the same retries as HTTP errors.
        if (success && !(headers.accept === 'text/event-stream' && isJsonContentType(response.headers)))
          return response;
        const bodyText = await response.body.text();
        retryAfterMs = parseRetryAfterMs(response.headers);
        failure = this.options.errorFromResponse({
          status: response.statusCode,
          headers: response.headers,
          bodyText,
          ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: retryAfterMs / 1000 }),
        });
      } catch (error) {
        failure = this.transportError(error, signal, false, deadline, attempt + 1);
      }
      const retryable = failure.isRetryable && failure.code !== 'aborted';
      if (!retryable || attempt >= this.options.maxRetries) throw failure;
      const delayMs = retryDelayMs(attempt, retryAfterMs, this.options.retry);
      // A retry that could only start after the deadline is not worth waiting for.
      if (delayMs >= deadline.remainingMs()) throw failure;
      try {
        await sleep(delayMs, undefined, { signal });
      } catch (error) {
        if (deadline.expired) throw deadline.timeoutError(this.describe(), attempt + 1, error);
        throw new AbortedError(undefined, { cause: error });
      }
    }
  }

  /** `provider at url`, for messages. */
  private describe(): string {
    return `${this.options.provider} at ${this.displayUrl}`;
  }

  private transportError(
    error: unknown,
    signal: AbortSignal | undefined,
    midStream = false,
    deadline?: RequestDeadline,
    attempts = 1,
  ): ByzerLLMError {
    if (deadline?.expired) return deadline.timeoutError(this.describe(), attempts, error);
    return errorFromTransport(error, {
      provider: this.options.provider,
      baseUrl: this.displayUrl,
      timeoutMs: this.options.timeoutMs,
      midStream,
      ...(signal ? { signal } : {}),
    });
  }
}

/** Prefix + path, with the base URL's query (Azure's `api-version`) merged into the path's own. */
function joinPath(prefix: string, path: string, baseQuery: string): string {
  if (baseQuery === '') return `${prefix}${path}`;
  return path.includes('?') ? `${prefix}${path}&${baseQuery.slice(1)}` : `${prefix}${path}${baseQuery}`;
}

function isJsonContentType(headers: ResponseHeaders): boolean {
  const value = headers['content-type'];
  return /^application\/json/i.test(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
}

function withCallHeaders(headers: Record<string, string>, options: HttpCallOptions): Record<string, string> {
  return options.headers ? { ...headers, ...lowerCaseKeys(options.headers) } : headers;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
  return result;
}
