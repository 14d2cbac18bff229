/**
 * The engine factory for `saas/sparkdesk` (iFlytek Spark over WebSocket).
 *
 * Parameters: `saas.appid`, `saas.api_key`, `saas.api_secret` (all required), `saas.gpt_url`
 * (`wss://spark-api.xf-yun.com/v3.1/chat`; ws(s) or http(s)), `saas.domain` (by default the one
 * the URL's version serves: v1.1 → `general` (Spark v1.5/Lite), v2.1 → `generalv2`, v3.1 →
 * `generalv3`, v3.5 → `generalv3.5`, v4.0 → `4.0Ultra`), `saas.timeout` (30 s per frame),
 * `saas.max_retries` (2). `saas.debug` (a Python-only switch of the original) is accepted and ignored.
 * Byzer-LLM's Byzer-SQL example writes the URL as `gpt_url` (no `saas.` prefix); that key works too
 * when `saas.gpt_url` is not given.
 */
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { defineProviderOptions, option } from '../shared/provider-options.js';
import { domainForUrl, SPARK_DOMAINS } from './signed-url.js';
import { SparkChatModel } from './sparkdesk-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/sparkdesk';

/** A WebSocket per request: no `saas.proxies` and no `saas.base_url`; frames are awaited 30 s. */
export const SPARKDESK_OPTIONS = defineProviderOptions(
  PROVIDER,
  {
    'saas.appid': option.requiredText('the application id'),
    'saas.api_key': option.requiredText('signs the URL (HMAC) with `api_secret`'),
    'saas.api_secret': option.requiredText('see `api_key`'),
    'saas.gpt_url': option.url('the chat WebSocket URL', 'wss://spark-api.xf-yun.com/v3.1/chat', [
      'ws:',
      'wss:',
      'http:',
      'https:',
    ]),
    'saas.domain': option.text(
      'the model domain (default from the URL: v1.1 `general`, v2.1 `generalv2`, v3.1 `generalv3`, v3.5 `generalv3.5`)',
    ),
    'saas.timeout': option.seconds('seconds to wait for each frame', 30),
    'saas.debug': option.text('accepted for Byzer-LLM compatibility; ignored'),
  },
  { omit: ['saas.proxies'] },
);

export async function createSparkDeskEngine(context: EngineContext): Promise<EngineInstance> {
  const options = SPARKDESK_OPTIONS.fromContext(withBareGptUrl(context));
  const gptUrl = options['saas.gpt_url'];
  const domain = options['saas.domain'] ?? domainForUrl(gptUrl);
  if (!domain) {
    throw new InvalidArgumentError(
      `saas.domain is required for saas.gpt_url "${gptUrl}": its version is not one of ${Object.keys(SPARK_DOMAINS).join(', ')}`,
    );
  }
  const meta = saasMeta({
    model_name: domain,
  });
  const chat = new SparkChatModel({
    provider: PROVIDER,
    gptUrl,
    domain,
    appId: options['saas.appid'],
    credentials: { apiKey: options['saas.api_key'], apiSecret: options['saas.api_secret'] },
    timeoutMs: options['saas.timeout'],
    maxRetries: options['saas.max_retries'],
    deadlineMs: options['saas.deadline'],
    errorContext: { provider: PROVIDER, secrets: [options['saas.api_key'], options['saas.api_secret']] },
  });
  return {
    meta,
    chat,
    // Sockets are per request; stopping the worker closes those still open.
    dispose: async () => chat.closeAll(),
  };
}

/** Byzer-LLM's Byzer-SQL example names the URL `gpt_url`; it stands for `saas.gpt_url` when that is absent. */
function withBareGptUrl(context: EngineContext): EngineContext {
  const inferParams = context.spec.inferParams;
  const bareUrl = inferParams.gpt_url;
  if (inferParams['saas.gpt_url'] !== undefined || bareUrl === undefined) return context;
  return { ...context, spec: { ...context.spec, inferParams: { ...inferParams, 'saas.gpt_url': bareUrl } } };
}
