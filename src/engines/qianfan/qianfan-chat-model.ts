/**
 * `ChatModelV1` over Baidu Qianfan's ERNIE chat API:
 * `POST {base}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{endpoint}?access_token=…` with
 * `{messages, system, temperature, top_p, penalty_score, stop, max_output_tokens, stream}`;
 * the answer is `{id, result, finish_reason, usage}`; a stream is SSE `data: {…result…, is_end}`.
 *
 * Messages: Qianfan wants user/assistant turns only, alternating, starting and ending with user;
 * system messages go to the `system` field, tool calls are not supported (warned). Consecutive
 * same-role turns are merged so the alternation always holds.
 * Failures arrive as 200 bodies with `error_code` (see `map-error.ts`); an invalid or expired
 * access token (110/111) is exchanged again once and the request repeated.
 */
import { randomUUID } from 'node:crypto';
import type {
  CallOptions,
  ChatMessage,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  FinishReason,
  StreamPart,
  Usage,
  Warning,
} from '../../core/chat-model.js';
import type { ByzerLLMError } from '../../core/errors.js';
import { parseWireBody } from '../shared/wire-body.js';
import type { HttpCallOptions, HttpClient } from '../shared/http-client.js';
import type { EventSourceMessage } from '../shared/server-sent-events.js';
import { retryVendorErrors } from '../shared/vendor-error.js';
import { errorFromBody, type QianfanErrorContext } from './map-error.js';
import type { QianfanTokenSource } from './qianfan-token.js';
import { chatResponseSchema } from './wire-schemas.js';
import { parseStreamEventJson } from '../shared/stream-errors.js';
import { mapVendorStream, metadataOnce } from '../shared/vendor-stream.js';
import { mergeExtra } from '../shared/extra-fields.js';
import { ProviderModel } from '../shared/provider-model.js';

export interface QianfanModelConfig {
  provider: string;
  modelId: string;
  /** The path segment after `/wenxinworkshop/chat/` (or `/embeddings/`). */
  endpoint: string;
  client: HttpClient;
  tokens: QianfanTokenSource;
  errorContext: QianfanErrorContext;
  /** Retries of retryable error codes reported in 200 bodies (`saas.max_retries`). */
  maxRetries: number;
}

export const CHAT_PATH = '/rpc/2.0/ai_custom/v1/wenxinworkshop/chat';

export class QianfanChatModel extends ProviderModel<QianfanModelConfig> implements ChatModelV1 {
  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = buildBody(request, false);
    const answer = await withFreshToken(this.config, options, (token, attempt) =>
      postJsonChecked(this.config, pathFor(this.config, token), body, attempt),
    );
    const parsed = parseWireBody(chatResponseSchema, answer, {
      provider: this.provider,
      what: 'chat answer',
    });
    return {
      text: parsed.result ?? '',
      toolCalls: [],
      finishReason: mapFinishReason(parsed.finish_reason),
      usage: toUsage(parsed.usage),
      requestId: parsed.id || `qianfan-${randomUUID()}`,
      modelId: this.modelId,
      warnings,
    };
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = buildBody(request, true);
    const response = await withFreshToken(this.config, options, (token, attempt) =>
      this.config.client.postEventStream(pathFor(this.config, token), body, attempt),
    );
    return mapStream(response.events, this.config, warnings);
  }
}

function pathFor(config: QianfanModelConfig, token: string): string {
  return `${CHAT_PATH}/${config.endpoint}?access_token=${encodeURIComponent(token)}`;
}

/** POSTs and returns the JSON body, throwing the vendor error a 200 body reports (so it is retried). */
export async function postJsonChecked(
  config: Pick<QianfanModelConfig, 'client' | 'errorContext'>,
  path: string,
  body: unknown,
  attempt: HttpCallOptions,
): Promise<unknown> {
  const response = await config.client.postJson(path, body, attempt);
  const error = errorFromBody(response.body, config.errorContext);
  if (error) throw error;
  return response.body;
}

/**
 * Runs `call` with the current token; on 110/111 exchanges a new token once and runs it again.
 * Retryable vendor codes are retried by the shared loop, and every call (token exchanges included)
 * gets `attempt` — the caller's options plus the loop's signal and deadline — so `saas.deadline`
 * bounds the whole request, not each HTTP call.
 */
