/**
 * `POST /v1/chat/completions` request → `ChatRequest`.
 *
 * Every documented OpenAI field the protocol has a place for is translated; there is no tiny
 * `max_tokens` default (the original's 16 [quirk]): absent means the engine's default. Fields the
 * protocol has no place for (`logprobs`, `user`, vLLM extras, `extra_body`) go to `extra`, which
 * engines forward or report as warnings.
 */
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, ResponseFormat, ToolChoice } from '../core/index.js';
import { badField } from './map-error.js';
import { parseRequest } from './validate.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const contentPart = z.discriminatedUnion('type', [
  textPart,
  z.object({
    type: z.literal('image_url'),
    image_url: z.union([
      z.string(),
      z.object({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
    ]),
  }),
  z.object({
    type: z.literal('input_audio'),
    input_audio: z.object({ data: z.string(), format: z.string() }),
  }),
]);
const textContent = z.union([z.string(), z.array(textPart)]).nullish();

const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: textContent }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(contentPart)]) }),
  z.object({
    role: z.literal('assistant'),
    content: textContent,
    reasoning_content: z.string().nullish(),
    tool_calls: z.array(toolCallSchema).nullish(),
    prefix: z.boolean().optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: textContent }),
]);

const stringOrList = z.union([z.string(), z.array(z.string()).max(16)]);

export const chatBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  messages: z.array(messageSchema).min(1, 'at least one message is required'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stop: stringOrList.nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  tools: z
    .array(
      z.object({
        type: z.literal('function'),
        function: z.object({
          name: z.string().min(1),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    )
    .nullish(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
    ])
    .nullish(),
  response_format: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object({
          name: z.string(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullish(),
          description: z.string().optional(),
        }),
      }),
    ])
    .nullish(),
  extra_body: z.record(z.string(), z.unknown()).nullish(),
});

export type ChatBody = z.output<typeof chatBodySchema>;

/** Fields translated into `ChatRequest` (or handled by the gateway): never copied to `extra`. */
const HANDLED = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'tools',
  'tool_choice',
  'response_format',
  'extra_body',
]);

export function parseChatBody(body: Record<string, unknown>): ChatBody {
  return parseRequest(chatBodySchema, body);
}

export function toChatRequest(body: ChatBody): ChatRequest {
  const request: ChatRequest = {
    messages: body.messages.map((message, index) =>
      toChatMessage(message, index, index === body.messages.length - 1),
    ),
  };
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) request.maxTokens = maxTokens;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.top_k != null) request.topK = body.top_k;
  if (body.stop != null) request.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (body.seed != null) request.seed = body.seed;
  if (body.presence_penalty != null) request.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) request.frequencyPenalty = body.frequency_penalty;
  if (body.tools?.length) {
    request.tools = body.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
      parameters: tool.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  if (body.tool_choice != null) request.toolChoice = toToolChoice(body.tool_choice);
  const format = body.response_format;
  if (format != null) {
    request.responseFormat = toResponseFormat(
      format.type === 'json_schema' ? { type: format.type, ...format.json_schema } : format,
    );
  }
  if (body.stream) request.includeUsage = body.stream_options?.include_usage === true;
  const extra: Record<string, unknown> = {};
  for (const key in body) {
    if (!HANDLED.has(key) && body[key] !== undefined) extra[key] = body[key];
  }
  if (body.extra_body) Object.assign(extra, body.extra_body);
  for (const _ in extra) {
    request.extra = extra;
    break;
  }
  return request;
}

type OpenAIMessage = ChatBody['messages'][number];

function toChatMessage(message: OpenAIMessage, index: number, isLast: boolean): ChatMessage {
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: joinText(message.content) };
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part, partIndex) => toContentPart(part, index, partIndex)),
      };
    case 'assistant': {
      const converted: ChatMessage = { role: 'assistant', content: joinText(message.content) };
      if (message.tool_calls?.length) {
        converted.toolCalls = message.tool_calls.map((call) => ({
          id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        }));
      }
      if (message.prefix) {
        if (!isLast) throw badField(`messages[${index}].prefix`, 'prefix is only valid on the last message');
        converted.prefix = true;
      }
      return converted;
    }
    case 'tool':
      return { role: 'tool', toolCallId: message.tool_call_id, content: joinText(message.content) };
  }
}

function joinText(content: string | { text: string }[] | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

type OpenAIPart = Exclude<Extract<OpenAIMessage, { role: 'user' }>['content'], string>[number];

function toContentPart(part: OpenAIPart, messageIndex: number, partIndex: number): ContentPart {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image_url': {
      const image = typeof part.image_url === 'string' ? { url: part.image_url } : part.image_url;
      if (!/^(https?:|data:image\/)/.test(image.url)) {
        throw badField(
          `messages[${messageIndex}].content[${partIndex}].image_url.url`,
          `image_url.url must be an http(s) URL or a data:image/... URL, not ${JSON.stringify(image.url.slice(0, 40))}`,
        );
      }
      return { type: 'image', url: image.url, ...(image.detail ? { detail: image.detail } : {}) };
    }
    case 'input_audio':
      return {
        type: 'audio',
        url: `data:audio/${part.input_audio.format};base64,${part.input_audio.data}`,
      };
  }
}

function toToolChoice(choice: NonNullable<ChatBody['tool_choice']>): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

/** An OpenAI response format with the `json_schema` fields flat, as the Responses API's `text.format` has them. */
export type OpenAIResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema?: Record<string, unknown> | undefined };

/** The one mapping of OpenAI's response formats (chat's `response_format`, Responses' `text.format`) to ours. */
export function toResponseFormat(format: OpenAIResponseFormat): ResponseFormat {
  switch (format.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json' };
    case 'json_schema':
      return { type: 'json', name: format.name, ...(format.schema ? { schema: format.schema } : {}) };
  }
}
