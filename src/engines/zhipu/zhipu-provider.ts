/**
 * The engine factory for `saas/zhipu` (GLM-4 chat, `embedding-2`/`embedding-3` embeddings) on
 * Zhipu's v4 API (`https://open.bigmodel.cn/api/paas/v4`), which is what the official `zhipuai`
 * SDK calls: OpenAI-shaped bodies and SSE, so the chat and embedding models are the
 * OpenAI-compatible ones; what differs is the auth: a short-lived JWT made from the api key
 * (`zhipu-token.ts`) in `Authorization: Bearer …`, fresh for every request that needs it.
 *
 * Parameters: `saas.api_key` (required, `<id>.<secret>`), `saas.model` (`glm-4`; a name containing
 * `embedding` makes an embedding deployment), `saas.base_url`, `saas.timeout` (600 s),
 * `saas.max_retries` (2).
 */
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance } from '../../core/models.js';
import { type ErrorMappingContext, errorFromResponse } from '../shared/upstream-errors.js';
import {
  OpenAICompatibleChatModel,
  type OpenAICompatibleModelConfig,
} from '../shared/openai-compatible/openai-compatible-chat-model.js';
import { OpenAICompatibleEmbeddingModel } from '../shared/openai-compatible/openai-compatible-embedding-model.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { ZhipuTokenSource } from './zhipu-token.js';
import { saasMeta } from '../shared/saas-meta.js';
import { isVisionModel } from '../shared/vision-models.js';

const DEFAULT_PROVIDER = 'saas/zhipu';

/** `saas/chatglm` is this engine under its own name, with the same options. */
export function zhipuOptions(provider: string = DEFAULT_PROVIDER) {
  return defineProviderOptions(provider, {
    'saas.api_key': option.requiredText("`<id>.<secret>`, sent as the SDK's HS256 JWT"),
    'saas.model': option.text('the chat or embedding model', 'glm-4'),
    'saas.base_url': option.url('the API root', 'https://open.bigmodel.cn/api/paas/v4'),
  });
}

/**
 * `provider` names the type in errors: `saas/chatglm` (Byzer-LLM's name for ChatGLM-130B, which Zhipu
 * served on this same platform) is this engine under its own name.
 */
export async function createZhipuEngine(
  context: EngineContext,
  provider: string = DEFAULT_PROVIDER,
): Promise<EngineInstance> {
  const options = zhipuOptions(provider).fromContext(context);
  const apiKey = options['saas.api_key'];
  const tokens = new ZhipuTokenSource(apiKey);
  const modelId = options['saas.model'];
  // The secret half of the key is what signs; redact the whole key and the secret alone.
  const errorContext: ErrorMappingContext = {
    provider,
    secrets: [apiKey, apiKey.split('.')[1] ?? apiKey],
  };
  const client = providerClient(options, {
    provider,
    headers: {},
    requestHeaders: async () => ({ authorization: `Bearer ${await tokens.token()}` }),
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const config: OpenAICompatibleModelConfig = { provider, modelId, client, errorContext };
  const meta = saasMeta({
    model_name: modelId,
    embedding_mode: modelId.toLowerCase().includes('embedding'),
    tasks: ['chat', 'embedding'],
    // OpenAI-shaped messages: image parts go as `image_url`, which glm-4v reads.
    support_vision: isVisionModel(modelId),
  });
  return {
    meta,
    chat: new OpenAICompatibleChatModel(config),
    embedding: new OpenAICompatibleEmbeddingModel(config),
    dispose: () => client.close(),
  };
}
