/**
 * A real local HTTP server that speaks the OpenAI API exactly enough for engines, the `openai` SDK
 * and CLI tests: `POST /v1/chat/completions` (JSON and SSE), `POST /v1/embeddings` (float arrays,
 * or base64 float32 when `encoding_format` is `base64` or absent, as the SDK asks), `GET /v1/models`,
 * and the media endpoints (see `openai-upstream-media.ts`): `POST /v1/audio/speech` (audio bytes),
 * `POST /v1/audio/transcriptions` (multipart in, `verbose_json` with word/segment timestamps out),
 * `POST /v1/images/generations` (`b64_json` or `url`).
 *
 * It checks `Authorization: Bearer <apiKey>`, answers deterministically (see
 * `openai-upstream-answers.ts` for the text and the message knobs), records every request, and
 * counts in-flight requests and requests the client abandoned — what abort, retry and concurrency
 * tests assert on. Listens on 127.0.0.1, port 0 (random) unless told otherwise.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChatAnswer,
  base64Floats,
  chatCompletion,
  chatCompletionChunks,
  contentText,
  countTokens,
  embeddingOf,
  errorBody,
  parseKnobs,
} from './openai-upstream-answers.js';
import { handleMediaRoute, isMediaRoute, readMultipart } from './openai-upstream-media.js';

/** A failure to answer instead of a normal response. */
export interface UpstreamFailure {
  status: number;
  /** `Retry-After` header value. 429s default to `0`. */
  retryAfter?: string;
  /** `retry-after-ms` header value (OpenAI sends it). */
  retryAfterMs?: string;
}

export interface OpenAIUpstreamOptions {
  /** The key clients must send as `Authorization: Bearer <key>`. Defaults to `sk-test-key`. */
  apiKey?: string;
  /** The address to listen on. Defaults to 127.0.0.1 (a partition test uses its own veth address). */
  host?: string;
  /** Defaults to 0 (a random free port). */
  port?: number;
  /** The answer text, or a function of the last user message text. Defaults to `echo: <text>`. */
  reply?: string | ((lastUserText: string, request: Record<string, unknown>) => string);
  /**
   * Decides a tool call from the whole request body (e.g. when it carries `tools`); undefined means
   * answer text. Used by client tests of native function calling. The `tool:NAME` knob wins.
   */
  replyToolCall?: (request: Record<string, unknown>) => { name: string; arguments: string } | undefined;
  /** Reasoning text sent with every chat answer as `reasoning_content`. */
  reasoning?: string;
  /** Wait before answering every request. */
  delayMs?: number;
  /** Wait between stream chunks. */
  chunkDelayMs?: number;
  /** Failures answered to the next requests, one per request, before normal answers resume. */
  failures?: UpstreamFailure[];
  /** A failure decided per request by its number (1, 2, …), after queued failures; for chaos tests. */
  failureOf?: (requestNumber: number) => UpstreamFailure | undefined;
  /** Answer embeddings in reverse order (with the right `index`), to prove clients sort by index. */
  reverseEmbeddings?: boolean;
  /** Model ids listed by `GET /v1/models`. */
  models?: string[];
  /**
   * Decides whether the `Authorization` header is valid, for vendors that sign their own tokens
   * (Zhipu's JWT). Returns the credential to echo in the 401 body, or undefined when valid.
   * Defaults to comparing `Bearer <apiKey>`.
   */
  checkAuthorization?: (authorization: string | undefined) => string | undefined;
  /** Keep every request in `requests`. Defaults to true; turn off for long benchmarks. */
  recordRequests?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  /** The client's port: equal ports on two requests mean a reused keep-alive connection. */
  remotePort: number;
}

export interface OpenAIUpstream {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  port: number;
  apiKey: string;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  inFlight(): number;
  peakInFlight(): number;
  /** Requests whose client closed the connection before the answer was complete. */
  abortedCount(): number;
  /** Clears the recorded requests, counters and queued failures. */
  reset(): void;
  /** Queues failures for the next requests (same as the `failures` option). */
  failNext(...failures: UpstreamFailure[]): void;
  /** Resolves as soon as `condition` holds, re-checked whenever a request starts or ends. */
  waitUntil(condition: () => boolean): Promise<void>;
  /** Closes every socket and the server. */
  close(): Promise<void>;
}

