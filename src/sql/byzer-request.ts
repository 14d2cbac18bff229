/**
 * Byzer-LLM's request and response shapes as SQL values (JSON text), and their mapping to the model
 * protocol. A request is what `llm_param(map(…))` builds: `instruction`, optional `history`
 * (`[{role, content}]`), `system_msg`, and generation parameters by their Byzer names
 * (`max_length`, `temperature`, `gen.*`, …). A response is Byzer's one-element list of JSON text:
 * `{"output": text, "input": request, "metadata": {…}}`, or `{"error": {code, message}, "input": …}`
 * for a failed row.
 */
import {
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  InvalidArgumentError,
  requestFieldsFromLlmConfig,
} from '../core/index.js';
import { type CallOutcome, PENDING_MARKER } from './query-calls.js';

export interface ByzerRequest {
  instruction: string;
  history?: { role: string; content: string }[];
  system_msg?: string;
  [key: string]: unknown;
}

/** Keys that shape the messages or only mattered to Byzer's raw-prompt engines; never sent as params. */
const MESSAGE_KEYS = new Set([
  'instruction',
  'history',
  'system_msg',
  'user_role',
  'assistant_role',
  'system_role',
]);

/** Reads a request from a SQL value: JSON text of an object, or plain text (the instruction). */
export function readByzerRequest(value: unknown): ByzerRequest {
  if (typeof value === 'string') {
    const trimmed = value.trimStart();
    if (trimmed.startsWith('{')) {
      try {
        return checkRequest(JSON.parse(value));
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw error;
      }
    }
    return { instruction: value };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return checkRequest(value);
  throw new InvalidArgumentError(
    `a model request must be text or llm_param(map(…)), got ${JSON.stringify(value)}`,
  );
}

function checkRequest(value: unknown): ByzerRequest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('a model request must be a JSON object with "instruction"');
  }
  const request = value as Record<string, unknown>;
  const instruction = request.instruction ?? request.query ?? request.content;
  if (typeof instruction !== 'string') {
    throw new InvalidArgumentError(
      `a model request needs "instruction" as text, got keys ${Object.keys(request).join(', ') || '(none)'}`,
    );
  }
  if (request.history !== undefined && !isHistory(request.history)) {
    throw new InvalidArgumentError('"history" must be a list of {"role", "content"} objects');
  }
  return { ...request, instruction } as ByzerRequest;
}

function isHistory(value: unknown): value is { role: string; content: string }[] {
  return (
    Array.isArray(value) &&
    value.every(
      (item) =>
        item !== null &&
        typeof item === 'object' &&
        typeof item.role === 'string' &&
        typeof item.content === 'string',
    )
  );
}

/** The protocol request for a Byzer request. */
export function chatRequestOf(request: ByzerRequest): ChatRequest {
  const messages: ChatMessage[] = [];
  if (typeof request.system_msg === 'string' && request.system_msg !== '') {
    messages.push({ role: 'system', content: request.system_msg });
  }
  for (const turn of request.history ?? []) {
    const role = turn.role === 'assistant' ? 'assistant' : turn.role === 'system' ? 'system' : 'user';
    messages.push({ role, content: turn.content } as ChatMessage);
  }
  messages.push({ role: 'user', content: request.instruction });
  const params = Object.fromEntries(Object.entries(request).filter(([key]) => !MESSAGE_KEYS.has(key)));
  return { ...requestFieldsFromLlmConfig(params), messages };
}

/** The response JSON (one list element) of an answered or failed request. */
export function responseJson(request: ByzerRequest, outcome: CallOutcome): string {
  if (!outcome.ok) return JSON.stringify({ error: outcome.error, input: request });
  const chat = outcome.chat as ChatResult;
  return JSON.stringify({
    output: chat.text,
    input: request,
    metadata: {
      finish_reason: chat.finishReason,
      input_tokens: chat.usage.inputTokens,
      output_tokens: chat.usage.outputTokens,
      request_id: chat.requestId,
    },
  });
}

interface ParsedResponse {
  output?: string;
  input?: ByzerRequest;
  error?: { code?: string; message?: string };
}

/**
 * Reads a response value: Byzer's list of JSON text (the first element counts), one JSON text, or
 * the pending marker. Undefined when it is none of these.
 */
export function readResponse(value: unknown): ParsedResponse | 'pending' | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return undefined;
  if (first.includes(PENDING_MARKER)) return 'pending';
  try {
    const parsed: unknown = JSON.parse(first);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as ParsedResponse;
  } catch {
    // Not a response: plain text.
  }
  return undefined;
}

/** `llm_stack(previous, next)`: `next` with the previous exchange appended to its history. */
export function stackRequest(previous: ParsedResponse, next: ByzerRequest): ByzerRequest | undefined {
  if (previous.error || typeof previous.output !== 'string' || !previous.input) return undefined;
  const history = [
    ...(previous.input.history ?? []),
    { role: 'user', content: previous.input.instruction },
    { role: 'assistant', content: previous.output },
    ...(next.history ?? []),
  ];
  const carried =
    typeof previous.input.system_msg === 'string' ? { system_msg: previous.input.system_msg } : {};
  return { ...carried, ...next, history };
}

/** `llm_prompt('… {0} … {1}', array(a, b))`: positional placeholders; `{{`/`}}` are literal braces. */
export function formatPrompt(template: string, values: unknown[]): string {
  return template.replace(/\{\{|\}\}|\{(\d+)\}/g, (whole, index: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const value = values[Number(index)];
    if (value === undefined) {
      throw new InvalidArgumentError(
        `llm_prompt: the template uses {${index}} but only ${values.length} value(s) were given`,
      );
    }
    return value === null ? '' : String(value);
  });
}
