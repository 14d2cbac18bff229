/**
 * `ChatModelV1` over an OpenAI-compatible `POST {base_url}/chat/completions`.
 *
 * Request mapping (protocol → OpenAI body): `maxTokens` → `max_tokens` (sent only when set),
 * `temperature`, `topP` → `top_p`, `stop`, `seed`, `presencePenalty`/`frequencyPenalty`, `tools` →
 * function tools, `toolChoice` → `tool_choice`, `responseFormat` → `response_format`
 * (`json_schema` with `strict: false` when a schema is given, else `json_object`). `request.extra`
 * is merged into the body last, so vendor fields (`extra_body`, `gen.*`) pass through unchanged;
 * keys whose value is undefined are skipped. `topK` has no OpenAI field: it is reported as a
 * warning (send it through `extra.top_k` for servers that accept it, like vLLM).
 */
import { randomUUID } from 'node:crypto';
import type {
  CallOptions,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  OpenAIChatObject,
  OpenAIChunkText,
  OpenAIPassThroughV1,
  StreamPart,
  ToolCall,
  Warning,
} from '../../../core/chat-model.js';
import { UpstreamError } from '../../../core/errors.js';
import type { HttpClient } from '../http-client.js';
import type { ResponseHeaders } from '../retry-policy.js';
import { convertMessages } from './convert-messages.js';
import type { ErrorMappingContext } from '../upstream-errors.js';
import { mapFinishReason } from './map-finish-reason.js';
import { mapChatStream } from './map-stream.js';
import { chatCompletionSchema, toUsage } from './wire-schemas.js';
import { parseWireBody } from '../wire-body.js';
import { mergeExtra } from '../extra-fields.js';
import { ProviderModel } from '../provider-model.js';
import { checkCompletion, passThroughChunks, upstreamBody } from './pass-through.js';

/** What the chat and embedding models of one engine instance share. */
export interface OpenAICompatibleModelConfig {
  /** Provider name reported by the model and in errors, e.g. `saas/openai`. */
  provider: string;
  /** The upstream model name (`saas.model`). */
  modelId: string;
  client: HttpClient;
  errorContext: ErrorMappingContext;
  /** Leave `temperature`/`top_p` out (reasoning models reject them), with a warning each. */
  omitSamplingParams?: boolean;
}

