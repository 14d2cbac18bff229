/**
 * Result types of the client, with Byzer-LLM's names: `output`, `metadata` (snake_case keys as in
 * Byzer-LLM; `meta` is the same object), `values` for function calling, `value` for structured
 * output, and `response` (Byzer-LLM's `LLMFunctionCallResponse.response` /
 * `LLMClassResponse.response`: the plain answer, here the same object).
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
  /** Streamed speech: this item's audio bytes (delta mode) or all so far. */
  audio?: Uint8Array;
  audio_media_type?: string;
}

export interface ChatResponse<Value = unknown> {
  output: string;
  /** Byzer-LLM's name for the response meta. */
  metadata: ResponseMeta;
  /** The same object as `metadata`. */
  meta: ResponseMeta;
  /** Byzer-LLM's `t[0].response.output` of function-call and class responses: this response itself. */
  readonly response: ChatResponse<Value>;
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

/**
 * A response with `metadata` and `meta` as one object and `response` pointing back at it (not
 * enumerable, so JSON and spreads do not loop).
 */
export function chatResponse<Value = unknown>(fields: {
  output: string;
  meta: ResponseMeta;
  input: ChatRequest;
  toolCalls: ToolCall[];
}): ChatResponse<Value> {
  const response = { ...fields, metadata: fields.meta } as ChatResponse<Value>;
  Object.defineProperty(response, 'response', { value: response, enumerable: false });
  return response;
}
