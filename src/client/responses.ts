/**
 * Result types of the client, with Byzer-LLM's names: `output`, `meta` (snake_case keys as in
 * Byzer-LLM's metadata), `values` for function calling, `value` for structured output.
 */
import type { ChatRequest, FinishReason, ToolCall, Warning } from '../core/index.js';

export interface ResponseMeta {
  request_id: string;
  input_tokens_count: number;
  generated_tokens_count: number;
  /** Seconds from sending the request to the end of the answer. */
  time_cost: number;
  /** Seconds to the first token (streams); 0 for non-stream calls, as Byzer-LLM's SaaS backends. */
  first_token_time: number;
  /** Generated tokens per second. */
  speed: number;
  finish_reason: FinishReason | '';
  reasoning_content: string;
  /** Why tools, structured output or `impl` produced no value. */
  reason?: string;
  /** Names of the tools that were called. */
  selected_functions?: string[];
  warnings?: Warning[];
}

export interface ChatResponse<Value = unknown> {
  output: string;
  meta: ResponseMeta;
  /** The request that was sent (what Byzer-LLM called `input`). */
  input: ChatRequest;
  toolCalls: ToolCall[];
  /** With `tools` + `executeTool`: each called tool's result, in call order. */
  values?: unknown[];
  /** With `responseClass`: the parsed, validated value (undefined with `meta.reason` on failure). */
  value?: Value;
}

export function emptyMeta(): ResponseMeta {
  return {
    request_id: '',
    input_tokens_count: 0,
    generated_tokens_count: 0,
    time_cost: 0,
    first_token_time: 0,
    speed: 0,
    finish_reason: '',
    reasoning_content: '',
  };
}
