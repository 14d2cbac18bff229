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
import type { EngineInstance } from '../../core/models.js';
import { errorFromResponse } from '../shared/upstream-errors.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { ClaudeChatModel } from './claude-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';
import { isVisionModel } from '../shared/vision-models.js';

const PROVIDER = 'saas/claude';

export const CLAUDE_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.requiredText('sent as `x-api-key`'),
  'saas.model': option.text('the model', 'claude-3-haiku-20240307'),
  'saas.base_url': option.url('the API root', 'https://api.anthropic.com'),
  'saas.anthropic_version': option.text('the `anthropic-version` header', '2023-06-01'),
  'saas.max_tokens': option.wholeNumber('used when a request sets none', 4096),
});

export async function createClaudeEngine(context: EngineContext): Promise<EngineInstance> {
  const options = CLAUDE_OPTIONS.fromContext(context);
  const apiKey = options['saas.api_key'];
  const model = options['saas.model'];
  const secrets = [apiKey];
  const client = providerClient(options, {
    provider: PROVIDER,
    headers: { 'x-api-key': apiKey, 'anthropic-version': options['saas.anthropic_version'] },
    errorFromResponse: (response) => errorFromResponse(response, { provider: PROVIDER, secrets }),
  });
  const meta = saasMeta({
    model_name: model,
    support_assistant_prefix: true,
    // Claude 3 and later read image blocks; claude-2 and claude-instant do not.
    support_vision: isVisionModel(model),
  });
  return {
    meta,
    chat: new ClaudeChatModel({
      provider: PROVIDER,
      modelId: model,
      client,
      secrets,
      defaultMaxTokens: options['saas.max_tokens'],
    }),
    dispose: () => client.close(),
  };
}
