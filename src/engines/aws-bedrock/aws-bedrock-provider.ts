/**
 * The engine factory for `saas/aws_bedrock`: the Bedrock runtime through
 * `@aws-sdk/client-bedrock-runtime` (SigV4 signing, event-stream decoding).
 *
 * Parameters: `saas.aws_access_key`*, `saas.aws_secret_key`*, `saas.region_name`*, `saas.model`*
 * (a Bedrock model id or inference profile: `anthropic.claude-3-5-sonnet-20240620-v1:0`,
 * `us.anthropic.…`, `meta.llama3-70b-instruct-v1:0`), `saas.aws_session_token` (temporary
 * credentials), `saas.model_api_version` (Anthropic's `anthropic_version`, default
 * `bedrock-2023-05-31`), `saas.max_tokens` (default when a request sets none; 4096),
 * `saas.base_url` (endpoint override: VPC endpoints, tests), plus `saas.timeout`, `saas.max_retries`,
 * `saas.proxies` (CONNECT tunnels through `https-proxy-agent`, the SDK's handler takes Node agents).
 *
 * HTTP: the SDK defaults to an HTTP/2 handler for this client; this engine sets the HTTP/1.1
 * `NodeHttpHandler` with keep-alive agents instead — both InvokeModel operations are plain
 * request/response over HTTP/1.1, and it keeps `saas.timeout` an idle timeout like elsewhere.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { defineProviderOptions, option, transportOf } from '../shared/provider-options.js';
import { AwsBedrockChatModel, type BedrockFamily } from './aws-bedrock-chat-model.js';
import { saasMeta } from '../shared/saas-meta.js';
import { isVisionModel } from '../shared/vision-models.js';

const PROVIDER = 'saas/aws_bedrock';

export const AWS_BEDROCK_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.aws_access_key': option.requiredText('the access key id'),
  'saas.aws_secret_key': option.requiredText('the secret access key'),
  'saas.aws_session_token': option.text('a session token for temporary credentials'),
  'saas.region_name': option.requiredText('the AWS region'),
  'saas.model': option.requiredText(
    'an `anthropic.*` or `meta.llama*` model id (cross-region profiles such as `us.anthropic.…` included)',
  ),
  'saas.model_api_version': option.text("Anthropic models' `anthropic_version`", 'bedrock-2023-05-31'),
  'saas.max_tokens': option.wholeNumber(
    "used when a request sets none; Llama's `max_gen_len` is clamped to 2048, with a warning",
    4096,
  ),
  'saas.base_url': option.optionalUrl('an endpoint override'),
});

export async function createAwsBedrockEngine(context: EngineContext): Promise<EngineInstance> {
  const options = AWS_BEDROCK_OPTIONS.fromContext(context);
  const { 'saas.region_name': region, 'saas.model': model, 'saas.aws_session_token': sessionToken } = options;
  const secretAccessKey = options['saas.aws_secret_key'];
  const credentials = { accessKeyId: options['saas.aws_access_key'], secretAccessKey };
  const family = familyOf(model);
  const endpoint = options['saas.base_url'];
  const transport = transportOf(options);
  // One tunnelling agent serves http:// and https:// endpoints alike.
  const proxyAgent = transport.proxyUrl
    ? new HttpsProxyAgent(transport.proxyUrl, { keepAlive: true })
    : undefined;
  const client = new BedrockRuntimeClient({
    region,
    credentials: { ...credentials, ...(sessionToken ? { sessionToken } : {}) },
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: transport.timeoutMs,
      // Socket inactivity, like `saas.timeout` everywhere: a long stream that keeps sending is not cut
      // (the SDK's `requestTimeout` would bound the whole call, and only warns by default).
      socketTimeout: transport.timeoutMs,
      httpAgent: proxyAgent ?? new HttpAgent({ keepAlive: true }),
      httpsAgent: proxyAgent ?? new HttpsAgent({ keepAlive: true }),
    }),
  });
  const secrets = [secretAccessKey, ...(sessionToken ? [sessionToken] : [])];
  const meta = saasMeta({
    model_name: model,
    support_assistant_prefix: true,
    // Only the Anthropic family's body carries images (Claude 3 and later read them).
    support_vision: family === 'anthropic' && isVisionModel(model),
  });
  return {
    meta,
    chat: new AwsBedrockChatModel({
      provider: PROVIDER,
      modelId: model,
      family,
      client,
      anthropicVersion: options['saas.model_api_version'],
      defaultMaxTokens: options['saas.max_tokens'],
      maxRetries: transport.maxRetries,
      deadlineMs: transport.deadlineMs,
      errorContext: {
        provider: PROVIDER,
        baseUrl: endpoint ?? `https://bedrock-runtime.${region}.amazonaws.com`,
        timeoutMs: transport.timeoutMs,
        secrets,
      },
    }),
    dispose: async () => client.destroy(),
  };
}

/** The model family from the id; cross-region profiles (`us.`, `eu.`, …) and ARNs included. */
function familyOf(model: string): BedrockFamily {
  const id = model.split('/').at(-1) ?? model;
  if (/(^|\.)anthropic\./.test(id)) return 'anthropic';
  if (/(^|\.)meta\.llama/.test(id)) return 'llama';
  throw new InvalidArgumentError(
    `saas.model "${model}" is not a Bedrock model family saas/aws_bedrock speaks; supported: anthropic.* (Claude), meta.llama* (Llama)`,
  );
}