export class OpenAICompatibleChatModel
  extends ProviderModel<OpenAICompatibleModelConfig>
  implements ChatModelV1, OpenAIPassThroughV1
{
  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = this.chatBody(request, false);
    const response = await this.config.client.postJson('/chat/completions', body, options);
    const completion = parseWireBody(chatCompletionSchema, response.body, {
      provider: this.provider,
      what: 'chat completion',
    });
    const choice = completion.choices[0];
    if (!choice) {
      throw new UpstreamError('upstream_error', `${this.provider} answered with no choices`, {
        details: { provider: this.provider },
      });
    }
    const message = choice.message;
    const toolCalls: ToolCall[] = (message.tool_calls ?? []).map((call) => ({
      id: call.id || `call_${randomUUID()}`,
      name: call.function.name,
      arguments:
        typeof call.function.arguments === 'string'
          ? call.function.arguments
          : JSON.stringify(call.function.arguments ?? {}),
    }));
    const result: ChatResult = {
      text: message.content ?? '',
      toolCalls,
      finishReason: mapFinishReason(choice.finish_reason),
      usage: toUsage(completion.usage),
      requestId: completion.id || requestIdFromHeaders(response.headers),
      modelId: completion.model || this.modelId,
      warnings,
    };
    const reasoning = message.reasoning_content ?? message.reasoning;
    if (reasoning) result.reasoning = reasoning;
    return result;
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = this.chatBody(request, true);
    const response = await this.config.client.postEventStream('/chat/completions', body, options);
    return mapChatStream({
      events: response.events,
      errorContext: this.config.errorContext,
      fallbackRequestId: requestIdFromHeaders(response.headers),
      warnings,
    });
  }

  /** `OpenAIPassThroughV1`: the caller's validated OpenAI body as it is, the upstream's JSON back. */
  async doGenerateOpenAI(
    body: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<OpenAIChatObject> {
    const upstream = upstreamBody(body, this.modelId, {
      stream: false,
      omitSamplingParams: this.omitsSampling,
    });
    const response = await this.config.client.postJson('/chat/completions', upstream, options);
    return checkCompletion(response.body, this.provider);
  }

  async doStreamOpenAI(
    body: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<AsyncIterable<OpenAIChunkText[]>> {
    const upstream = upstreamBody(body, this.modelId, {
      stream: true,
      omitSamplingParams: this.omitsSampling,
    });
    const response = await this.config.client.postEventBatches('/chat/completions', upstream, options);
    return passThroughChunks(response.batches, this.config.errorContext);
  }

  private get omitsSampling(): boolean {
    return this.config.omitSamplingParams === true;
  }

  private chatBody(request: ChatRequest, stream: boolean): ReturnType<typeof buildChatBody> {
    if (!this.config.omitSamplingParams) return buildChatBody(this.modelId, request, stream);
    const { temperature, topP, ...rest } = request;
    const built = buildChatBody(this.modelId, rest, stream);
    for (const [setting, value] of [
      ['temperature', temperature],
      ['topP', topP],
    ] as const) {
      if (value === undefined) continue;
      built.warnings.push({
        type: 'unsupported-setting',
        setting,
        message: `${this.provider} sends no ${setting}: reasoning models reject sampling settings`,
      });
    }
    return built;
  }
}

/** The JSON body of a chat completion request, and what was left out of it. */
export function buildChatBody(
  modelId: string,
  request: ChatRequest,
  stream: boolean,
): { body: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const body: Record<string, unknown> = { model: modelId, messages: convertMessages(request.messages) };
  setIfDefined(body, 'max_tokens', request.maxTokens);
  setIfDefined(body, 'temperature', request.temperature);
  setIfDefined(body, 'top_p', request.topP);
  if (request.stop && request.stop.length > 0) body.stop = request.stop;
  setIfDefined(body, 'seed', request.seed);
  setIfDefined(body, 'presence_penalty', request.presencePenalty);
  setIfDefined(body, 'frequency_penalty', request.frequencyPenalty);
  setOpenAITools(body, request);
  const format = request.responseFormat;
  if (format?.type === 'json') {
    body.response_format = format.schema
      ? {
          type: 'json_schema',
          json_schema: { name: format.name ?? 'response', schema: format.schema, strict: false },
        }
      : { type: 'json_object' };
  }
  if (request.topK !== undefined) {
    warnings.push({
      type: 'unsupported-setting',
      setting: 'topK',
      message: 'OpenAI-compatible chat has no top_k field; pass extra.top_k for servers that accept it',
    });
  }
  if (stream) {
    body.stream = true;
    if (request.includeUsage !== false) body.stream_options = { include_usage: true };
  }
  mergeExtra(body, request.extra, warnings);
  return { body, warnings };
}

function setIfDefined(body: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) body[key] = value;
}

function requestIdFromHeaders(headers: ResponseHeaders): string {
  const header = headers['x-request-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value || `chatcmpl-${randomUUID()}`;
}

/**
 * `tools` and `tool_choice` in OpenAI's function format, set on `target` when the request has them
 * (the chat completions body, or DashScope's `parameters`, which use the same shapes).
 */
export function setOpenAITools(target: Record<string, unknown>, request: ChatRequest): void {
  if (request.tools && request.tools.length > 0) {
    target.tools = request.tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.parameters,
      },
    }));
  }
  if (request.toolChoice !== undefined) {
    target.tool_choice =
      typeof request.toolChoice === 'string'
        ? request.toolChoice
        : { type: 'function', function: { name: request.toolChoice.name } };
  }
}
