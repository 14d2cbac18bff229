/**
 * The engine factory for `saas/gemini`: the Gemini API (Google AI Studio keys) over the shared HTTP
 * client (keep-alive pool, retries honouring `Retry-After`, SSE, proxies).
 *
 * Parameters: `saas.api_key`* (sent as `x-goog-api-key`, never in the URL, so it cannot leak into
 * logs of URLs), `saas.model` (gemini-2.0-flash; the seeds' `gemini-pro` is retired upstream),
 * `saas.base_url` (https://generativelanguage.googleapis.com), `saas.api_version` (v1beta), plus the
 * shared `saas.timeout`, `saas.max_retries`, `saas.proxies`. Errors are Google's
 * `{error:{code, message, status}}`: 429 `RESOURCE_EXHAUSTED` is `upstream_rate_limit`, 503
 * `UNAVAILABLE` ("the model is overloaded") is `upstream_overloaded`.
 */
import type { EngineContext } from '../../core/deployment.js';
import { throwIfAborted } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { geminiErrorFromResponse } from './map-error.js';
import { HttpClient } from '../shared/http-client.js';
import {
  COMMON_SAAS_PARAMS,
  readHttpUrl,
  readTransportParams,
  requireParam,
  warnUnknownParams,
} from '../shared/saas-params.js';
import { GeminiChatModel, type GeminiModelConfig } from './gemini-chat-model.js';
import { GeminiEmbeddingModel } from './gemini-embedding-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/gemini';
const KNOWN_PARAMS = [
  'saas.api_key',
  'saas.model',
  'saas.base_url',
  'saas.api_version',
  ...COMMON_SAAS_PARAMS,
];

export async function createGeminiEngine(context: EngineContext): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const inferParams = context.spec.inferParams;
  warnUnknownParams(inferParams, KNOWN_PARAMS, PROVIDER, context.warn);
  const apiKey = requireParam(inferParams, 'saas.api_key', PROVIDER);
  const model = (inferParams['saas.model']?.trim() || 'gemini-2.0-flash').replace(/^models\//, '');
  const baseUrl = readHttpUrl(
    'saas.base_url',
    inferParams['saas.base_url'] ?? 'https://generativelanguage.googleapis.com',
  );
  const apiVersion = inferParams['saas.api_version']?.trim() || 'v1beta';
  const transport = readTransportParams(inferParams);
  const secrets = [apiKey];
  const client = new HttpClient({
    provider: PROVIDER,
    baseUrl,
    headers: { 'x-goog-api-key': apiKey },
    timeoutMs: transport.timeoutMs,
    maxRetries: transport.maxRetries,
    deadlineMs: transport.deadlineMs,
    errorFromResponse: (response) => geminiErrorFromResponse(response, { provider: PROVIDER, secrets }),
    ...(transport.proxyUrl ? { proxyUrl: transport.proxyUrl } : {}),
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
  });
  return {
    meta,
    chat: new GeminiChatModel(config),
    embedding: new GeminiEmbeddingModel(config),
    dispose: () => client.close(),
  };
}
