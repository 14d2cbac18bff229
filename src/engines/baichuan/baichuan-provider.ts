/**
 * The engine factory for `saas/baichuan`: Baichuan's REST API (`https://api.baichuan-ai.com/v1`)
 * is OpenAI-shaped — `POST /chat/completions` (JSON and SSE, `Authorization: Bearer <key>`) and
 * `POST /embeddings` with model `Baichuan-Text-Embedding` — so this is the OpenAI-compatible engine
 * with Baichuan's defaults. Baichuan-only fields (`with_search_enhance`, `top_k`) travel in the
 * request's `extra`. Parameters: those of the OpenAI-compatible engine; `saas.model` defaults to
 * `Baichuan2-Turbo`. Byzer-LLM's `saas.baichuan_api_url` (the chat URL, e.g.
 * `https://api.baichuan-ai.com/v1/chat/completions`) is honoured when `saas.base_url` is not given:
 * its base is the URL without the trailing `/chat/completions` (or `/chat`).
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { createOpenAICompatibleEngine } from '../shared/openai-compatible/openai-compatible-provider.js';
import { option, readHttpUrl } from '../shared/provider-options.js';

export const BAICHUAN_EXTRA_OPTIONS = {
  'saas.baichuan_api_url': option.optionalUrl(
    "Byzer-LLM's chat URL, used when `base_url` is not given (its base is the URL without `/chat/completions` or `/chat`)",
  ),
} as const;

export const BAICHUAN_DEFAULTS = {
  provider: 'saas/baichuan',
  defaultBaseUrl: 'https://api.baichuan-ai.com/v1',
  defaultModel: 'Baichuan2-Turbo',
  extraOptions: BAICHUAN_EXTRA_OPTIONS,
} as const;

export function createBaichuanEngine(context: EngineContext): Promise<EngineInstance> {
  const apiUrl = context.spec.inferParams['saas.baichuan_api_url']?.trim();
  const useApiUrl = apiUrl && !context.spec.inferParams['saas.base_url']?.trim();
  return createOpenAICompatibleEngine(context, {
    ...BAICHUAN_DEFAULTS,
    ...(useApiUrl
      ? {
          endpoint: (_inferParams, apiKey) => ({
            baseUrl: readHttpUrl('saas.baichuan_api_url', apiUrl).replace(/\/chat(\/completions)?$/, ''),
            headers: { authorization: `Bearer ${apiKey}` },
          }),
        }
      : {}),
  });
}
