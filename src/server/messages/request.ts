/**
 * `POST /v1/messages` request (Anthropic Messages API) → `ChatRequest`.
 *
 * `system` (a string or text blocks) becomes the system message; content blocks map onto the
 * protocol's messages: `tool_use` blocks are an assistant turn's tool calls, each `tool_result` block
 * a tool message (placed before the rest of its user turn, as chat completions orders them), images
 * become image parts. Thinking blocks an SDK echoes back are the model's own earlier output and are
 * left out. Blocks that need Anthropic's servers (documents, server tools) are a 400 naming the field.
 */
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, ToolChoice, ToolDefinition } from '../../core/index.js';
import { badField } from '../map-error.js';
import { parseRequest } from '../validate.js';

const blockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
  tool_use_id: z.string().optional(),
  content: z.unknown().optional(),
  is_error: z.boolean().optional(),
  source: z
    .looseObject({
      type: z.string(),
      media_type: z.string().optional(),
      data: z.string().optional(),
      url: z.string().optional(),
    })
    .optional(),
});

type Block = z.output<typeof blockSchema>;

const textBlocks = z.array(z.looseObject({ type: z.literal('text'), text: z.string() }));

export const messagesBodySchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(
    z.looseObject({
      role: z.enum(['user', 'assistant']),
      content: z.union([z.string(), z.array(blockSchema)]),
    }),
  ),
  system: z.union([z.string(), textBlocks]).nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  stream: z.boolean().nullish(),
  temperature: z.number().min(0).max(1).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().nonnegative().nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.string().nullish(),
        name: z.string().min(1),
        description: z.string().nullish(),
        input_schema: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .nullish(),
  tool_choice: z
    .looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional() })
    .nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

export type MessagesBody = z.output<typeof messagesBodySchema>;

/** `count_tokens` takes the same body without `max_tokens`. */
export const countTokensBodySchema = messagesBodySchema.omit({ max_tokens: true });

export function parseMessagesBody(body: Record<string, unknown>): MessagesBody {
  return parseRequest(messagesBodySchema, body);
}

/** A Messages body, or a `count_tokens` body (no `max_tokens`). */
export type MessagesInput = z.output<typeof countTokensBodySchema> & { max_tokens?: number };

export function toChatRequest(body: MessagesInput): ChatRequest {
  const messages: ChatMessage[] = [];
  const system =
    typeof body.system === 'string' ? body.system : body.system?.map((block) => block.text).join('\n');
  if (system) messages.push({ role: 'system', content: system });
  body.messages.forEach((message, index) => {
    const param = `messages[${index}].content`;
    if (typeof message.content === 'string') {
      messages.push({ role: message.role, content: message.content });
    } else if (message.role === 'assistant') {
      messages.push(toAssistant(message.content, param));
    } else {
      messages.push(...toUserTurn(message.content, param));
    }
  });
  if (messages.length === 0) throw badField('messages', 'at least one message is required');
  const request: ChatRequest = { messages };
  if (body.max_tokens != null) request.maxTokens = body.max_tokens;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.top_k != null) request.topK = body.top_k;
  if (body.stop_sequences?.length) request.stop = body.stop_sequences;
  if (body.tools?.length) request.tools = body.tools.map(toTool);
  if (body.tool_choice) request.toolChoice = toToolChoice(body.tool_choice);
  if (body.stream) request.includeUsage = true;
  return request;
}

function toTool(tool: NonNullable<MessagesBody['tools']>[number], index: number): ToolDefinition {
  if (tool.type && tool.type !== 'custom') {
    throw badField(
      `tools[${index}].type`,
      `tool type ${JSON.stringify(tool.type)} is one of Anthropic's server tools; only custom tools (name, input_schema) run on deployments`,
    );
  }
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    parameters: tool.input_schema ?? { type: 'object', properties: {} },
  };
}

function toToolChoice(choice: NonNullable<MessagesBody['tool_choice']>): ToolChoice {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'none':
      return 'none';
    case 'any':
      return 'required';
    case 'tool':
      if (!choice.name) throw badField('tool_choice.name', 'tool_choice of type tool needs the tool name');
      return { name: choice.name };
  }
}

function toAssistant(blocks: Block[], param: string): ChatMessage {
  let content = '';
  const toolCalls: { id: string; name: string; arguments: string }[] = [];
  blocks.forEach((block, index) => {
    switch (block.type) {
      case 'text':
        content += block.text ?? '';
        break;
      case 'tool_use':
        if (!block.id || !block.name)
          throw badField(`${param}[${index}]`, 'a tool_use block needs id and name');
        toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
        break;
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        throw unsupportedBlock(block, `${param}[${index}]`);
    }
  });
  return { role: 'assistant', content, ...(toolCalls.length > 0 ? { toolCalls } : {}) };
}

function toUserTurn(blocks: Block[], param: string): ChatMessage[] {
  const toolMessages: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  blocks.forEach((block, index) => {
    const at = `${param}[${index}]`;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: block.text ?? '' });
        break;
      case 'image':
        parts.push({ type: 'image', url: imageUrl(block, at) });
        break;
      case 'tool_result': {
        if (!block.tool_use_id) throw badField(`${at}.tool_use_id`, 'a tool_result block needs tool_use_id');
        const text = toolResultText(block.content, `${at}.content`);
        toolMessages.push({
          role: 'tool',
          toolCallId: block.tool_use_id,
          // The protocol has no error flag on tool results: the model reads it in the text.
          content: block.is_error ? `Error: ${text}` : text,
        });
        break;
      }
      default:
        throw unsupportedBlock(block, at);
    }
  });
  if (parts.length === 0) return toolMessages;
  const onlyText = parts.every((part) => part.type === 'text');
  const content = onlyText ? parts.map((part) => (part as { text: string }).text).join('') : parts;
  return [...toolMessages, { role: 'user', content }];
}

function toolResultText(content: unknown, param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  const blocks = z.array(blockSchema).safeParse(content);
  if (!blocks.success) throw badField(param, 'tool_result content must be a string or a list of text blocks');
  return blocks.data
    .map((block, index) => {
      if (block.type !== 'text') throw unsupportedBlock(block, `${param}[${index}]`);
      return block.text ?? '';
    })
    .join('');
}

function imageUrl(block: Block, param: string): string {
  const source = block.source;
  if (source?.type === 'base64' && source.media_type?.startsWith('image/') && source.data) {
    return `data:${source.media_type};base64,${source.data}`;
  }
  if (source?.type === 'url' && source.url && /^https?:/.test(source.url)) return source.url;
  throw badField(
    `${param}.source`,
    'an image block needs a base64 source with an image/* media_type, or an http(s) url',
  );
}

function unsupportedBlock(block: Block, param: string) {
  return badField(
    `${param}.type`,
    `content block type ${JSON.stringify(block.type)} is not supported here; use text, image, tool_use or tool_result`,
  );
}
