/**
 * The engine factory for `saas/claude`: Anthropic's Messages API over the shared HTTP client
 * (keep-alive pool, retries with backoff honouring `retry-after`, SSE, proxies).
 *
 * Parameters: `saas.api_key`* (sent as `x-api-key`), `saas.model` (claude-3-haiku-20240307),
 * `saas.base_url` (https://api.anthropic.com; without `/v1`, as the Anthropic SDK takes it),
 * `saas.anthropic_version` (2023-06-01), `saas.max_tokens` (default `max_tokens` when a request
 * sets none; 4096), plus the shared `saas.timeout`, `saas.max_retries`, `saas.proxies`.
 * Errors: the API's `{type:"error", error:{type, message}}` bodies; 429 is `upstream_rate_limit`,
 * 529 `overloaded_error` is `upstream_overloaded`.
 */
import type { EngineContext } from '../../core/deployment.js';
import { throwIfAborted } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { errorFromResponse } from '../shared/upstream-errors.js';
import { HttpClient } from '../shared/http-client.js';
import {
  COMMON_SAAS_PARAMS,
  readHttpUrl,
  readNumberParam,
  readTransportParams,
  requireParam,
  warnUnknownParams,
} from '../shared/saas-params.js';
import { ClaudeChatModel } from './claude-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/claude';
const KNOWN_PARAMS = [
  'saas.api_key',
  'saas.model',
  'saas.base_url',
  'saas.anthropic_version',
  'saas.max_tokens',
  ...COMMON_SAAS_PARAMS,
];

export async function createClaudeEngine(context: EngineContext): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const inferParams = context.spec.inferParams;
  warnUnknownParams(inferParams, KNOWN_PARAMS, PROVIDER, context.warn);
  const apiKey = requireParam(inferParams, 'saas.api_key', PROVIDER);
  const model = inferParams['saas.model']?.trim() || 'claude-3-haiku-20240307';
  const baseUrl = readHttpUrl('saas.base_url', inferParams['saas.base_url'] ?? 'https://api.anthropic.com');
  const transport = readTransportParams(inferParams);
  const secrets = [apiKey];
  const client = new HttpClient({
    provider: PROVIDER,
    baseUrl,
    headers: {
      'x-api-key': apiKey,
      'anthropic-version': inferParams['saas.anthropic_version']?.trim() || '2023-06-01',
    },
    timeoutMs: transport.timeoutMs,
    maxRetries: transport.maxRetries,
    deadlineMs: transport.deadlineMs,
    errorFromResponse: (response) => errorFromResponse(response, { provider: PROVIDER, secrets }),
    ...(transport.proxyUrl ? { proxyUrl: transport.proxyUrl } : {}),
  });
  const meta = saasMeta({
    model_name: model,
    support_assistant_prefix: true,
  });
  return {
    meta,
    chat: new ClaudeChatModel({
      provider: PROVIDER,
      modelId: model,
      client,
      secrets,
      defaultMaxTokens: readNumberParam('saas.max_tokens', inferParams['saas.max_tokens'], 4096, {
        integer: true,
      }),
    }),
    dispose: () => client.close(),
  };
}
