/**
 * The engine factory for `saas/qianfan` (Baidu Qianfan / ERNIE).
 *
 * Parameters (`--infer_params`):
 * - `saas.api_key` + `saas.secret_key` — exchanged for an access token (cached, refreshed), or
 * - `saas.access_token` — a token obtained elsewhere, used as is.
 * - `saas.model` — `ERNIE-Bot-turbo` by default; known names map to their endpoint
 *   (`ERNIE-Bot-turbo` → `eb-instant`, `ERNIE-Bot-4` → `completions_pro`, `Embedding-V1` →
 *   `embedding-v1`, …); `saas.endpoint` names the endpoint of any other (custom) model.
 * - `saas.base_url` (`https://aip.baidubce.com`), `saas.timeout` (600 s), `saas.max_retries` (2).
 */
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { errorFromResponse, type QianfanErrorContext } from './map-error.js';
import { QianfanChatModel, type QianfanModelConfig } from './qianfan-chat-model.js';
import { QianfanEmbeddingModel } from './qianfan-embedding-model.js';
import { type QianfanCredentials, QianfanTokenSource } from './qianfan-token.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/qianfan';

/** Credentials are `api_key` + `secret_key`, or `access_token`: each optional here, checked together. */
export const QIANFAN_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.text('with `secret_key`, exchanged for a cached, refreshed access token'),
  'saas.secret_key': option.text('see `api_key`'),
  'saas.access_token': option.text('a token to use instead of `api_key` + `secret_key`'),
  'saas.model': option.text('the chat or embedding model (`Embedding-V1`)', 'ERNIE-Bot-turbo'),
  'saas.endpoint': option.text("a custom model endpoint (else the model's own)"),
  'saas.base_url': option.url('the API root', 'https://aip.baidubce.com'),
});

/** Qianfan model names → endpoint path segments (the service's published table). */
export const QIANFAN_ENDPOINTS: Record<string, string> = {
  'ERNIE-Bot-turbo': 'eb-instant',
  'ERNIE-Bot': 'completions',
  'ERNIE-Bot-4': 'completions_pro',
  'ERNIE-4.0-8K': 'completions_pro',
  'ERNIE-4.0-Turbo-8K': 'ernie-4.0-turbo-8k',
  'ERNIE-3.5-8K': 'completions',
  'ERNIE-Speed-8K': 'ernie_speed',
  'ERNIE-Speed-128K': 'ernie-speed-128k',
  'ERNIE-Lite-8K': 'ernie-lite-8k',
  'ERNIE-Tiny-8K': 'ernie-tiny-8k',
  'Embedding-V1': 'embedding-v1',
  'bge-large-zh': 'bge_large_zh',
  'bge-large-en': 'bge_large_en',
  'tao-8k': 'tao_8k',
};

export async function createQianfanEngine(context: EngineContext): Promise<EngineInstance> {
  const options = QIANFAN_OPTIONS.fromContext(context);
  const accessToken = options['saas.access_token'];
  const apiKey = options['saas.api_key'];
  const secretKey = options['saas.secret_key'];
  let credentials: QianfanCredentials;
  if (apiKey && secretKey) credentials = { apiKey, secretKey };
  else if (accessToken) credentials = { accessToken };
  else {
    throw new InvalidArgumentError(
      'saas/qianfan needs saas.api_key and saas.secret_key (exchanged for a token), or saas.access_token',
    );
  }
  const modelId = options['saas.model'];
  const endpoint = options['saas.endpoint'] ?? QIANFAN_ENDPOINTS[modelId] ?? modelId.toLowerCase();
  const errorContext: QianfanErrorContext = {
    provider: PROVIDER,
    secrets: [apiKey, secretKey, accessToken].filter((value): value is string => Boolean(value)),
  };
  const maxRetries = options['saas.max_retries'];
  const client = providerClient(options, {
    provider: PROVIDER,
    headers: {},
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const tokens = new QianfanTokenSource(credentials, client, PROVIDER);
  const config: QianfanModelConfig = {
    provider: PROVIDER,
    modelId,
    endpoint,
    client,
    tokens,
    errorContext,
    maxRetries,
  };
  const embeddingMode = /embedding|bge|tao/i.test(modelId);
  const meta = saasMeta({
    model_name: modelId,
    embedding_mode: embeddingMode,
    tasks: embeddingMode ? ['embedding'] : ['chat'],
  });
  return {
    meta,
    ...(embeddingMode
      ? { embedding: new QianfanEmbeddingModel(config) }
      : { chat: new QianfanChatModel(config) }),
    dispose: () => client.close(),
  };
}
