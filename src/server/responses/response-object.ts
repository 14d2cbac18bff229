/**
 * The Responses API `response` object and its output items, built from what a chat call produced.
 *
 * Output order follows OpenAI: a `reasoning` item (when the engine exposed reasoning), the assistant
 * `message` with one `output_text` part (when there is text), then one `function_call` item per tool
 * call. Fields a client reads without checking (`error`, `incomplete_details`, `usage` details,
 * `text.format`, `tools`) are always present, as OpenAI always sends them.
 */
import { randomBytes } from 'node:crypto';
import type { ChatMessage, FinishReason, ToolCall, Usage } from '../../core/index.js';
import type { ResponsesBody } from './request.js';

/** `resp_` + 32 hex digits (OpenAI's response ids have the same prefix). */
export function newResponseId(): string {
  return `resp_${randomBytes(16).toString('hex')}`;
}

/**
 * An output item's id: `msg_`, `fc_` or `rs_` (OpenAI's prefixes), the response's hex digits and the
 * item's output index. Clients send it back as an `item_reference` (the AI SDK does whenever
 * `store` is on); the id alone says which stored response holds the item.
 */
export function itemId(prefix: 'msg' | 'fc' | 'rs', responseId: string, outputIndex: number): string {
  return `${prefix}_${responseId.slice(5)}_${outputIndex}`;
}

/** The response id an item id names, or undefined for an id not made by `itemId`. */
export function parseItemId(id: string): string | undefined {
  const match = /^(?:msg|fc|rs)_([0-9a-f]{32})_\d{1,4}$/.exec(id);
  return match ? `resp_${match[1]}` : undefined;
}

export type OutputItem = Record<string, unknown> & { type: string; id: string };

export function messageItem(id: string, text: string, status: 'in_progress' | 'completed'): OutputItem {
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: status === 'in_progress' ? [] : [outputTextPart(text)],
  };
}

export function outputTextPart(text: string) {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(
  id: string,
  call: ToolCall,
  status: 'in_progress' | 'completed',
): OutputItem {
  return {
    type: 'function_call',
    id,
    call_id: call.id,
    name: call.name,
    arguments: status === 'in_progress' ? '' : call.arguments,
    status,
  };
}

export function reasoningItem(id: string, text: string | undefined): OutputItem {
  return { type: 'reasoning', id, summary: text === undefined ? [] : [{ type: 'summary_text', text }] };
}

/** The output items of a finished answer. */
export function outputItems(
  responseId: string,
  result: { text: string; reasoning?: string; toolCalls: ToolCall[] },
): OutputItem[] {
  const items: OutputItem[] = [];
  if (result.reasoning) items.push(reasoningItem(itemId('rs', responseId, items.length), result.reasoning));
  if (result.text !== '' || result.toolCalls.length === 0) {
    items.push(messageItem(itemId('msg', responseId, items.length), result.text, 'completed'));
  }
  for (const call of result.toolCalls) {
    items.push(functionCallItem(itemId('fc', responseId, items.length), call, 'completed'));
  }
  return items;
}

/** The assistant turn the output adds to the stored conversation. */
export function assistantMessage(result: { text: string; toolCalls: ToolCall[] }): ChatMessage {
  return {
    role: 'assistant',
    content: result.text,
    ...(result.toolCalls.length > 0 ? { toolCalls: result.toolCalls } : {}),
  };
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** What every state of one response shares: its id, its time and the echoed request settings. */
export interface ResponseFrame {
  id: string;
  createdAt: number;
  model: string;
  body: ResponsesBody;
}

export interface ResponseOutcome {
  status: ResponseStatus;
  output: OutputItem[];
  usage?: Usage;
  finishReason?: FinishReason;
  error?: { code: string; message: string };
}

export type ResponseObject = Record<string, unknown> & { id: string };

export function responseObject(frame: ResponseFrame, outcome: ResponseOutcome): ResponseObject {
  const { body } = frame;
  return {
    id: frame.id,
    object: 'response',
    created_at: frame.createdAt,
    status: outcome.status,
    error: outcome.error ?? null,
    incomplete_details: outcome.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: frame.model,
    output: outcome.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: (body.tools ?? []).map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? true,
    })),
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: outcome.usage ? responseUsage(outcome.usage) : null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

function responseUsage(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/** A finished answer's status: cut short by the token bound is `incomplete`, as OpenAI reports it. */
export function finishedStatus(reason: FinishReason): ResponseStatus {
  return reason === 'length' ? 'incomplete' : 'completed';
}
