/**
 * The engine factory for `--infer_backend vllm` (`custom/auto`): each worker runs its own vLLM
 * OpenAI-compatible server on the GPUs placed on it (`CUDA_VISIBLE_DEVICES`), waits for `/health`,
 * and then talks to it through the OpenAI-compatible engine, so chat, streaming, tools and errors
 * behave exactly as for SaaS models. Disposing the worker stops its server.
 *
 * Parameters: see vllm-params.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { EngineContext } from '../../core/deployment.js';
import { throwIfAborted } from '../../core/errors.js';
import type { EngineInstance, ModelMeta } from '../../core/models.js';
import { createOpenAICompatibleEngine } from '../shared/openai-compatible/openai-compatible-provider.js';
import { isVisionArchitecture } from '../shared/vision-models.js';
import { readVllmLaunch } from './vllm-params.js';
import { assertVllmInstalled, startVllmServer } from './vllm-server-process.js';

export async function createVllmEngine(
  context: EngineContext,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const launch = readVllmLaunch(context, environment);
  if (launch.isDefaultCommand) await assertVllmInstalled(launch.command[0] as string, environment);
  const server = await startVllmServer(launch, {
    environment,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  try {
    const proxy = await createOpenAICompatibleEngine(
      {
        ...context,
        spec: {
          ...context.spec,
          // The worker's own server: its address and key, never the user's saas.* settings.
          inferParams: {
            'saas.api_key': server.apiKey,
            'saas.base_url': `${server.baseUrl}/v1`,
            'saas.model': launch.servedModelName,
          },
        },
      },
      { provider: 'vllm' },
    );
    const meta: ModelMeta = {
      model_deploy_type: 'proprietary',
      backend: 'vllm',
      model_name: launch.servedModelName,
      support_stream: true,
      support_chat_template: true,
      message_format: true,
      support_assistant_prefix: true,
      embedding_mode: launch.embeddingTask,
      tasks: launch.embeddingTask ? ['embedding'] : ['chat'],
      ...(await describeModel(context.spec.modelPath, server, launch.servedModelName)),
    };
    return {
      meta,
      ...(launch.embeddingTask ? { embedding: proxy.embedding } : { chat: proxy.chat }),
      async dispose() {
        await proxy.dispose();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * `max_model_len` as the server reports it (vLLM's `/v1/models` has it), `architectures` and whether
 * the tokenizer has a chat template from the model folder when it is a local folder.
 */
async function describeModel(
  modelPath: string,
  server: { baseUrl: string; apiKey: string },
  servedModelName: string,
): Promise<Partial<ModelMeta>> {
  const described: Partial<ModelMeta> = {};
  const models = await fetch(`${server.baseUrl}/v1/models`, {
    headers: { authorization: `Bearer ${server.apiKey}` },
    signal: AbortSignal.timeout(10_000),
  })
    .then((response) => (response.ok ? (response.json() as Promise<{ data?: unknown[] }>) : undefined))
    .catch(() => undefined);
  const card = models?.data?.find(
    (item): item is { id: string; max_model_len?: unknown } =>
      typeof item === 'object' && item !== null && (item as { id?: unknown }).id === servedModelName,
  );
  if (typeof card?.max_model_len === 'number') described.max_model_len = card.max_model_len;
  const config = await readJson(path.join(modelPath, 'config.json'));
  if (Array.isArray(config?.architectures)) {
    described.architectures = config.architectures.filter((name): name is string => typeof name === 'string');
    // vLLM's OpenAI server takes `image_url` parts for its multimodal models, which the engine sends.
    described.support_vision = isVisionArchitecture(described.architectures);
  }
  if (described.max_model_len === undefined && typeof config?.max_position_embeddings === 'number') {
    described.max_model_len = config.max_position_embeddings;
  }
  const tokenizerConfig = await readJson(path.join(modelPath, 'tokenizer_config.json'));
  if (tokenizerConfig) {
    const template = tokenizerConfig.chat_template;
    described.support_chat_template = typeof template === 'string' || Array.isArray(template);
  }
  return described;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
