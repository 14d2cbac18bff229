/**
 * `ChatModelV1` over MiniMax `POST {base}/v1/text/chatcompletion_pro?GroupId=…`:
 * `{model, messages: [{sender_type: USER|BOT, sender_name, text}], bot_setting: [{bot_name,
 * content}], reply_constraints: {sender_type: BOT, sender_name}, tokens_to_generate, temperature,
 * top_p, stream}`. System messages become the bot's `content` (Byzer-LLM's behaviour); without one
 * the deployment's `saas.bot_setting` (or a neutral default) is used.
 *
 * The stream's chunks carry deltas in `choices[0].messages[0].text`; the last chunk (with
 * `finish_reason`, `usage`, `base_resp`) repeats the whole reply, so its text is not emitted again.
 * MiniMax reports only `usage.total_tokens`: it is given as output tokens, input tokens as 0.
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
import { parseWireBody } from '../shared/wire-body.js';
import type { HttpClient } from '../shared/http-client.js';
import type { EventSourceMessage } from '../shared/server-sent-events.js';
import { retryVendorErrors } from '../shared/vendor-error.js';
import { errorFromBody, type MiniMaxErrorContext } from './map-error.js';
import { chatResponseSchema, type MiniMaxChatResponse } from './wire-schemas.js';
import { parseStreamEventJson } from '../shared/stream-errors.js';
import { mapVendorStream, metadataOnce } from '../shared/vendor-stream.js';
import { mergeExtra } from '../shared/extra-fields.js';
import { ProviderModel } from '../shared/provider-model.js';

export interface MiniMaxModelConfig {
  provider: string;
  modelId: string;
  groupId: string;
  botName: string;
  userName: string;
  botSetting: string;
  client: HttpClient;
  errorContext: MiniMaxErrorContext;
  /** Retries of retryable `base_resp` codes in 200 bodies (`saas.max_retries`). */
  maxRetries: number;
}

export class MiniMaxChatModel extends ProviderModel<MiniMaxModelConfig> implements ChatModelV1 {
  private get path(): string {
    return `/v1/text/chatcompletion_pro?GroupId=${encodeURIComponent(this.config.groupId)}`;
  }

  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = this.buildBody(request, false);
    const retry = { maxRetries: this.config.maxRetries, signal: options.signal, client: this.config.client };
    const response = await retryVendorErrors(retry, async (attempt) => {
      const answer = await this.config.client.postJson(this.path, body, { ...options, ...attempt });
      const error = errorFromBody(answer.body, this.config.errorContext);
      if (error) throw error;
      return answer;
    });
    const parsed = parseWireBody(chatResponseSchema, response.body, {
      provider: this.provider,
      what: 'chat answer',
    });
    const choice = parsed.choices?.[0];
    return {
      text: parsed.reply ?? choice?.messages?.at(-1)?.text ?? '',
      toolCalls: [],
      finishReason: mapFinishReason(choice?.finish_reason),
      usage: toUsage(parsed),
      requestId: parsed.id || `minimax-${randomUUID()}`,
      modelId: parsed.model || this.modelId,
      warnings,
    };
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = this.buildBody(request, true);
    const response = await this.config.client.postEventStream(this.path, body, options);
    return mapStream(response.events, this.config, warnings);
  }

  private buildBody(
    request: ChatRequest,
    stream: boolean,
  ): { body: Record<string, unknown>; warnings: Warning[] } {
    const warnings: Warning[] = [];
    const { botName, userName } = this.config;
    const system = request.messages
      .filter((message): message is Extract<ChatMessage, { role: 'system' }> => message.role === 'system')
      .map((message) => message.content)
      .join('\n');
    const messages = request.messages
      .filter((message) => message.role !== 'system')
      .map((message) => {
        if (message.role === 'assistant')
          return { sender_type: 'BOT', sender_name: botName, text: message.content };
        const text =
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
        return { sender_type: 'USER', sender_name: userName, text };
      });
    const body: Record<string, unknown> = {
      model: this.modelId,
      messages,
      bot_setting: [{ bot_name: botName, content: system || this.config.botSetting }],
      reply_constraints: { sender_type: 'BOT', sender_name: botName },
    };
    if (request.maxTokens !== undefined) body.tokens_to_generate = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
    for (const [setting, value] of [
      ['tools', request.tools?.length ? request.tools : undefined],
      ['stop', request.stop?.length ? request.stop : undefined],
      ['topK', request.topK],
    ] as const) {
      if (value !== undefined) {
        warnings.push({
          type: 'unsupported-setting',
          setting,
          message: `MiniMax chatcompletion_pro has no ${setting}`,
        });
      }
    }
    if (stream) body.stream = true;
    mergeExtra(body, request.extra);
    return { body, warnings };
  }
}

function mapFinishReason(reason: string | null | undefined): FinishReason {
  if (reason === 'stop') return 'stop';
  if (reason === 'length' || reason === 'max_output') return 'length';
  return reason ? 'other' : 'unknown';
}

function toUsage(response: MiniMaxChatResponse): Usage {
  return { inputTokens: 0, outputTokens: response.usage?.total_tokens ?? 0 };
}

function mapStream(
  events: AsyncIterable<EventSourceMessage>,
  config: MiniMaxModelConfig,
  warnings: Warning[],
): AsyncGenerator<StreamPart> {
  return mapVendorStream(events, {
    provider: config.provider,
    warnings,
    incomplete: 'ended the stream without a finish_reason',
    finishReason: (progress) => mapFinishReason(progress.finishReason),
    *onEvent(event, progress) {
      const payload = parseStreamEventJson(event.data, config.provider);
      const error = errorFromBody(payload, config.errorContext);
      if (error) throw error;
      const parsed = parseWireBody(chatResponseSchema, payload, {
        provider: config.provider,
        what: 'stream event',
      });
      yield* metadataOnce(progress, parsed.id || `minimax-${randomUUID()}`, parsed.model || config.modelId);
      const choice = parsed.choices?.[0];
      if (choice?.finish_reason) {
        progress.finishReason = choice.finish_reason;
        progress.usage = toUsage(parsed);
        progress.ended = true;
        return;
      }
      const delta = choice?.messages?.map((message) => message.text ?? '').join('') ?? '';
      if (delta) yield { type: 'text-delta', delta };
    },
  });
}
