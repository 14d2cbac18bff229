/**
 * The engine factory for `saas/baichuan`: Baichuan's REST API (`https://api.baichuan-ai.com/v1`)
 * is OpenAI-shaped — `POST /chat/completions` (JSON and SSE, `Authorization: Bearer <key>`) and
 * `POST /embeddings` with model `Baichuan-Text-Embedding` — so this is the OpenAI-compatible engine
 * with Baichuan's defaults. Baichuan-only fields (`with_search_enhance`, `top_k`) travel in the
 * request's `extra`. Parameters: those of the OpenAI-compatible engine; `saas.model` defaults to
 * `Baichuan2-Turbo`.
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { createOpenAICompatibleEngine } from '../shared/openai-compatible/openai-compatible-provider.js';

export function createBaichuanEngine(context: EngineContext): Promise<EngineInstance> {
  return createOpenAICompatibleEngine(context, {
    provider: 'saas/baichuan',
    defaultBaseUrl: 'https://api.baichuan-ai.com/v1',
    defaultModel: 'Baichuan2-Turbo',
  });
}
