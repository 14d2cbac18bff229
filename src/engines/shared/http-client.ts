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
 * - Retryable errors (`isRetryable`) are retried by the shared loop (`retry-loop.ts`) up to
 *   `maxRetries` times before any byte of a success response is handed out, with exponential backoff
 *   and jitter, or after the delay the upstream asked for (`retry-after-ms` / `Retry-After`). A
 *   stream is never retried once it started.
 * - `signal` aborts the upstream request at any point, including mid-stream and during a backoff;
 *   the caller then sees `AbortedError`, and the upstream sees its connection close.
 * - `timeoutMs` bounds the wait for response headers and each gap between body chunks (idle time,
 *   so long streams that keep producing are not cut).
 * - `deadlineMs` (`saas.deadline`) bounds the whole request across its attempts and backoffs: a JSON
 *   or bytes answer until it is read, a stream until it starts. When it passes the caller gets a
 *   `TimeoutError` that is not retryable (the budget is spent), and no retry starts whose backoff
 *   would end past it.
 * - `proxyUrl` (Byzer-LLM's `saas.proxies`) sends every request through an HTTP(S) proxy with undici's
 *   `ProxyAgent` (CONNECT tunnels; `user:password@` in the URL becomes `Proxy-Authorization`).
 */
import { type Dispatcher, Pool, ProxyAgent, util } from 'undici';
import { type ByzerLLMError, toByzerLLMError, UpstreamError } from '../../core/errors.js';
import { DEFAULT_DEADLINE_MS, RequestDeadline } from './request-deadline.js';
import { callWithRetries, type RetryLoopOptions } from './retry-loop.js';
import { type ResponseHeaders, parseRetryAfterMs } from './retry-policy.js';
import {
  type EventSourceMessage,
  readServerSentEventBatches,
  readServerSentEvents,
} from './server-sent-events.js';
import type {
  BytesResponse,
  EventStreamResponse,
  HttpCallOptions,
  HttpClientOptions,
  JsonResponse,
} from './http-client-options.js';
import { errorFromTransport } from './transport-error.js';
import { isJsonContentType, joinPath, lowerCaseKeys, withCallHeaders } from './http-request-parts.js';
import {
  AnswerCutError,
  ParsedJsonResponse,
  readWholeAnswer,
  UnsuccessfulAnswer,
  type WholeAnswer,
} from './whole-answer.js';

export type {
  BytesResponse,
  EventStreamResponse,
  HttpCallOptions,
  HttpClientOptions,
  HttpErrorResponse,
  JsonResponse,
} from './http-client-options.js';

type PoolResponse = Dispatcher.ResponseData;

/** A call's deadline and what the client may do with it (nothing, when an outer loop owns it). */
interface Budget {
  deadline: RequestDeadline;
  /** Stops the clock once a stream started. */
  pause(): void;
  /** Stops the clock and forgets the caller's signal once the call is over. */
  release(): void;
}

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
  /** The retry loop's options for `postJson` (the deadline is passed per call): made once. */
  private readonly wholeAnswerRetries: RetryLoopOptions;

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
    this.wholeAnswerRetries = {
      maxRetries: options.maxRetries,
      describe: this.describe(),
      ...(options.retry ? { retry: options.retry } : {}),
      toError: (error, deadline) => this.wholeAnswerError(error, deadline),
      shouldRetry: (failure) => !cutAnswers.has(failure),
      retryAfterMs: (failure) => retryAfterOfFailure.get(failure),
    };
  }

  /** POSTs `body` as JSON and returns the parsed JSON answer. */
  async postJson(path: string, body: unknown, options: HttpCallOptions = {}): Promise<JsonResponse> {
    // The budget inline (not `startDeadline`): this runs on every gateway pass-through request.
    const given = options.deadline;
    const deadline = given ?? new RequestDeadline(this.deadlineMs, options.signal);
    let answer: WholeAnswer;
    try {
      answer = await this.sendForWholeAnswer(path, JSON.stringify(body), options, deadline);
    } finally {
      if (!given) deadline.dispose();
    }
    try {
      return new ParsedJsonResponse(answer.rawHeaders, JSON.parse(answer.text));
    } catch (error) {
      throw new UpstreamError('upstream_error', `${this.options.provider} answered with invalid JSON`, {
        cause: error,
        details: {
          provider: this.options.provider,
          status: answer.statusCode,
          body: answer.text.slice(0, 500),
        },
      });
    }
  }

  /**
   * `send` for an answer read whole (`whole-answer.ts`): the same retry loop, deadline and errors.
   * A failure while a 2xx body was read is reported as the connection broken mid-answer and, as
   * when the body was read after the loop, not retried.
   */
  private sendForWholeAnswer(
    path: string,
    payload: string,
    options: HttpCallOptions,
    deadline: RequestDeadline,
  ): Promise<WholeAnswer> {
    const request: Dispatcher.DispatchOptions = {
      origin: this.origin,
      path: joinPath(this.pathPrefix, path, this.query),
      method: 'POST',
      headers: withCallHeaders(this.jsonHeaders, options),
      body: payload,
    };
    const requestHeaders = this.options.requestHeaders;
    const attempt = requestHeaders
      ? async (current: RequestDeadline) => {
          const extra = lowerCaseKeys(await requestHeaders());
          const headers = { ...(request.headers as Record<string, string>), ...extra };
          return readWholeAnswer(this.pool, { ...request, headers }, current);
        }
      : (current: RequestDeadline) => readWholeAnswer(this.pool, request, current);
    return callWithRetries(attempt, this.wholeAnswerRetries, deadline);
  }

  /** An attempt's failure in the hierarchy (the deadline's expiry is the retry loop's to report). */
  private wholeAnswerError(error: unknown, deadline: RequestDeadline): ByzerLLMError {
    if (error instanceof UnsuccessfulAnswer) {
      const { statusCode, rawHeaders, text } = error.answer;
      const headers = util.parseHeaders(rawHeaders) as ResponseHeaders;
      const retryAfterMs = parseRetryAfterMs(headers);
      const failure = this.options.errorFromResponse({
        status: statusCode,
        headers,
        bodyText: text,
        ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: retryAfterMs / 1000 }),
      });
      if (retryAfterMs !== undefined) retryAfterOfFailure.set(failure, retryAfterMs);
      return failure;
    }
    if (error instanceof AnswerCutError) {
      const failure = this.transportError(error.failure, deadline, true);
      cutAnswers.add(failure);
      return failure;
    }
    return this.transportError(error, deadline);
  }

  /** POSTs `body` as JSON and resolves once a 2xx answer started; the events follow lazily. */
  async postEventStream(
    path: string,
    body: unknown,
    options: HttpCallOptions = {},
  ): Promise<EventStreamResponse> {
    const { response, budget } = await this.openStream(path, body, options);
    return {
      headers: response.headers,
      events: this.readEvents(response, options.signal, budget, readServerSentEvents),
    };
  }

  /** As `postEventStream`, with the events in the batches one read of the body completed. */
  async postEventBatches(
    path: string,
    body: unknown,
    options: HttpCallOptions = {},
  ): Promise<{ headers: ResponseHeaders; batches: AsyncIterable<EventSourceMessage[]> }> {
    const { response, budget } = await this.openStream(path, body, options);
    return {
      headers: response.headers,
      batches: this.readEvents(response, options.signal, budget, readServerSentEventBatches),
    };
  }

  /** Sends a streaming request within the deadline; once the answer started, the idle timeout governs. */
  private async openStream(
    path: string,
    body: unknown,
    options: HttpCallOptions,
  ): Promise<{ response: PoolResponse; budget: Budget }> {
    const budget = this.startDeadline(options);
    const headers = withCallHeaders(this.streamHeaders, options);
    let response: PoolResponse;
    try {
      response = await this.send(path, JSON.stringify(body), headers, budget);
    } catch (error) {
      budget.release();
      throw error;
    }
    // The stream started: from here on the idle timeout governs; the caller's abort still applies.
    budget.pause();
    return { response, budget };
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
    const budget = this.startDeadline(options);
    try {
      const response = await this.send(path, payload, headers, budget);
      try {
        return { headers: response.headers, bytes: new Uint8Array(await response.body.arrayBuffer()) };
      } catch (error) {
        throw this.transportError(error, options.signal, true, budget.deadline);
      }
    } finally {
      budget.release();
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
    budget: Budget,
    read: (body: AsyncIterable<Uint8Array>) => AsyncIterable<Item>,
  ): AsyncGenerator<Item> {
    try {
      yield* read(response.body);
    } catch (error) {
      throw this.transportError(error, signal, true);
    } finally {
      budget.release();
      // Early exit (consumer stopped, error): destroy the body so the socket closes and the
      // upstream notices; after a complete read this is a no-op.
      if (!response.body.readableEnded) response.body.destroy();
    }
  }

  /**
   * The deadline of one call: the caller's (an outer retry loop's, whose owner stops it) or a new
   * one of `deadlineMs` that this client stops once the answer was read or the stream started.
   */
  private startDeadline(options: HttpCallOptions): Budget {
    const given = options.deadline;
    if (given) return { deadline: given, pause: () => {}, release: () => {} };
    const deadline = new RequestDeadline(this.deadlineMs, options.signal);
    return { deadline, pause: () => deadline.clear(), release: () => deadline.dispose() };
  }

  /**
   * Sends through the shared retry loop within the deadline; returns a 2xx response whose body is
   * still unread.
   */
  private send(
    path: string,
    payload: string | Uint8Array,
    headers: Record<string, string>,
    budget: Budget,
  ): Promise<PoolResponse> {
    let retryAfterMs: number | undefined;
    let attempts = 0;
    return callWithRetries(
      async (deadline) => {
        // The cheap emitter, not `deadline.signal`: no AbortController per upstream request.
        const signal = deadline.upstreamSignal;
        attempts++;
        retryAfterMs = undefined;
        let response: PoolResponse;
        try {
          response = await this.pool.request({
            origin: this.origin,
            path: joinPath(this.pathPrefix, path, this.query),
            method: 'POST',
            headers: this.options.requestHeaders
              ? { ...headers, ...lowerCaseKeys(await this.options.requestHeaders()) }
              : headers,
            body: payload,
            signal,
          });
        } catch (error) {
          throw this.transportError(error, signal, false, budget.deadline, attempts);
        }
        const success = response.statusCode >= 200 && response.statusCode < 300;
        // A JSON answer to a stream request is an error report, not a stream: Qianfan and MiniMax
        // answer 200 with an error body. Mapping it here gives it the same retries as HTTP errors.
        if (success && !(headers.accept === 'text/event-stream' && isJsonContentType(response.headers)))
          return response;
        let bodyText: string;
        try {
          bodyText = await response.body.text();
        } catch (error) {
          throw this.transportError(error, signal, false, budget.deadline, attempts);
        }
        retryAfterMs = parseRetryAfterMs(response.headers);
        throw this.options.errorFromResponse({
          status: response.statusCode,
          headers: response.headers,
          bodyText,
          ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: retryAfterMs / 1000 }),
        });
      },
      {
        maxRetries: this.options.maxRetries,
        deadline: budget.deadline,
        describe: this.describe(),
        ...(this.options.retry ? { retry: this.options.retry } : {}),
        toError: toByzerLLMError,
        retryAfterMs: () => retryAfterMs,
      },
    );
  }

  /** Total time of one request (`saas.deadline`), for outer retry loops that wrap this client. */
  get deadlineMs(): number {
    return this.options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  /** `provider at url`, for messages. */
  describe(): string {
    return `${this.options.provider} at ${this.displayUrl}`;
  }

  private transportError(
    error: unknown,
    signal: { readonly aborted: boolean } | undefined,
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

/** Failures of `postJson` whose answer broke mid-body: reported, not retried (see `sendForWholeAnswer`). */
const cutAnswers = new WeakSet<ByzerLLMError>();
/** The delay an upstream asked for with the failure it answered (`Retry-After`), for the retry loop. */
const retryAfterOfFailure = new WeakMap<ByzerLLMError, number>();