export async function withFreshToken<Result>(
  config: Pick<QianfanModelConfig, 'tokens' | 'maxRetries' | 'client'>,
  options: CallOptions,
  call: (token: string, attempt: HttpCallOptions) => Promise<Result>,
): Promise<Result> {
  const retry = { maxRetries: config.maxRetries, signal: options.signal, client: config.client };
  return retryVendorErrors(retry, (loop) => withTokenOnce(config, { ...options, ...loop }, call));
}

async function withTokenOnce<Result>(
  config: Pick<QianfanModelConfig, 'tokens'>,
  attempt: HttpCallOptions,
  call: (token: string, attempt: HttpCallOptions) => Promise<Result>,
): Promise<Result> {
  const token = await config.tokens.token(attempt);
  try {
    return await call(token, attempt);
  } catch (error) {
    if (!config.tokens.refreshable || !isTokenError(error)) throw error;
    config.tokens.invalidate(token);
    return call(await config.tokens.token(attempt), attempt);
  }
}

function isTokenError(error: unknown): boolean {
  const vendorCode = (error as ByzerLLMError).details?.vendorCode;
  return vendorCode === 110 || vendorCode === 111;
}

function buildBody(
  request: ChatRequest,
  stream: boolean,
): { body: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const body: Record<string, unknown> = { messages: convertMessages(request.messages, warnings) };
  const system = request.messages
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n');
  if (system) body.system = system;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.maxTokens !== undefined) body.max_output_tokens = request.maxTokens;
  if (request.stop && request.stop.length > 0) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  for (const [setting, value] of [
    ['tools', request.tools?.length ? request.tools : undefined],
    ['topK', request.topK],
    ['presencePenalty', request.presencePenalty],
    ['frequencyPenalty', request.frequencyPenalty],
  ] as const) {
    if (value !== undefined) {
      warnings.push({
        type: 'unsupported-setting',
        setting,
        message: `Qianfan ERNIE chat has no ${setting}; use extra.penalty_score for repetition`,
      });
    }
  }
  if (stream) body.stream = true;
  mergeExtra(body, request.extra);
  return { body, warnings };
}

function convertMessages(messages: ChatMessage[], warnings: Warning[]): { role: string; content: string }[] {
  const turns: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    let role: 'user' | 'assistant';
    let content: string;
    if (message.role === 'user') {
      role = 'user';
      if (typeof message.content === 'string') content = message.content;
      else {
        if (message.content.some((part) => part.type !== 'text')) {
          warnings.push({
            type: 'unsupported-setting',
            setting: 'content',
            message: 'ERNIE chat takes text only',
          });
        }
        content = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
      }
    } else if (message.role === 'assistant') {
      role = 'assistant';
      content = message.content;
    } else {
      // Tool results have no place in ERNIE chat: pass them on as the user's words.
      role = 'user';
      content = message.content;
    }
    const previous = turns.at(-1);
    if (previous && previous.role === role) previous.content += `\n${content}`;
    else if (!previous && role === 'assistant') turns.push({ role: 'user', content: '' }, { role, content });
    else turns.push({ role, content });
  }
  return turns;
}

function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'normal':
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'function_call':
      return 'tool-calls';
    default:
      return reason ? 'other' : 'unknown';
  }
}

function toUsage(
  usage: { prompt_tokens?: number | null; completion_tokens?: number | null } | null | undefined,
): Usage {
  return { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 };
}

function mapStream(
  events: AsyncIterable<EventSourceMessage>,
  config: QianfanModelConfig,
  warnings: Warning[],
): AsyncGenerator<StreamPart> {
  return mapVendorStream(events, {
    provider: config.provider,
    warnings,
    incomplete: 'ended the stream before is_end',
    finishReason: (progress) => mapFinishReason(progress.finishReason ?? 'normal'),
    *onEvent(event, progress) {
      const payload = parseStreamEventJson(event.data, config.provider);
      const error = errorFromBody(payload, config.errorContext);
      if (error) throw error;
      const parsed = parseWireBody(chatResponseSchema, payload, {
        provider: config.provider,
        what: 'stream event',
      });
      yield* metadataOnce(progress, parsed.id || `qianfan-${randomUUID()}`, config.modelId);
      if (parsed.result) yield { type: 'text-delta', delta: parsed.result };
      if (parsed.usage) progress.usage = toUsage(parsed.usage);
      if (parsed.finish_reason) progress.finishReason = parsed.finish_reason;
      if (parsed.is_end) progress.ended = true;
    },
  });
}
