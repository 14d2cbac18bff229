/**
 * `ChatResult` → `chat.completion` and `StreamPart` → `chat.completion.chunk` (the one mapping of
 * stream parts to OpenAI SSE chunks, shared by chat and, through `completionChunk`, completions).
 */
import type { ChatResult, FinishReason, ToolCall, Usage } from '../core/index.js';
import type { Exchange } from './exchange.js';
import { setWarningsHeader } from './http.js';

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export function openAIFinishReason(reason: FinishReason): OpenAIFinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export function openAIUsage(usage: Usage): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
} {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

function openAIToolCall(call: ToolCall) {
  return { id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } };
}

/** `results` has one entry per choice (`n`). */
export function chatCompletion(id: string, model: string, created: number, results: ChatResult[]) {
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  for (const result of results) {
    // The prompt is the same for every choice: count it once.
    usage.inputTokens = Math.max(usage.inputTokens, result.usage.inputTokens);
    usage.outputTokens += result.usage.outputTokens;
  }
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: results.map((result, index) => {
      const message: Record<string, unknown> = {
        role: 'assistant',
        content: result.toolCalls.length > 0 && result.text === '' ? null : result.text,
        // OpenAI always sends it; clients and schema validators read it (a model refusal is never
        // reported separately by our engines).
        refusal: null,
      };
      if (result.reasoning) message.reasoning_content = result.reasoning;
      if (result.toolCalls.length > 0) message.tool_calls = result.toolCalls.map(openAIToolCall);
      return { index, message, logprobs: null, finish_reason: openAIFinishReason(result.finishReason) };
    }),
    usage: openAIUsage(usage),
  };
}

/**
 * The non-stream answer of a chat call (direct or routed): its `chat.completion`, with the exchange's
 * token counts and the engines' warnings header set. Returned, not sent, so a caller can set its own
 * headers (the route's) before sending it.
 */
export function exchangeCompletion(
  exchange: Exchange,
  id: string,
  model: string,
  created: number,
  results: ChatResult[],
) {
  const completion = chatCompletion(id, model, created, results);
  exchange.inputTokens = completion.usage.prompt_tokens;
  exchange.outputTokens = completion.usage.completion_tokens;
  for (const result of results) exchange.addBusySeconds(result.usage);
  if (exchange.busySeconds !== undefined) {
    exchange.response.setHeader('x-byzerllm-busy-seconds', String(exchange.busySeconds));
  }
  setWarningsHeader(
    exchange.response,
    results.flatMap((result) => result.warnings),
  );
  return completion;
}

/**
 * Writes OpenAI SSE chunks for one streamed choice. `toolCallIndex` counts tool calls so each gets
 * its own `index`, as OpenAI clients assemble them by it.
 */
export class ChatChunkWriter {
  private toolCallIndex = 0;
  private readonly prefix: string;
  /** `prefix` + `"choices":[{"index":N,`: which choice (of `n`) this writer's chunks belong to. */
  private readonly choicePrefix: string;

  constructor(id: string, model: string, created: number, choiceIndex = 0) {
    this.prefix = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},`;
    // One flat string (`join`, not a concatenation V8 keeps as a rope), so a chunk costs what it
    // cost with the index written in.
    this.choicePrefix = [this.prefix, `"choices":[{"index":${choiceIndex},`].join('');
  }

  /** The first chunk: the role, as OpenAI sends it. */
  role(): string {
    return this.delta({ role: 'assistant', content: '' });
  }

  // Text and reasoning deltas are most of a stream's chunks: framed without an object per chunk.
  text(delta: string): string {
    return this.framed(`{"content":${JSON.stringify(delta)}}`);
  }

  reasoning(delta: string): string {
    return this.framed(`{"reasoning_content":${JSON.stringify(delta)}}`);
  }

  toolCall(call: ToolCall): string {
    const index = this.toolCallIndex++;
    return this.delta({ tool_calls: [{ index, ...openAIToolCall(call) }] });
  }

  finish(reason: FinishReason): string {
    return `${this.choicePrefix}"delta":{},"logprobs":null,"finish_reason":"${openAIFinishReason(reason)}"}]}\n\n`;
  }

  /** `stream_options.include_usage`: a last chunk with no choices and the usage. */
  usage(usage: Usage): string {
    return `${this.prefix}"choices":[],"usage":${JSON.stringify(openAIUsage(usage))}}\n\n`;
  }

  private delta(delta: Record<string, unknown>): string {
    return this.framed(JSON.stringify(delta));
  }

  private framed(deltaJson: string): string {
    return `${this.choicePrefix}"delta":${deltaJson},"logprobs":null,"finish_reason":null}]}\n\n`;
  }
}

export const SSE_DONE = 'data: [DONE]\n\n';
