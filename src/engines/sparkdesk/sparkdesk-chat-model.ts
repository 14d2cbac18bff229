/**
 * `ChatModelV1` over iFlytek Spark's WebSocket chat API.
 *
 * One WebSocket per request (the original shared one response queue across requests and mixed up
 * concurrent answers): connect to the freshly signed URL, send one frame
 * `{header: {app_id, uid}, parameter: {chat: {domain, temperature, max_tokens, top_k, auditing}},
 * payload: {message: {text: [{role, content}]}}}`, then read frames
 * `{header: {code, message, sid, status}, payload: {choices: {status, text: [{content}]}, usage}}`
 * until `header.status` is 2. A non-zero `header.code` is an error (`map-error.ts`).
 *
 * `doStream` resolves once the first frame has arrived, so failures Spark reports at once reject
 * the call; retryable failures up to that point are retried with backoff (`saas.max_retries`).
 * `saas.timeout` bounds the wait for each frame. Aborting closes the socket.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type {
  CallOptions,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  StreamPart,
  Usage,
  Warning,
} from '../../core/chat-model.js';
import { collectStream, MODEL_PROTOCOL_VERSION } from '../../core/chat-model.js';
import {
  AbortedError,
  type ByzerLLMError,
  TimeoutError,
  toByzerLLMError,
  UpstreamError,
} from '../../core/errors.js';
import { callWithRetries } from '../shared/retry-loop.js';
import { errorFromTransport } from '../shared/transport-error.js';
import { errorFromFrame, errorFromHandshake, type SparkErrorContext } from './map-error.js';
import { type SparkCredentials, signSparkUrl } from './signed-url.js';
import { mergeExtra } from '../shared/extra-fields.js';

export interface SparkModelConfig {
  provider: string;
  gptUrl: string;
  domain: string;
  appId: string;
  credentials: SparkCredentials;
  timeoutMs: number;
  maxRetries: number;
  /** Total time until the first frame across every attempt (`saas.deadline`). Defaults to 600 s. */
  deadlineMs?: number;
  errorContext: SparkErrorContext;
}

interface SparkFrame {
  header?: { code?: number; message?: string; sid?: string; status?: number };
  payload?: {
    choices?: { status?: number; text?: { content?: string; role?: string }[] };
    usage?: { text?: { prompt_tokens?: number; completion_tokens?: number } };
  };
}

type QueueItem = { frame: SparkFrame } | { error: ByzerLLMError } | { closed: true };

export class SparkChatModel implements ChatModelV1 {
  readonly specificationVersion = MODEL_PROTOCOL_VERSION;
  readonly provider: string;
  readonly modelId: string;
  /** Sockets of requests in flight, closed by `closeAll` when the worker stops. */
  private readonly open = new Set<SparkConnection>();

  constructor(private readonly config: SparkModelConfig) {
    this.provider = config.provider;
    this.modelId = config.domain;
  }

  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const result = await collectStream(await this.doStream(request, options));
    if (!result.requestId) result.requestId = `spark-${randomUUID()}`;
    return result;
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { frame, warnings } = this.buildFrame(request);
    // The shared loop retries failures up to the first frame, within `saas.deadline`; the signal it
    // hands over stays the socket's signal for the whole answer (only the deadline's clock stops).
    return callWithRetries(
      async (deadline) => {
        const connection = new SparkConnection(this.config, deadline.signal, () =>
          this.open.delete(connection),
        );
        this.open.add(connection);
        try {
          const first = await connection.start(frame);
          return this.parts(connection, first, warnings);
        } catch (error) {
          connection.close();
          throw error;
        }
      },
      {
        maxRetries: this.config.maxRetries,
        ...(options.signal ? { signal: options.signal } : {}),
        deadlineMs: this.config.deadlineMs,
        describe: `${this.config.provider} at ${new URL(this.config.gptUrl).origin}`,
        toError: toByzerLLMError,
      },
    );
  }

  /** Ends every request in flight (their streams end with an error part). */
  closeAll(): void {
    for (const connection of this.open) connection.close();
  }

  private async *parts(
    connection: SparkConnection,
    first: SparkFrame,
    warnings: Warning[],
  ): AsyncGenerator<StreamPart> {
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    try {
      yield {
        type: 'response-metadata',
        requestId: first.header?.sid || `spark-${randomUUID()}`,
        modelId: this.modelId,
      };
      let frame: SparkFrame | undefined = first;
      while (frame) {
        const text = (frame.payload?.choices?.text ?? []).map((item) => item.content ?? '').join('');
        if (text) yield { type: 'text-delta', delta: text };
        const tokens = frame.payload?.usage?.text;
        if (tokens)
          usage = { inputTokens: tokens.prompt_tokens ?? 0, outputTokens: tokens.completion_tokens ?? 0 };
        if (frame.header?.status === 2) {
          yield { type: 'finish', finishReason: 'stop', usage, ...(warnings.length > 0 ? { warnings } : {}) };
          return;
        }
        frame = await connection.next();
      }
    } catch (error) {
      yield { type: 'error', error: error as ByzerLLMError };
    } finally {
      connection.close();
    }
  }

  private buildFrame(request: ChatRequest): { frame: Record<string, unknown>; warnings: Warning[] } {
    const warnings: Warning[] = [];
    const chat: Record<string, unknown> = { domain: this.config.domain, auditing: 'default' };
    if (request.temperature !== undefined) chat.temperature = request.temperature;
    if (request.maxTokens !== undefined) chat.max_tokens = request.maxTokens;
    if (request.topK !== undefined) chat.top_k = request.topK;
    for (const [setting, value] of [
      ['topP', request.topP],
      ['stop', request.stop?.length ? request.stop : undefined],
      ['tools', request.tools?.length ? request.tools : undefined],
    ] as const) {
      if (value !== undefined) {
        warnings.push({ type: 'unsupported-setting', setting, message: `Spark chat has no ${setting}` });
      }
    }
    mergeExtra(chat, request.extra);
    const text = request.messages.map((message) => {
      if (message.role === 'user') {
        const content =
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
        return { role: 'user', content };
      }
      if (message.role === 'tool') return { role: 'user', content: message.content };
      return { role: message.role, content: message.content };
    });
    return {
      frame: {
        header: { app_id: this.config.appId, uid: randomUUID().slice(0, 32) },
        parameter: { chat },
        payload: { message: { text } },
      },
      warnings,
    };
  }
}

