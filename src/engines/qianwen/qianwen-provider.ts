/**
 * The engine factory for Alibaba DashScope: `saas/qianwen` (Qwen text models, text embeddings) and
 * `saas/qianwen_vl` (Qwen-VL multimodal conversation), on DashScope's native API.
 *
 * Parameters (`--infer_params`):
 * - `saas.api_key` — required; sent as `Authorization: Bearer …`.
 * - `saas.model` — defaults to `qwen-turbo` (`qwen-vl-plus` for qianwen_vl). A model whose name
 *   contains `embedding` (`text-embedding-v2`) is an embedding deployment.
 * - `saas.base_url` — defaults to `https://dashscope.aliyuncs.com` (use
 *   `https://dashscope-intl.aliyuncs.com` outside China).
 * - `saas.timeout` (seconds, 600), `saas.max_retries` (2).
 * - `saas.enable_search`, `saas.incremental_output` — deployment-wide defaults of those DashScope
 *   parameters (a request's `extra` still wins).
 */
import type { EngineContext } from '../../core/deployment.js';
import { throwIfAborted } from '../../core/errors.js';
import type { EngineInstance } from '../../core/models.js';
import { errorFromResponse, type ErrorMappingContext } from '../shared/upstream-errors.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import type { ChatModelV1, ChatRequest } from '../../core/chat-model.js';
import { QianwenChatModel, type QianwenModelConfig } from './qianwen-chat-model.js';
import { QianwenEmbeddingModel } from './qianwen-embedding-model.js';
import { saasMeta } from '../shared/saas-meta.js';

/** `saas/qianwen` (text and embeddings) and `saas/qianwen_vl` (images) differ in their default model. */
export function qianwenOptions(multimodal: boolean) {
  return defineProviderOptions(multimodal ? 'saas/qianwen_vl' : 'saas/qianwen', {
    'saas.api_key': option.requiredText('DashScope key, sent as `Authorization: Bearer …`'),
    'saas.model': option.text(
      multimodal ? 'the vision model' : 'the chat model, or `text-embedding-v1/v2` for embeddings',
      multimodal ? 'qwen-vl-plus' : 'qwen-turbo',
    ),
    'saas.base_url': option.url('the API root', 'https://dashscope.aliyuncs.com'),
    'saas.enable_search': option.flag('DashScope web search on every request (`true`/`false`)'),
    'saas.incremental_output': option.flag(
      'stream deltas rather than the whole text so far (`true`/`false`)',
    ),
  });
}

export async function createQianwenEngine(
  context: EngineContext,
  options: { multimodal: boolean },
): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const provider = options.multimodal ? 'saas/qianwen_vl' : 'saas/qianwen';
  const params = qianwenOptions(options.multimodal).parse(context.spec.inferParams, context.warn);
  const apiKey = params['saas.api_key'];
  const modelId = params['saas.model'];
  const errorContext: ErrorMappingContext = { provider, secrets: [apiKey] };
  const client = providerClient(params, {
    provider,
    headers: { authorization: `Bearer ${apiKey}` },
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const config: QianwenModelConfig = {
    provider,
    modelId,
    client,
    errorContext,
    multimodal: options.multimodal,
  };
  const defaults: Record<string, unknown> = {};
  if (params['saas.enable_search'] !== undefined) defaults.enable_search = params['saas.enable_search'];
  if (params['saas.incremental_output'] !== undefined) {
    defaults.incremental_output = params['saas.incremental_output'];
  }
  const embeddingMode = !options.multimodal && modelId.toLowerCase().includes('embedding');
  const meta = saasMeta({
    model_name: modelId,
    support_assistant_prefix: true,
    embedding_mode: embeddingMode,
    tasks: options.multimodal ? ['chat'] : ['chat', 'embedding'],
    // The text models drop image parts (with a warning); the multimodal API reads them.
    support_vision: options.multimodal,
  });
  const chat = withDefaults(new QianwenChatModel(config), defaults);
  return {
    meta,
    chat,
    ...(options.multimodal ? {} : { embedding: new QianwenEmbeddingModel(config) }),
    dispose: () => client.close(),
  };
}

/** Deployment-wide `extra` defaults under each request's own `extra`. */
function withDefaults(model: ChatModelV1, defaults: Record<string, unknown>): ChatModelV1 {
  if (Object.keys(defaults).length === 0) return model;
  const merge = (request: ChatRequest): ChatRequest => ({
    ...request,
    extra: { ...defaults, ...request.extra },
  });
  return {
    specificationVersion: model.specificationVersion,
    provider: model.provider,
    modelId: model.modelId,
    doGenerate: (request, callOptions) => model.doGenerate(merge(request), callOptions),
    doStream: (request, callOptions) => model.doStream(merge(request), callOptions),
  };
}
