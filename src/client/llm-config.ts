/**
 * Byzer-LLM's `llm_config` in the client: the key mapping lives in core (`generation-params.ts`, shared
 * with deployment defaults); this module adds what only the client reads (`gen.response_prefix`,
 * `llm_config.image`). The caller's object is never modified.
 */
import { bareKey, type GenerationParams, InvalidArgumentError } from '../core/index.js';

export { bareKey, requestFieldsFromLlmConfig } from '../core/index.js';

export type LlmConfig = GenerationParams;

/**
 * `llm_config.image` (Byzer-LLM's Qwen-VL convention): base64 image data or a data/http URL, attached
 * to the last user message as an image part.
 */
export function imageFromLlmConfig(llmConfig: LlmConfig): string | undefined {
  const value = Object.entries(llmConfig).find(([key]) => bareKey(key) === 'image')?.[1];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError('llm_config image must be base64 image data or a data:/http(s) URL');
  }
  return /^(data:|https?:\/\/)/.test(value) ? value : `data:image/jpeg;base64,${value}`;
}

/** True when `llmConfig` asks for chat prefix completion (`gen.response_prefix: true`). */
export function wantsResponsePrefix(llmConfig: LlmConfig): boolean {
  return Object.entries(llmConfig).some(
    ([key, value]) => bareKey(key) === 'response_prefix' && (value === true || value === 'true'),
  );
}