/** One request's socket, with its frames as a pull queue. */
class SparkConnection {
  private readonly socket: WebSocket;
  private readonly queue: QueueItem[] = [];
  private waiter: (() => void) | undefined;
  private finished = false;
  private readonly onAbort = () => this.push({ error: new AbortedError() });

  constructor(
    private readonly config: SparkModelConfig,
    private readonly signal: AbortSignal | undefined,
    private readonly onClosed: () => void,
  ) {
    this.socket = new WebSocket(signSparkUrl(config.gptUrl, config.credentials), {
      handshakeTimeout: config.timeoutMs,
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.socket.on('message', (data) => {
      let frame: SparkFrame;
      try {
        frame = JSON.parse(String(data)) as SparkFrame;
      } catch (cause) {
        this.push({
          error: new UpstreamError('upstream_error', `${config.provider} sent a frame that is not JSON`, {
            cause,
            details: { provider: config.provider },
          }),
        });
        return;
      }
      const code = frame.header?.code ?? 0;
      if (code !== 0) this.push({ error: errorFromFrame({ ...frame.header, code }, config.errorContext) });
      else this.push({ frame });
    });
    this.socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        this.push({ error: errorFromHandshake(response.statusCode ?? 0, body, config.errorContext) }),
      );
    });
    this.socket.on('error', (error) => this.push({ error: this.transportError(error) }));
    this.socket.on('close', () => this.push({ closed: true }));
  }

  /** Sends the request frame and waits for the first answer frame. */
  async start(frame: Record<string, unknown>): Promise<SparkFrame> {
    this.socket.once('open', () => this.socket.send(JSON.stringify(frame)));
    const first = await this.next();
    if (!first) {
      throw new UpstreamError(
        'upstream_error',
        `${this.config.provider} closed the connection without answering`,
        {
          isRetryable: true,
          details: { provider: this.config.provider },
        },
      );
    }
    return first;
  }

  /** The next frame; undefined after a close without a final frame is turned into an error. */
  async next(): Promise<SparkFrame | undefined> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        if ('frame' in item) return item.frame;
        if ('error' in item) throw item.error;
        throw new UpstreamError(
          'upstream_error',
          `${this.config.provider} closed the connection before the answer ended`,
          { isRetryable: true, details: { provider: this.config.provider } },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiter = undefined;
          reject(
            new TimeoutError(
              `${this.config.provider} at ${this.config.gptUrl} sent no data for ${this.config.timeoutMs / 1000} s (saas.timeout)`,
            ),
          );
        }, this.config.timeoutMs);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.onClosed();
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    else if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
  }

  private push(item: QueueItem): void {
    if (this.finished) return;
    // The first error or close ends the queue; an abort also drops the socket at once.
    if (!('frame' in item)) {
      this.finished = true;
      if ('error' in item && item.error.code === 'aborted') this.socket.terminate();
    }
    this.queue.push(item);
    this.waiter?.();
  }

  private transportError(error: Error): ByzerLLMError {
    return errorFromTransport(error, {
      provider: this.config.provider,
      baseUrl: this.config.gptUrl,
      timeoutMs: this.config.timeoutMs,
      ...(this.signal ? { signal: this.signal } : {}),
    });
  }
}
