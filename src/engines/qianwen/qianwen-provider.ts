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
import { HttpClient } from '../shared/http-client.js';
import { COMMON_HTTP_SAAS_PARAMS, SaasParams } from '../shared/saas-params.js';
import type { ChatModelV1, ChatRequest } from '../../core/chat-model.js';
import { QianwenChatModel, type QianwenModelConfig } from './qianwen-chat-model.js';
import { QianwenEmbeddingModel } from './qianwen-embedding-model.js';
import { saasMeta } from '../shared/saas-meta.js';

const KNOWN_PARAMS = [
  'saas.api_key',
  ...COMMON_HTTP_SAAS_PARAMS,
  'saas.enable_search',
  'saas.incremental_output',
];

export async function createQianwenEngine(
  context: EngineContext,
  options: { multimodal: boolean },
): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const provider = options.multimodal ? 'saas/qianwen_vl' : 'saas/qianwen';
  const params = new SaasParams(context.spec.inferParams, provider);
  params.warnUnknown(KNOWN_PARAMS, context.warn);
  const apiKey = params.required('saas.api_key');
  const modelId = params.string('saas.model', options.multimodal ? 'qwen-vl-plus' : 'qwen-turbo');
  const errorContext: ErrorMappingContext = { provider, secrets: [apiKey] };
  const client = new HttpClient({
    provider,
    baseUrl: params.url('saas.base_url', 'https://dashscope.aliyuncs.com'),
    headers: { authorization: `Bearer ${apiKey}` },
    timeoutMs: params.timeoutMs('saas.timeout', 600),
    maxRetries: params.wholeNumber('saas.max_retries', 2),
    deadlineMs: params.deadlineMs(),
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
  if (params.optional('saas.enable_search') !== undefined)
    defaults.enable_search = params.boolean('saas.enable_search', false);
  if (params.optional('saas.incremental_output') !== undefined)
    defaults.incremental_output = params.boolean('saas.incremental_output', true);
  const embeddingMode = !options.multimodal && modelId.toLowerCase().includes('embedding');
  const meta = saasMeta({
    model_name: modelId,
    support_assistant_prefix: true,
    embedding_mode: embeddingMode,
    tasks: options.multimodal ? ['chat'] : ['chat', 'embedding'],
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
