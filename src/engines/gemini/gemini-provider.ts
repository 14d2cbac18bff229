/**
 * The engine factory for `saas/gemini`: the Gemini API (Google AI Studio keys) over the shared HTTP
 * client (keep-alive pool, retries honouring `Retry-After`, SSE, proxies).
 *
 * Parameters: `saas.api_key`* (sent as `x-goog-api-key`, never in the URL, so it cannot leak into
 * logs of URLs), `saas.model` (gemini-2.0-flash; Byzer-LLM's `gemini-pro` is retired upstream),
 * `saas.base_url` (https://generativelanguage.googleapis.com), `saas.api_version` (v1beta), plus the
 * shared `saas.timeout`, `saas.max_retries`, `saas.proxies`. Errors are Google's
 * `{error:{code, message, status}}`: 429 `RESOURCE_EXHAUSTED` is `upstream_rate_limit`, 503
 * `UNAVAILABLE` ("the model is overloaded") is `upstream_overloaded`.
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { geminiErrorFromResponse } from './map-error.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { GeminiChatModel, type GeminiModelConfig } from './gemini-chat-model.js';
import { GeminiEmbeddingModel } from './gemini-embedding-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/gemini';

export const GEMINI_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.requiredText('sent as `x-goog-api-key`, never in the URL'),
  'saas.model': option.text('the chat or embedding model (`models/` prefix optional)', 'gemini-2.0-flash'),
  'saas.base_url': option.url('the API root', 'https://generativelanguage.googleapis.com'),
  'saas.api_version': option.text('the API version in paths', 'v1beta'),
});

export async function createGeminiEngine(context: EngineContext): Promise<EngineInstance> {
  const options = GEMINI_OPTIONS.fromContext(context);
  const apiKey = options['saas.api_key'];
  const model = options['saas.model'].replace(/^models\//, '');
  const apiVersion = options['saas.api_version'];
  const secrets = [apiKey];
  const client = providerClient(options, {
    provider: PROVIDER,
    headers: { 'x-goog-api-key': apiKey },
    errorFromResponse: (response) => geminiErrorFromResponse(response, { provider: PROVIDER, secrets }),
  });
  const config: GeminiModelConfig = {
    provider: PROVIDER,
    modelId: model,
    modelPath: `/${encodeURIComponent(apiVersion)}/models/${encodeURIComponent(model)}`,
    client,
    secrets,
  };
  const embeddingMode = model.toLowerCase().includes('embedding');
  const meta = saasMeta({
    model_name: model,
    embedding_mode: embeddingMode,
    tasks: ['chat', 'embedding'],
    // Every Gemini chat model reads images (inline data parts).
    support_vision: !embeddingMode,
  });
  return {
    meta,
    chat: new GeminiChatModel(config),
    embedding: new GeminiEmbeddingModel(config),
    dispose: () => client.close(),
  };
}
