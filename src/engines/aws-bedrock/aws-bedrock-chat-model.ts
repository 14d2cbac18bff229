/**
 * `ChatModelV1` over the Bedrock runtime's `InvokeModel` and `InvokeModelWithResponseStream`
 * (through `@aws-sdk/client-bedrock-runtime`, which signs with SigV4 and decodes the binary
 * event-stream framing). The body is the model family's native one:
 *
 * - Anthropic (`anthropic.*`): the Messages API body without `model` and `stream`, plus
 *   `anthropic_version` (`saas.model_api_version`, default `bedrock-2023-05-31`); each stream chunk
 *   is one Anthropic SSE event's JSON, so the Claude engine's stream mapping is reused as is.
 * - Meta Llama (`meta.llama*`): see `llama-family.ts`.
 *
 * The SDK's own retries are off (`maxAttempts: 1`): the shared retry loop retries, so every
 * provider follows one policy. A stream is never retried once it has started.
 */
import { randomUUID } from 'node:crypto';
import {
  type BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  type ResponseStream,
} from '@aws-sdk/client-bedrock-runtime';
import type {
  CallOptions,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  StreamPart,
  Warning,
} from '../../core/chat-model.js';
import { AbortedError, UpstreamError } from '../../core/errors.js';
import { claudeResultFromMessage } from '../shared/anthropic-messages/messages-body.js';
import { buildClaudeBody } from '../shared/anthropic-messages/messages-body.js';
import { mapClaudeStream } from '../shared/anthropic-messages/map-stream.js';
import { parseWireBody } from '../shared/wire-body.js';
import { mapVendorStream, metadataOnce } from '../shared/vendor-stream.js';
import { callWithRetries } from '../shared/retry-loop.js';
import type { EventSourceMessage } from '../shared/server-sent-events.js';
import { buildLlamaBody, llamaResponseSchema, mapLlamaStopReason } from './llama-family.js';
import { type BedrockErrorContext, errorFromBedrock } from './map-error.js';
import { ProviderModel } from '../shared/provider-model.js';

export type BedrockFamily = 'anthropic' | 'llama';

export interface BedrockModelConfig {
  provider: string;
  modelId: string;
  family: BedrockFamily;
  client: BedrockRuntimeClient;
  anthropicVersion: string;
  defaultMaxTokens: number;
  maxRetries: number;
  /** `saas.deadline`: the total time of one request across its retries. */
  deadlineMs: number;
  errorContext: Omit<BedrockErrorContext, 'signal' | 'midStream'>;
}

