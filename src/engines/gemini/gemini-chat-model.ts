/**
 * `ChatModelV1` over the Gemini API: `POST {base_url}/{api_version}/models/{model}:generateContent`
 * and `:streamGenerateContent?alt=sse` (each SSE event is a whole `GenerateContentResponse` whose
 * parts are the new text; the last carries `finishReason` and usage).
 *
 * Request mapping: `maxTokens` → `generationConfig.maxOutputTokens`, `temperature`, `topP`,
 * `topK`, `stop` → `stopSequences`, `seed`, `presencePenalty`, `frequencyPenalty`, JSON response
 * format → `responseMimeType: application/json` (+ `responseSchema`), tools →
 * `functionDeclarations`, `toolChoice` → `toolConfig.functionCallingConfig.mode`. `request.extra`
 * is merged into the body last (`safetySettings`, `cachedContent`, …).
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type {
  CallOptions,
  ChatModelV1,
  ChatRequest,
  ChatResult,
  StreamPart,
  ToolCall,
  Warning,
} from '../../core/chat-model.js';
import { toByzerLLMError } from '../../core/errors.js';
import { errorFromStreamPayload } from '../shared/upstream-errors.js';
import { parseWireBody } from '../shared/wire-body.js';
import type { HttpClient } from '../shared/http-client.js';
import type { EventSourceMessage } from '../shared/server-sent-events.js';
import { convertMessages } from './convert-messages.js';
import {
  type GenerateContentResponse,
  generateContentResponseSchema,
  mapFinishReason,
  toUsage,
} from './wire-schemas.js';
import { incompleteStreamError, parseStreamEventJson } from '../shared/stream-errors.js';
import { mergeExtra } from '../shared/extra-fields.js';
import { ProviderModel } from '../shared/provider-model.js';

export interface GeminiModelConfig {
  provider: string;
  modelId: string;
  /** `/v1beta/models/<model>`: the path prefix of every call. */
  modelPath: string;
  client: HttpClient;
  secrets: readonly string[];
}

/**
 * POSTs `body` to `<modelPath>:<method>` and returns the reply checked against `schema`; a reply of
 * another shape is an `upstream_error` that names the method.
 */
export async function callModelMethod<Schema extends z.ZodType>(
  config: GeminiModelConfig,
  method: string,
  body: unknown,
  options: CallOptions,
  schema: Schema,
): Promise<z.infer<Schema>> {
  const response = await config.client.postJson(`${config.modelPath}:${method}`, body, options);
  return parseWireBody(schema, response.body, { provider: config.provider, what: `${method} response` });
}

