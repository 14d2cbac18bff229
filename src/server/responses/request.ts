/**
 * `POST /v1/responses` request (OpenAI Responses API) → `ChatRequest`.
 *
 * The Responses API is another spelling of a chat call: `instructions` is a system message, `input`
 * is a string or a list of items (messages, `function_call` and `function_call_output` items),
 * `text.format` is the response format, `max_output_tokens` the token bound. Everything runs through
 * the normal chat path of whatever deployment `model` names, so every chat engine serves it.
 *
 * Hosted tools (web search, file search, computer use) and their items need OpenAI's own servers:
 * they are refused with a 400 naming the field, never silently dropped. `item_reference` items are
 * replaced by the stored output items they name before conversion (`toInputMessages`).
 */
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, ToolChoice } from '../../core/index.js';
import { toResponseFormat } from '../chat-request.js';
import { badField } from '../map-error.js';
import { parseRequest } from '../validate.js';

const inputContentSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  refusal: z.string().optional(),
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(['auto', 'low', 'high']).optional(),
});

const messageItemSchema = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(inputContentSchema)]),
});

const functionCallItemSchema = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});

const functionCallOutputItemSchema = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(inputContentSchema)]),
});

/** Items are told apart by `type` (absent means a message) and parsed by `appendItem`. */
const inputItemSchema = z.looseObject({ type: z.string().optional(), id: z.string().optional() });

const functionToolSchema = z.looseObject({
  type: z.string(),
  name: z.string().min(1).optional(),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const formatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  input: z.union([z.string(), z.array(inputItemSchema)]),
  instructions: z.string().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(functionToolSchema).nullish(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.looseObject({ type: z.literal('function'), name: z.string().min(1) }),
    ])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: formatSchema.nullish() }).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
});

export type ResponsesBody = z.output<typeof responsesBodySchema>;

export function parseResponsesBody(body: Record<string, unknown>): ResponsesBody {
  return parseRequest(responsesBodySchema, body);
}

/**
 * The conversation this request adds to the stored one: its input items as messages, without the
 * instructions (OpenAI does not carry `instructions` over to the next response, so they are not
 * part of the stored history).
 */
export function toInputMessages(body: ResponsesBody, references: Map<string, unknown>): ChatMessage[] {
  if (typeof body.input === 'string') return [{ role: 'user', content: body.input }];
  const messages: ChatMessage[] = [];
  body.input.forEach((item, index) => {
    // A reference stands for the stored output item it names (resolved by the caller).
    const referenced = item.type === 'item_reference' ? references.get(String(item.id)) : undefined;
    appendItem(messages, (referenced as InputItem | undefined) ?? item, `input[${index}]`);
  });
  return messages;
}

type InputItem = Exclude<ResponsesBody['input'], string>[number];
type InputContent = z.output<typeof inputContentSchema>;

function appendItem(messages: ChatMessage[], item: InputItem, param: string): void {
  const type = item.type ?? 'message';
  switch (type) {
    case 'message': {
      messages.push(toMessage(parseItem(messageItemSchema, item, param), param));
      return;
    }
    case 'function_call': {
      const call = parseItem(functionCallItemSchema, item, param);
      const toolCall = { id: call.call_id, name: call.name, arguments: call.arguments };
      // Consecutive calls belong to one assistant turn, as chat completions has them.
      const last = messages.at(-1);
      if (last?.role === 'assistant' && last.toolCalls) last.toolCalls.push(toolCall);
      else messages.push({ role: 'assistant', content: '', toolCalls: [toolCall] });
      return;
    }
    case 'function_call_output': {
      const output = parseItem(functionCallOutputItemSchema, item, param);
      const content =
        typeof output.output === 'string' ? output.output : joinText(output.output, `${param}.output`);
      messages.push({ role: 'tool', toolCallId: output.call_id, content });
      return;
    }
    case 'reasoning':
      // A reasoning item echoed back by a client: the model's own earlier thoughts, not input.
      return;
    default:
      throw badField(
        `${param}.type`,
        `input item type ${JSON.stringify(type)} is not supported here; use message, function_call, function_call_output or item_reference items`,
      );
  }
}

/** Parses one input item; a bad field is a 400 naming it under `input[i]`. */
function parseItem<Schema extends z.ZodType>(schema: Schema, item: unknown, param: string): z.output<Schema> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
  throw badField(`${param}${path}`, `invalid ${param}${path}: ${issue.message}`);
}

function toMessage(message: z.output<typeof messageItemSchema>, param: string): ChatMessage {
  const { role, content } = message;
  if (role === 'user') {
    if (typeof content === 'string') return { role, content };
    return {
      role,
      content: content.map((part, index) => toContentPart(part, `${param}.content[${index}]`)),
    };
  }
  const text = typeof content === 'string' ? content : joinText(content, `${param}.content`);
  return role === 'assistant' ? { role, content: text } : { role: 'system', content: text };
}

function toContentPart(part: InputContent, param: string): ContentPart {
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: part.text ?? '' };
    case 'input_image': {
      const url = part.image_url;
      if (!url || !/^(https?:|data:image\/)/.test(url)) {
        throw badField(
          `${param}.image_url`,
          'input_image needs image_url: an http(s) URL or a data:image/... URL (file_id is not supported)',
        );
      }
      return { type: 'image', url, ...(part.detail ? { detail: part.detail } : {}) };
    }
    default:
      throw badField(
        `${param}.type`,
        `content type ${JSON.stringify(part.type)} is not supported; use input_text or input_image`,
      );
  }
}

function joinText(parts: InputContent[], param: string): string {
  return parts
    .map((part, index) => {
      if (part.type === 'input_text' || part.type === 'output_text') return part.text ?? '';
      if (part.type === 'refusal') return part.refusal ?? '';
      throw badField(
        `${param}[${index}].type`,
        `content type ${JSON.stringify(part.type)} is not supported here; use input_text or output_text`,
      );
    })
    .join('');
}

/** The chat request of a Responses body, after the stored `history` of `previous_response_id`. */
export function toChatRequest(
  body: ResponsesBody,
  history: ChatMessage[],
  input: ChatMessage[],
): ChatRequest {
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  messages.push(...history, ...input);
  if (messages.length === 0) throw badField('input', 'input is empty: give a string or at least one item');
  const request: ChatRequest = { messages };
  if (body.max_output_tokens != null) request.maxTokens = body.max_output_tokens;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.tools?.length) {
    request.tools = body.tools.map((tool, index) => {
      if (tool.type !== 'function' || !tool.name) {
        throw badField(
          `tools[${index}].type`,
          `tool type ${JSON.stringify(tool.type)} is not supported: only function tools (with a name) run on deployments`,
        );
      }
      return {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: tool.parameters ?? { type: 'object', properties: {} },
      };
    });
  }
  if (body.tool_choice != null) request.toolChoice = toToolChoice(body.tool_choice);
  const format = body.text?.format;
  if (format) request.responseFormat = toResponseFormat(format);
  if (body.stream) request.includeUsage = true;
  return request;
}

function toToolChoice(choice: NonNullable<ResponsesBody['tool_choice']>): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.name };
}