export async function startOpenAIUpstream(options: OpenAIUpstreamOptions = {}): Promise<OpenAIUpstream> {
  const apiKey = options.apiKey ?? 'sk-test-key';
  const requests: RecordedRequest[] = [];
  const failures: UpstreamFailure[] = [...(options.failures ?? [])];
  const changes = new EventEmitter();
  const running = new Set<AbortController>();
  /** Responses the server dropped on purpose (`cut:`): not counted as client aborts. */
  const cutByServer = new WeakSet<ServerResponse>();
  let inFlight = 0;
  let peakInFlight = 0;
  let abortedCount = 0;
  let sequence = 0;

  const server = createServer((request, response) => {
    const controller = new AbortController();
    running.add(controller);
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    changes.emit('change');
    response.on('close', () => {
      running.delete(controller);
      inFlight--;
      // A close before the answer ended, and not caused by us, is the client leaving.
      if (!response.writableFinished && !cutByServer.has(response)) abortedCount++;
      controller.abort();
      changes.emit('change');
    });
    handle(request, response, controller.signal).catch((error: unknown) => {
      if (controller.signal.aborted) return;
      if (!response.headersSent) {
        sendJson(response, 500, { error: { message: String(error), type: 'server_error' } });
      } else {
        response.destroy();
      }
    });
  });

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const bodyBytes = await readBodyBytes(request);
    const bodyText = bodyBytes.toString('utf8');
    let body: unknown;
    if ((request.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      body = await readMultipart(bodyBytes, request.headers['content-type'] ?? '');
    } else if (bodyText !== '') {
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = bodyText;
      }
    }
    if (options.recordRequests !== false) {
      requests.push({
        method: request.method ?? 'GET',
        path,
        headers: request.headers,
        body,
        remotePort: request.socket.remotePort ?? 0,
      });
    }
    const requestNumber = ++sequence;

    const presented = /^Bearer (.*)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (options.checkAuthorization) {
      const rejected = options.checkAuthorization(request.headers.authorization);
      if (rejected !== undefined) return sendJson(response, 401, errorBody(401, rejected));
    } else if (presented !== apiKey) return sendJson(response, 401, errorBody(401, presented));
    const failure = failures.shift() ?? options.failureOf?.(requestNumber);
    if (failure) return sendFailure(response, failure, presented);

    const route = `${request.method} ${path}`;
    if (route === 'GET /v1/models') {
      const models = options.models ?? ['gpt-3.5-turbo', 'text-embedding-3-small'];
      return sendJson(response, 200, {
        object: 'list',
        data: models.map((id) => ({
          id,
          object: 'model',
          created: 1_700_000_000,
          owned_by: 'byzerllm-test',
        })),
      });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      if (route === 'POST /v1/chat/completions' || route === 'POST /v1/embeddings') {
        return sendJson(response, 400, invalid('the body must be a JSON object'));
      }
    }
    const fields = body as Record<string, unknown>;
    if (route === 'POST /v1/chat/completions')
      return chat(fields, response, signal, presented, requestNumber);
    if (route === 'POST /v1/embeddings') return embeddings(fields, response, signal, presented);
    if (isMediaRoute(route)) {
      const answer = handleMediaRoute(route, body);
      if (answer.status !== 200 || answer.json !== undefined) {
        return sendJson(response, answer.status, answer.json ?? invalid('no answer'));
      }
      response.writeHead(200, {
        'content-type': answer.contentType ?? 'application/octet-stream',
        'content-length': answer.bytes?.length ?? 0,
      });
      response.end(answer.bytes);
      return;
    }
    return sendJson(response, 404, invalid(`Invalid URL (${request.method} ${path})`));
  }

  async function chat(
    body: Record<string, unknown>,
    response: ServerResponse,
    signal: AbortSignal,
    presented: string,
    requestNumber: number,
  ) {
    if (typeof body.model !== 'string') {
      return sendJson(response, 400, invalid('you must provide a model parameter'));
    }
    if (!Array.isArray(body.messages)) {
      return sendJson(response, 400, invalid("'messages' is a required property"));
    }
    const messages = body.messages as { role?: string; content?: unknown }[];
    const lastUser = [...messages].reverse().find((message) => message?.role === 'user');
    const userText = contentText(lastUser?.content);
    const knobs = parseKnobs(userText);
    const delayMs = knobs.delayMs ?? options.delayMs;
    if (delayMs) await sleep(delayMs, undefined, { signal });
    if (knobs.failStatus) return sendFailure(response, { status: knobs.failStatus }, presented);

    const text =
      typeof options.reply === 'function'
        ? options.reply(userText, body)
        : (options.reply ?? `echo: ${userText}`);
    const reasoning = knobs.reasoning ? `thinking about: ${userText}` : options.reasoning;
    const chosenCall = knobs.toolName ? undefined : options.replyToolCall?.(body);
    const toolCall = knobs.toolName
      ? {
          id: `call_test_${requestNumber}`,
          name: knobs.toolName,
          arguments: JSON.stringify({ text: userText }),
        }
      : chosenCall
        ? { id: `call_test_${requestNumber}`, ...chosenCall }
        : undefined;
    const promptTokens = messages.reduce(
      (sum, message) => sum + countTokens(contentText(message?.content)),
      0,
    );
    const completionTokens = countTokens(toolCall ? toolCall.arguments : text) + countTokens(reasoning ?? '');
    const answer: ChatAnswer = {
      id: `chatcmpl-test-${requestNumber}`,
      model: body.model,
      created: 1_700_000_000 + requestNumber,
      text: toolCall ? null : text,
      finishReason: toolCall ? 'tool_calls' : 'stop',
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
      ...(reasoning === undefined ? {} : { reasoning }),
      ...(toolCall ? { toolCall } : {}),
    };
    if (body.stream !== true) return sendJson(response, 200, chatCompletion(answer), answer.id);

    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': `req_${answer.id}`,
    });
    const chunkDelayMs = knobs.chunkDelayMs ?? options.chunkDelayMs;
    let textChunks = 0;
    for (const chunk of chatCompletionChunks(answer, streamOptions?.include_usage === true)) {
      if (chunkDelayMs) await sleep(chunkDelayMs, undefined, { signal });
      if (signal.aborted) return;
      const frame = `data: ${JSON.stringify(chunk)}\n\n`;
      if (knobs.cut && isTextChunk(chunk) && ++textChunks === 1) {
        // Let the frames reach the client first: destroying a socket discards unflushed writes.
        await new Promise<void>((resolve) => response.write(frame, () => resolve()));
        cutByServer.add(response);
        response.destroy();
        return;
      }
      response.write(frame);
    }
    response.end('data: [DONE]\n\n');
  }

  async function embeddings(
    body: Record<string, unknown>,
    response: ServerResponse,
    signal: AbortSignal,
    presented: string,
  ) {
    if (typeof body.model !== 'string') {
      return sendJson(response, 400, invalid('you must provide a model parameter'));
    }
    const inputs = (Array.isArray(body.input) ? body.input : [body.input]).map((input) =>
      typeof input === 'string' ? input : JSON.stringify(input),
    );
    const knobs = parseKnobs(inputs.join(' '));
    const delayMs = knobs.delayMs ?? options.delayMs;
    if (delayMs) await sleep(delayMs, undefined, { signal });
    if (knobs.failStatus) return sendFailure(response, { status: knobs.failStatus }, presented);
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 8;
    const asBase64 = body.encoding_format === undefined || body.encoding_format === 'base64';
    const data = inputs.map((input, index) => {
      const vector = embeddingOf(input, dimensions);
      return { object: 'embedding', index, embedding: asBase64 ? base64Floats(vector) : vector };
    });
    if (options.reverseEmbeddings) data.reverse();
    const tokens = inputs.reduce((sum, input) => sum + countTokens(input), 0);
    sendJson(response, 200, {
      object: 'list',
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  function sendFailure(response: ServerResponse, failure: UpstreamFailure, presented: string): void {
    const headers: Record<string, string> = {};
    const retryAfter = failure.retryAfter ?? (failure.status === 429 ? '0' : undefined);
    if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
    if (failure.retryAfterMs !== undefined) headers['retry-after-ms'] = failure.retryAfterMs;
    sendJson(response, failure.status, errorBody(failure.status, presented), undefined, headers);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    port,
    apiKey,
    requests,
    inFlight: () => inFlight,
    peakInFlight: () => peakInFlight,
    abortedCount: () => abortedCount,
    reset() {
      requests.length = 0;
      failures.length = 0;
      peakInFlight = inFlight;
      abortedCount = 0;
    },
    failNext(...more) {
      failures.push(...more);
    },
    waitUntil(condition) {
      return new Promise((resolve) => {
        const check = () => {
          if (!condition()) return;
          changes.off('change', check);
          resolve();
        };
        changes.on('change', check);
        check();
      });
    },
    async close() {
      for (const controller of running) controller.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function invalid(message: string) {
  return { error: { message, type: 'invalid_request_error', param: null, code: null } };
}

function isTextChunk(chunk: Record<string, unknown>): boolean {
  const choices = chunk.choices as { delta?: { content?: unknown } }[] | undefined;
  return typeof choices?.[0]?.delta?.content === 'string' && choices[0].delta.content !== '';
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  requestId?: string,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(requestId ? { 'x-request-id': `req_${requestId}` } : {}),
    ...headers,
  });
  response.end(text);
}

async function readBodyBytes(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