export class GeminiChatModel extends ProviderModel<GeminiModelConfig> implements ChatModelV1 {
  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = buildBody(request);
    const parsed = await callModelMethod(
      this.config,
      'generateContent',
      body,
      options,
      generateContentResponseSchema,
    );
    const pieces = readCandidate(parsed);
    const result: ChatResult = {
      text: pieces.text,
      toolCalls: pieces.toolCalls,
      finishReason: blockedOrMapped(parsed, pieces.finishReason, pieces.toolCalls.length > 0),
      usage: toUsage(parsed),
      requestId: parsed.responseId || `gemini-${randomUUID()}`,
      modelId: parsed.modelVersion || this.modelId,
      warnings,
    };
    if (pieces.reasoning) result.reasoning = pieces.reasoning;
    return result;
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = buildBody(request);
    const response = await this.config.client.postEventStream(
      `${this.config.modelPath}:streamGenerateContent?alt=sse`,
      body,
      options,
    );
    return this.mapStream(response.events, warnings);
  }

  private async *mapStream(
    events: AsyncIterable<EventSourceMessage>,
    warnings: Warning[],
  ): AsyncGenerator<StreamPart> {
    const provider = this.provider;
    const toolCalls: ToolCall[] = [];
    let started = false;
    let finishReason: string | null | undefined;
    let last: GenerateContentResponse | undefined;
    try {
      for await (const event of events) {
        const json = parseStreamEventJson(event.data, provider);
        if (json !== null && typeof json === 'object' && 'error' in json) {
          yield {
            type: 'error',
            error: errorFromStreamPayload(json, { provider, secrets: this.config.secrets }),
          };
          return;
        }
        const chunk = parseWireBody(generateContentResponseSchema, json, { provider, what: 'stream event' });
        last = chunk;
        if (!started) {
          started = true;
          yield {
            type: 'response-metadata',
            requestId: chunk.responseId || `gemini-${randomUUID()}`,
            modelId: chunk.modelVersion || this.modelId,
          };
        }
        const pieces = readCandidate(chunk);
        if (pieces.reasoning) yield { type: 'reasoning-delta', delta: pieces.reasoning };
        if (pieces.text) yield { type: 'text-delta', delta: pieces.text };
        toolCalls.push(...pieces.toolCalls);
        if (pieces.finishReason) finishReason = pieces.finishReason;
        if (chunk.promptFeedback?.blockReason) finishReason ??= 'SAFETY';
      }
    } catch (error) {
      yield { type: 'error', error: toByzerLLMError(error) };
      return;
    }
    if (!started) yield { type: 'response-metadata', requestId: `gemini-${randomUUID()}` };
    if (!finishReason || !last) {
      yield {
        type: 'error',
        error: incompleteStreamError(provider, 'ended the stream before a finishReason'),
      };
      return;
    }
    for (const toolCall of toolCalls) yield { type: 'tool-call', toolCall };
    yield {
      type: 'finish',
      finishReason: blockedOrMapped(last, finishReason, toolCalls.length > 0),
      usage: toUsage(last),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }
}

function readCandidate(response: GenerateContentResponse): {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: string | null | undefined;
} {
  const candidate = response.candidates?.[0];
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const part of candidate?.content?.parts ?? []) {
    if (part.functionCall) {
      toolCalls.push({
        id: part.functionCall.id || `call_${randomUUID()}`,
        name: part.functionCall.name,
        arguments: JSON.stringify(part.functionCall.args ?? {}),
      });
    } else if (part.thought) reasoning += part.text ?? '';
    else text += part.text ?? '';
  }
  return { text, reasoning, toolCalls, finishReason: candidate?.finishReason };
}

/** A prompt blocked before any candidate is a content filter, not an unknown end. */
function blockedOrMapped(
  response: GenerateContentResponse,
  reason: string | null | undefined,
  hasToolCalls: boolean,
) {
  if (!reason && response.promptFeedback?.blockReason) return 'content-filter' as const;
  return mapFinishReason(reason, hasToolCalls);
}

export function buildBody(request: ChatRequest): { body: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const { systemInstruction, contents } = convertMessages(request.messages, warnings);
  const generationConfig: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) generationConfig[key] = value;
  };
  set('maxOutputTokens', request.maxTokens);
  set('temperature', request.temperature);
  set('topP', request.topP);
  set('topK', request.topK);
  if (request.stop && request.stop.length > 0) set('stopSequences', request.stop);
  set('seed', request.seed);
  set('presencePenalty', request.presencePenalty);
  set('frequencyPenalty', request.frequencyPenalty);
  if (request.responseFormat?.type === 'json') {
    generationConfig.responseMimeType = 'application/json';
    if (request.responseFormat.schema) generationConfig.responseJsonSchema = request.responseFormat.schema;
  }
  const body: Record<string, unknown> = { contents };
  if (systemInstruction) body.systemInstruction = systemInstruction;
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  if (request.tools && request.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          parameters: tool.parameters,
        })),
      },
    ];
  }
  if (request.toolChoice !== undefined) {
    const choice = request.toolChoice;
    body.toolConfig = {
      functionCallingConfig:
        typeof choice === 'string'
          ? { mode: choice === 'required' ? 'ANY' : choice.toUpperCase() }
          : { mode: 'ANY', allowedFunctionNames: [choice.name] },
    };
  }
  mergeExtra(body, request.extra, warnings);
  return { body, warnings };
}
