/**
 * The seeds' `llm_config` → a protocol `ChatRequest`.
 *
 * Portable keys become request fields: `max_length`/`max_tokens` → `maxTokens`, `temperature`,
 * `top_p` → `topP`, `top_k` → `topK`, `seed`, and `gen.`/`generation.` prefixed keys with a
 * portable meaning (`gen.stop` → `stop`, `gen.max_tokens`, `gen.temperature`, …). Every other key is
 * passed through in `extra` (with the prefix removed), where engines take what they understand and
 * warn about the rest. `gen.response_prefix` is consumed by the client (chat prefix completion).
 * The caller's object is never modified.
 */
import type { ChatRequest } from '../core/index.js';
import { InvalidArgumentError } from '../core/index.js';

export type LlmConfig = Record<string, unknown>;

const PORTABLE: Record<string, keyof ChatRequest> = {
  max_length: 'maxTokens',
  max_tokens: 'maxTokens',
  max_new_tokens: 'maxTokens',
  temperature: 'temperature',
  top_p: 'topP',
  top_k: 'topK',
  seed: 'seed',
  presence_penalty: 'presencePenalty',
  frequency_penalty: 'frequencyPenalty',
  stop: 'stop',
};

/** Keys the client itself reads; they are never sent to the engine. */
const CLIENT_KEYS = new Set(['response_prefix', 'image']);

/**
 * `llm_config.image` (the seeds' Qwen-VL convention): base64 image data or a data/http URL, attached
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

/** Removes `gen.` / `generation.` from a key. */
export function bareKey(key: string): string {
  if (key.startsWith('generation.')) return key.slice('generation.'.length);
  if (key.startsWith('gen.')) return key.slice('gen.'.length);
  return key;
}

/** True when `llmConfig` asks for chat prefix completion (`gen.response_prefix: true`). */
export function wantsResponsePrefix(llmConfig: LlmConfig): boolean {
  return Object.entries(llmConfig).some(
    ([key, value]) => bareKey(key) === 'response_prefix' && (value === true || value === 'true'),
  );
}

/** The request fields and `extra` for an `llm_config` (later keys win over earlier ones). */
export function requestFieldsFromLlmConfig(llmConfig: LlmConfig): Partial<ChatRequest> {
  const fields: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(llmConfig)) {
    if (value === undefined) continue;
    const name = bareKey(key);
    if (CLIENT_KEYS.has(name)) continue;
    const field = PORTABLE[name];
    if (field === undefined) {
      extra[name] = value;
      continue;
    }
    fields[field] = field === 'stop' ? readStop(key, value) : readNumber(key, value);
  }
  if (Object.keys(extra).length > 0) fields.extra = extra;
  return fields as Partial<ChatRequest>;
}

/** `gen.stop` may be a list, one string, or (as in the seeds) a JSON string of a list. */
function readStop(key: string, value: unknown): string[] {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return [...value];
  if (typeof value === 'string') {
    if (value.trim().startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
      } catch {
        // Not JSON: a single stop string that happens to start with "[".
      }
    }
    return [value];
  }
  throw new InvalidArgumentError(
    `llm_config ${key} must be a string or a list of strings, got ${JSON.stringify(value)}`,
  );
}

function readNumber(key: string, value: unknown): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new InvalidArgumentError(`llm_config ${key} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}
