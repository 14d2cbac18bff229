/**
 * Byzer-LLM's generation parameters (`llm_config` keys, `--infer_params`-style defaults) → protocol
 * `ChatRequest` fields. Portable keys become request fields: `max_length`/`max_tokens` → `maxTokens`,
 * `temperature`, `top_p` → `topP`, `top_k` → `topK`, `seed`, penalties and `stop`, also with a
 * `gen.`/`generation.` prefix; every other key is passed through in `extra` (prefix removed), where
 * engines take what they understand and warn about the rest. Shared by the client (per request) and
 * the cluster (a deployment's generation defaults).
 */
import type { ChatRequest } from './chat-model.js';
import { InvalidArgumentError } from './errors.js';

/** Generation parameters by their seed names; values may be numbers, strings or string lists. */
export type GenerationParams = Record<string, unknown>;

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

/** Keys a client reads itself; they are never sent to the engine. */
const CLIENT_KEYS = new Set(['response_prefix', 'image']);

/** Removes `gen.` / `generation.` from a key. */
export function bareKey(key: string): string {
  if (key.startsWith('generation.')) return key.slice('generation.'.length);
  if (key.startsWith('gen.')) return key.slice('gen.'.length);
  return key;
}

/** The request fields and `extra` for an `llm_config` (later keys win over earlier ones). */
export function requestFieldsFromLlmConfig(
  llmConfig: GenerationParams,
  source = 'llm_config',
): Partial<ChatRequest> {
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
    fields[field] =
      field === 'stop' ? readStop(`${source} ${key}`, value) : readNumber(`${source} ${key}`, value);
  }
  if (Object.keys(extra).length > 0) fields.extra = extra;
  return fields as Partial<ChatRequest>;
}

/** `gen.stop` may be a list, one string, or (as in Byzer-LLM) a JSON string of a list. */
function readStop(name: string, value: unknown): string[] {
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
    `${name} must be a string or a list of strings, got ${JSON.stringify(value)}`,
  );
}

function readNumber(name: string, value: unknown): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new InvalidArgumentError(`${name} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

/**
 * Fills the fields a request leaves unset from generation defaults (a deployment's
 * `generationDefaults`); what the request sets always wins, `extra` keys included.
 */
export function withGenerationDefaults(request: ChatRequest, defaults: GenerationParams): ChatRequest {
  if (Object.keys(defaults).length === 0) return request;
  const { extra: defaultExtra, ...defaultFields } = requestFieldsFromLlmConfig(
    parseStringValues(defaults),
    'default_params',
  );
  const merged: ChatRequest = {
    ...(defaultFields as Partial<ChatRequest>),
    ...dropUndefined(request),
  } as ChatRequest;
  if (defaultExtra || request.extra) merged.extra = { ...defaultExtra, ...request.extra };
  return merged;
}

function dropUndefined(request: ChatRequest): ChatRequest {
  return Object.fromEntries(
    Object.entries(request).filter(([, value]) => value !== undefined),
  ) as unknown as ChatRequest;
}

/** Defaults written on a command line are strings: `1.1` → 1.1, `true` → true, `["a"]` → ["a"]. */
function parseStringValues(params: GenerationParams): GenerationParams {
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => {
      if (typeof value !== 'string') return [key, value];
      try {
        return [key, JSON.parse(value)];
      } catch {
        return [key, value];
      }
    }),
  );
}
