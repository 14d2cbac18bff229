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
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { SaasParams } from '../shared/saas-params.js';
import { domainForUrl, SPARK_DOMAINS } from './signed-url.js';
import { SparkChatModel } from './sparkdesk-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/sparkdesk';
const KNOWN_PARAMS = [
  'saas.appid',
  'saas.api_key',
  'saas.api_secret',
  'saas.gpt_url',
  'saas.domain',
  'saas.timeout',
  'saas.deadline',
  'saas.max_retries',
  'saas.debug',
];

export async function createSparkDeskEngine(context: EngineContext): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const params = new SaasParams(context.spec.inferParams, PROVIDER);
  params.warnUnknown(KNOWN_PARAMS, context.warn);
  const appId = params.required('saas.appid');
  const apiKey = params.required('saas.api_key');
  const apiSecret = params.required('saas.api_secret');
  const urlKey = params.optional('saas.gpt_url') || !params.optional('gpt_url') ? 'saas.gpt_url' : 'gpt_url';
  const gptUrl = params.url(urlKey, 'wss://spark-api.xf-yun.com/v3.1/chat', [
    'ws:',
    'wss:',
    'http:',
    'https:',
  ]);
  const domain = params.optional('saas.domain') ?? domainForUrl(gptUrl);
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
    appId,
    credentials: { apiKey, apiSecret },
    timeoutMs: params.timeoutMs('saas.timeout', 30),
    maxRetries: params.wholeNumber('saas.max_retries', 2),
    deadlineMs: params.deadlineMs(),
    errorContext: { provider: PROVIDER, secrets: [apiKey, apiSecret] },
  });
  return {
    meta,
    chat,
    // Sockets are per request; stopping the worker closes those still open.
    dispose: async () => chat.closeAll(),
  };
}
