/**
 * `ChatModelV1` over DashScope's native generation API (what Byzer-LLM's `dashscope` SDK calls):
 *
 * - text models: `POST {base}/api/v1/services/aigc/text-generation/generation`
 * - qwen-vl models: `POST {base}/api/v1/services/aigc/multimodal-generation/generation`
 *
 * Body: `{model, input: {messages}, parameters: {result_format: "message", max_tokens, temperature,
 * top_p, top_k, seed, stop, presence_penalty, tools, incremental_output, …}}`. `request.extra` goes
 * into `parameters` (Byzer-LLM's `enable_search`, `enable_search_enhance`, `repetition_penalty`, …).
 * Streaming sends `X-DashScope-SSE: enable`; DashScope then answers SSE events `result` (and `error`
 * mid-stream). With `incremental_output: true` (our default for streams) each event carries a delta;
 * a caller that sets `extra.incremental_output: false` gets cumulative texts, which are diffed here.
 */
import { randomUUID } from 'node:crypto';
import type {
  CallOptions,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  StreamPart,
  Usage,
  Warning,
} from '../../core/chat-model.js';
import { parseWireBody } from '../shared/wire-body.js';
import { type ErrorMappingContext, errorFromStreamPayload } from '../shared/upstream-errors.js';
import type { HttpClient } from '../shared/http-client.js';
import type { EventSourceMessage } from '../shared/server-sent-events.js';
import { convertMessages } from './convert-messages.js';
import { mapFinishReason } from '../shared/openai-compatible/map-finish-reason.js';
import { contentText, type GenerationResponse, generationResponseSchema } from './wire-schemas.js';
import { parseStreamEventJson } from '../shared/stream-errors.js';
import { mapVendorStream, metadataOnce } from '../shared/vendor-stream.js';
import { mergeExtra } from '../shared/extra-fields.js';
import { ProviderModel } from '../shared/provider-model.js';
import { setOpenAITools } from '../shared/openai-compatible/openai-compatible-chat-model.js';

export const GENERATION_PATH = '/api/v1/services/aigc/text-generation/generation';
export const MULTIMODAL_PATH = '/api/v1/services/aigc/multimodal-generation/generation';

export interface QianwenModelConfig {
  provider: string;
  modelId: string;
  client: HttpClient;
  errorContext: ErrorMappingContext;
  /** qwen-vl: the multimodal endpoint and list-shaped contents. */
  multimodal: boolean;
}

export class QianwenChatModel extends ProviderModel<QianwenModelConfig> implements ChatModelV1 {
  private get path(): string {
    return this.config.multimodal ? MULTIMODAL_PATH : GENERATION_PATH;
  }

  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = this.buildBody(request, false);
    const response = await this.config.client.postJson(this.path, body, options);
    const parsed = parseWireBody(generationResponseSchema, response.body, {
      provider: this.provider,
      what: 'generation response',
    });
    const choice = parsed.output.choices?.[0];
    const result: ChatResult = {
      text: choice ? contentText(choice.message.content) : (parsed.output.text ?? ''),
      toolCalls: (choice?.message.tool_calls ?? []).map((call) => ({
        id: call.id || `call_${randomUUID()}`,
        name: call.function.name,
        arguments: call.function.arguments ?? '{}',
      })),
      finishReason: mapFinishReason(choice?.finish_reason ?? parsed.output.finish_reason),
      usage: toUsage(parsed.usage),
      requestId: parsed.request_id || `dashscope-${randomUUID()}`,
      modelId: this.modelId,
      warnings,
    };
    if (choice?.message.reasoning_content) result.reasoning = choice.message.reasoning_content;
    return result;
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = this.buildBody(request, true);
    const incremental = (body.parameters as Record<string, unknown>).incremental_output !== false;
    const response = await this.config.client.postEventStream(this.path, body, {
      ...options,
      headers: { 'x-dashscope-sse': 'enable' },
    });
    return mapStream(response.events, this.config, incremental, warnings);
  }

  private buildBody(
    request: ChatRequest,
    stream: boolean,
  ): { body: Record<string, unknown>; warnings: Warning[] } {
    const warnings: Warning[] = [];
    const parameters: Record<string, unknown> = { result_format: 'message' };
    const set = (key: string, value: unknown) => {
      if (value !== undefined) parameters[key] = value;
    };
    set('max_tokens', request.maxTokens);
    set('temperature', request.temperature);
    set('top_p', request.topP);
    set('top_k', request.topK);
    set('seed', request.seed);
    set('presence_penalty', request.presencePenalty);
    if (request.stop && request.stop.length > 0) parameters.stop = request.stop;
    if (request.frequencyPenalty !== undefined) {
      warnings.push({
        type: 'unsupported-setting',
        setting: 'frequencyPenalty',
        message: 'DashScope has no frequency_penalty; use extra.repetition_penalty',
      });
    }
    setOpenAITools(parameters, request);
    if (request.responseFormat?.type === 'json') parameters.response_format = { type: 'json_object' };
    if (stream) parameters.incremental_output = true;
    mergeExtra(parameters, request.extra);
    const messages = convertMessages(request.messages, this.config.multimodal, warnings);
    return { body: { model: this.modelId, input: { messages }, parameters }, warnings };
  }
}

function toUsage(usage: GenerationResponse['usage']): Usage {
  return { inputTokens: usage?.input_tokens ?? 0, outputTokens: usage?.output_tokens ?? 0 };
}

function mapStream(
  events: AsyncIterable<EventSourceMessage>,
  config: QianwenModelConfig,
  incremental: boolean,
  warnings: Warning[],
): AsyncGenerator<StreamPart> {
  let text = '';
  return mapVendorStream(events, {
    provider: config.provider,
    warnings,
    // DashScope has no end marker: an answer that started is whole when the connection ends.
    isComplete: (progress) => progress.started,
    incomplete: 'closed the stream without an answer',
    finishReason: (progress) => mapFinishReason(progress.finishReason ?? 'stop'),
    *onEvent(event, progress) {
      const payload = parseStreamEventJson(event.data, config.provider);
      if (event.event === 'error') throw errorFromStreamPayload(payload, config.errorContext);
      const parsed = parseWireBody(generationResponseSchema, payload, {
        provider: config.provider,
        what: 'stream event',
      });
      yield* metadataOnce(progress, parsed.request_id || `dashscope-${randomUUID()}`, config.modelId);
      if (parsed.usage) progress.usage = toUsage(parsed.usage);
      const choice = parsed.output.choices?.[0];
      const content = choice ? contentText(choice.message.content) : (parsed.output.text ?? '');
      const delta = incremental ? content : content.slice(text.length);
      text = incremental ? text + content : content;
      if (delta) yield { type: 'text-delta', delta };
      const reason = choice?.finish_reason ?? parsed.output.finish_reason;
      if (reason && reason !== 'null') progress.finishReason = reason;
    },
  });
}