export class AwsBedrockChatModel extends ProviderModel<BedrockModelConfig> implements ChatModelV1 {
  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = this.buildBody(request);
    const response = await this.send(options.signal, (abortSignal) =>
      this.config.client.send(
        new InvokeModelCommand({
          modelId: this.modelId,
          contentType: 'application/json',
          accept: 'application/json',
          body: JSON.stringify(body),
        }),
        { abortSignal },
      ),
    );
    const json = this.parseJson(Buffer.from(response.body).toString('utf8'));
    const fallbackRequestId = response.$metadata.requestId || `bedrock-${randomUUID()}`;
    if (this.config.family === 'anthropic') {
      return claudeResultFromMessage(json, {
        provider: this.provider,
        modelId: this.modelId,
        fallbackRequestId,
        warnings,
      });
    }
    const answer = parseWireBody(llamaResponseSchema, json, {
      provider: this.provider,
      what: 'Llama answer',
    });
    return {
      text: answer.generation ?? '',
      toolCalls: [],
      finishReason: mapLlamaStopReason(answer.stop_reason),
      usage: {
        inputTokens: answer.prompt_token_count ?? 0,
        outputTokens: answer.generation_token_count ?? 0,
      },
      requestId: fallbackRequestId,
      modelId: this.modelId,
      warnings,
    };
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = this.buildBody(request);
    const signal = options.signal;
    const response = await this.send(signal, (abortSignal) =>
      this.config.client.send(
        new InvokeModelWithResponseStreamCommand({
          modelId: this.modelId,
          contentType: 'application/json',
          accept: 'application/json',
          body: JSON.stringify(body),
        }),
        { abortSignal },
      ),
    );
    const requestId = response.$metadata.requestId || `bedrock-${randomUUID()}`;
    const chunks = this.readChunks(response.body, signal);
    if (this.config.family === 'anthropic') {
      return mapClaudeStream({
        events: asEvents(chunks),
        provider: this.provider,
        secrets: this.config.errorContext.secrets,
        fallbackRequestId: requestId,
        warnings,
      });
    }
    return this.mapLlamaStream(chunks, requestId, warnings);
  }

  private buildBody(request: ChatRequest): { body: Record<string, unknown>; warnings: Warning[] } {
    if (this.config.family === 'llama')
      return buildLlamaBody(this.modelId, request, this.config.defaultMaxTokens);
    const built = buildClaudeBody(this.modelId, request, this.config.defaultMaxTokens);
    const { model: _model, ...rest } = built.body;
    return { body: { anthropic_version: this.config.anthropicVersion, ...rest }, warnings: built.warnings };
  }

  /** One SDK call under the shared retry policy; `signal` cancels the call and any backoff. */
  private send<T>(
    signal: AbortSignal | undefined,
    call: (abortSignal: AbortSignal | undefined) => Promise<T>,
  ) {
    return callWithRetries((deadline) => call(deadline.signal), {
      maxRetries: this.config.maxRetries,
      deadlineMs: this.config.deadlineMs,
      describe: `${this.provider} at ${this.config.errorContext.baseUrl}`,
      ...(signal ? { signal } : {}),
      toError: (error) =>
        errorFromBedrock(error, { ...this.config.errorContext, ...(signal ? { signal } : {}) }),
    });
  }

  /** The decoded JSON of each `chunk` event; exceptions in the stream and broken streams throw. */
  private async *readChunks(
    body: AsyncIterable<ResponseStream> | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<unknown> {
    if (!body) throw new UpstreamError('upstream_error', `${this.provider} answered a stream with no body`);
    const iterator = body[Symbol.asyncIterator]();
    const aborted = abortPromise(signal);
    try {
      while (true) {
        const next = await (aborted ? Promise.race([iterator.next(), aborted.promise]) : iterator.next());
        if (next.done) return;
        const event = next.value;
        if (event.chunk?.bytes) {
          yield this.parseJson(Buffer.from(event.chunk.bytes).toString('utf8'));
          continue;
        }
        const [kind, detail] = Object.entries(event).find(([key]) => key !== '$unknown') ?? [];
        if (kind) {
          const name = kind.charAt(0).toUpperCase() + kind.slice(1);
          // `errorFromBedrock` knows each modelled exception's status by name.
          throw Object.assign(new Error((detail as { message?: string } | undefined)?.message ?? name), {
            name,
          });
        }
      }
    } catch (error) {
      throw errorFromBedrock(error, {
        ...this.config.errorContext,
        midStream: true,
        ...(signal ? { signal } : {}),
      });
    } finally {
      aborted?.dispose();
      // Stops the SDK reading: closes the connection when we leave early.
      void iterator.return?.()?.catch(() => {});
    }
  }

  private mapLlamaStream(
    chunks: AsyncIterable<unknown>,
    requestId: string,
    warnings: Warning[],
  ): AsyncGenerator<StreamPart> {
    const provider = this.provider;
    const modelId = this.modelId;
    return mapVendorStream(chunks, {
      provider,
      warnings,
      isComplete: (progress) => Boolean(progress.finishReason),
      incomplete: 'ended the stream before a stop_reason',
      finishReason: (progress) => mapLlamaStopReason(progress.finishReason ?? ''),
      *onEvent(value, progress) {
        yield* metadataOnce(progress, requestId, modelId);
        const chunk = parseWireBody(llamaResponseSchema, value, { provider, what: 'Llama chunk' });
        if (chunk.generation) yield { type: 'text-delta', delta: chunk.generation };
        const usage = progress.usage;
        if (chunk.prompt_token_count != null) usage.inputTokens = chunk.prompt_token_count;
        if (chunk.generation_token_count != null) usage.outputTokens = chunk.generation_token_count;
        const metrics = chunk['amazon-bedrock-invocationMetrics'];
        if (metrics?.inputTokenCount != null) usage.inputTokens = metrics.inputTokenCount;
        if (metrics?.outputTokenCount != null) usage.outputTokens = metrics.outputTokenCount;
        if (chunk.stop_reason) progress.finishReason = chunk.stop_reason;
      },
      // The metadata part comes first even when no chunk arrives.
      afterEvents: (progress) => metadataOnce(progress, requestId, modelId),
    });
  }

  private parseJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new UpstreamError('upstream_error', `${this.provider} answered with invalid JSON`, {
        cause: error,
        details: { provider: this.provider, body: text.slice(0, 200) },
      });
    }
  }
}

/** Anthropic-on-Bedrock chunks are the SSE events' JSON: give them to the Claude mapping as events. */
async function* asEvents(chunks: AsyncIterable<unknown>): AsyncGenerator<EventSourceMessage> {
  for await (const chunk of chunks) {
    const type = (chunk as { type?: unknown }).type;
    yield { event: typeof type === 'string' ? type : undefined, id: undefined, data: JSON.stringify(chunk) };
  }
}

/** A promise that rejects with `AbortedError` when `signal` aborts (for racing a pending read). */
function abortPromise(signal: AbortSignal | undefined) {
  if (!signal) return undefined;
  let onAbort = () => {};
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new AbortedError());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
