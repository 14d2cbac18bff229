/**
 * Chat answers in the Anthropic Messages API's shapes: the `message` object, the streaming events
 * (`message_start`, `ping`, `content_block_start`/`_delta`/`_stop`, `message_delta`,
 * `message_stop`, `error`) and the error body (`{"type": "error", "error": {type, message}}`).
 */
import { randomBytes } from 'node:crypto';
import type { ByzerLLMError, FinishReason, ToolCall, Usage } from '../../core/index.js';
import { mapError } from '../map-error.js';

export function newMessageId(): string {
  return `msg_${randomBytes(16).toString('hex')}`;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export function stopReason(reason: FinishReason): StopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool-calls':
      return 'tool_use';
    case 'content-filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** Tool arguments as the `input` object Anthropic clients expect; text that is not JSON is kept. */
export function toolInput(call: ToolCall): unknown {
  try {
    return JSON.parse(call.arguments || '{}');
  } catch {
    return { _unparsed_arguments: call.arguments };
  }
}

function usageOf(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

export function messageObject(input: {
  id: string;
  model: string;
  result: {
    text: string;
    reasoning?: string;
    toolCalls: ToolCall[];
    finishReason: FinishReason;
    usage: Usage;
  };
}) {
  const { result } = input;
  const content: Record<string, unknown>[] = [];
  if (result.reasoning) content.push({ type: 'thinking', thinking: result.reasoning, signature: '' });
  if (result.text !== '' || result.toolCalls.length === 0)
    content.push({ type: 'text', text: result.text, citations: null });
  for (const call of result.toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call) });
  }
  return {
    id: input.id,
    type: 'message',
    role: 'assistant',
    model: input.model,
    content,
    stop_reason: stopReason(result.finishReason),
    stop_sequence: null,
    usage: usageOf(result.usage),
  };
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

/** The Anthropic error body and status of an error (statuses as the OpenAI edge maps them). */
export function anthropicError(error: ByzerLLMError) {
  const mapped = mapError(error);
  const type = ERROR_TYPES[mapped.status] ?? (mapped.status >= 500 ? 'api_error' : 'invalid_request_error');
  return {
    status: mapped.status,
    headers: mapped.headers,
    body: { type: 'error', error: { type, message: mapped.body.error.message } },
  };
}

type OpenBlock = { kind: 'text' | 'thinking'; index: number } | undefined;

/** Renders one streamed answer's events; blocks open lazily and close when the kind changes. */
export class MessageEventWriter {
  private index = 0;
  private open: OpenBlock;

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  start(): string {
    const message = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usageOf({ inputTokens: 0, outputTokens: 0 }),
    };
    return this.event('message_start', { message }) + this.event('ping', {});
  }

  text(delta: string): string {
    return this.openBlock('text') + this.delta({ type: 'text_delta', text: delta });
  }

  reasoning(delta: string): string {
    return this.openBlock('thinking') + this.delta({ type: 'thinking_delta', thinking: delta });
  }

  toolCall(call: ToolCall): string {
    const index = this.index++;
    return (
      this.closeBlock() +
      this.event('content_block_start', {
        index,
        content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
      }) +
      this.event('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(toolInput(call)) },
      }) +
      this.event('content_block_stop', { index })
    );
  }

  finish(reason: FinishReason, usage: Usage): string {
    // An answer with no content at all still has its (empty) text block, as non-stream has.
    const empty = this.index === 0 ? this.openBlock('text') : '';
    return (
      empty +
      this.closeBlock() +
      this.event('message_delta', {
        delta: { stop_reason: stopReason(reason), stop_sequence: null },
        usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
      }) +
      this.event('message_stop', {})
    );
  }

  fail(error: ByzerLLMError): { events: string; status: number } {
    const mapped = anthropicError(error);
    return { events: this.event('error', { error: mapped.body.error }), status: mapped.status };
  }

  private openBlock(kind: 'text' | 'thinking'): string {
    if (this.open?.kind === kind) return '';
    const events = this.closeBlock();
    const index = this.index++;
    this.open = { kind, index };
    const block =
      kind === 'text'
        ? { type: 'text', text: '', citations: null }
        : { type: 'thinking', thinking: '', signature: '' };
    return events + this.event('content_block_start', { index, content_block: block });
  }

  private closeBlock(): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    return this.event('content_block_stop', { index: open.index });
  }

  private delta(delta: Record<string, unknown>): string {
    return this.event('content_block_delta', { index: this.open!.index, delta });
  }

  private event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  }
}
