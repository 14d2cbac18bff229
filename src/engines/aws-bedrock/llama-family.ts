/**
 * Bedrock's Meta Llama request/response bodies (`meta.llama*` model ids): one `prompt` string in
 * the model's chat format (Llama 3+ header tokens; `[INST]`/`<<SYS>>` for Llama 2), `max_gen_len`,
 * `temperature`, `top_p`; answers `{generation, prompt_token_count, generation_token_count,
 * stop_reason}` — streamed as chunks of the same shape with partial `generation`.
 */
import type { ChatMessage, ChatRequest, FinishReason, Warning } from '../../core/chat-model.js';
import { z } from 'zod';

export const llamaResponseSchema = z.looseObject({
  generation: z.string().nullish(),
  prompt_token_count: z.number().nullish(),
  generation_token_count: z.number().nullish(),
  stop_reason: z.string().nullish(),
  'amazon-bedrock-invocationMetrics': z
    .looseObject({ inputTokenCount: z.number().nullish(), outputTokenCount: z.number().nullish() })
    .nullish(),
});

/** Bedrock rejects a Llama `max_gen_len` above 2048 (ValidationException), whatever the model's context. */
export const LLAMA_MAX_GEN_LEN = 2048;

export function buildLlamaBody(
  modelId: string,
  request: ChatRequest,
  defaultMaxTokens: number,
): { body: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const body: Record<string, unknown> = {
    prompt: /llama-?2/i.test(modelId) ? llama2Prompt(request.messages) : llama3Prompt(request.messages),
    // The provider default (4096, for Claude) and larger requests are clamped: Byzer-LLM's default
    // deploy of a Llama model must answer, not fail every call with a validation error.
    max_gen_len: Math.min(request.maxTokens ?? defaultMaxTokens, LLAMA_MAX_GEN_LEN),
  };
  if (request.maxTokens !== undefined && request.maxTokens > LLAMA_MAX_GEN_LEN) {
    warnings.push({
      type: 'unsupported-setting',
      setting: 'maxTokens',
      message: `Bedrock's Meta Llama models generate at most ${LLAMA_MAX_GEN_LEN} tokens; maxTokens ${request.maxTokens} was lowered to ${LLAMA_MAX_GEN_LEN}`,
    });
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  const unsupported: [string, unknown][] = [
    ['topK', request.topK],
    ['stop', request.stop?.length ? request.stop : undefined],
    ['seed', request.seed],
    ['presencePenalty', request.presencePenalty],
    ['frequencyPenalty', request.frequencyPenalty],
    ['tools', request.tools?.length ? request.tools : undefined],
    ['responseFormat', request.responseFormat?.type === 'json' ? request.responseFormat : undefined],
  ];
  for (const [setting, value] of unsupported) {
    if (value === undefined) continue;
    warnings.push({
      type: 'unsupported-setting',
      setting,
      message: `Bedrock's Meta Llama models take no ${setting}; it was not sent`,
    });
  }
  for (const [key, value] of Object.entries(request.extra ?? {})) if (value !== undefined) body[key] = value;
  return { body, warnings };
}

export function mapLlamaStopReason(reason: string | null | undefined): FinishReason {
  if (reason === 'stop') return 'stop';
  if (reason === 'length') return 'length';
  return reason ? 'other' : 'unknown';
}

function textOf(message: ChatMessage): string {
  if (message.role === 'user' && typeof message.content !== 'string') {
    return message.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
  }
  return message.content as string;
}

/** Llama 3 chat format; ends with the assistant header (or an unfinished assistant prefix). */
function llama3Prompt(messages: ChatMessage[]): string {
  let prompt = '<|begin_of_text|>';
  messages.forEach((message, index) => {
    const role = message.role === 'tool' ? 'ipython' : message.role;
    const isPrefix = message.role === 'assistant' && index === messages.length - 1;
    prompt += `<|start_header_id|>${role}<|end_header_id|>\n\n${textOf(message)}`;
    if (!isPrefix) prompt += '<|eot_id|>';
  });
  if (messages.at(-1)?.role !== 'assistant') prompt += '<|start_header_id|>assistant<|end_header_id|>\n\n';
  return prompt;
}

/** Llama 2 chat format: `<s>[INST] <<SYS>>…<</SYS>> user [/INST] answer </s>`. */
function llama2Prompt(messages: ChatMessage[]): string {
  const system = messages
    .filter((message) => message.role === 'system')
    .map(textOf)
    .join('\n');
  let prompt = '';
  let pendingSystem = system ? `<<SYS>>\n${system}\n<</SYS>>\n\n` : '';
  for (const message of messages) {
    if (message.role === 'system') continue;
    if (message.role === 'assistant') prompt += ` ${textOf(message)} </s>`;
    else {
      prompt += `<s>[INST] ${pendingSystem}${textOf(message)} [/INST]`;
      pendingSystem = '';
    }
  }
  return prompt.endsWith('</s>') ? prompt.slice(0, -' </s>'.length) : prompt;
}
