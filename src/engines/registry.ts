/**
 * The engine catalog: which factory loads a deployment's model.
 *
 * An engine is chosen by the spec: `saas/<provider>` types pick a SaaS engine by type; every other
 * type (`custom/auto`, or a bare module name meaning `custom/<name>`) is a local model and picks
 * its engine by `inferBackend`. Factories are imported lazily (`await import`) so a process only
 * loads the engines it runs — native local engines are heavy.
 *
 * `validateEngineChoice` is the check the head runs before starting workers; `resolveEngine` is what
 * a worker calls to get its factory.
 */
import type { DeploymentSpec, EngineFactory } from '../core/deployment.js';
import { InvalidArgumentError, UnsupportedError } from '../core/errors.js';
import { importOptional } from '../core/optional-packages.js';

/** SaaS model types this build can deploy (`--pretrained_model_type`). */
export const SAAS_MODEL_TYPES = [
  'saas/openai',
  'saas/official_openai',
  'saas/reasoning_openai',
  'saas/azure_openai',
  'saas/claude',
  'saas/gemini',
  'saas/aws_bedrock',
  // Chinese providers, audio and image providers.
  'saas/qianwen',
  'saas/qianwen_vl',
  'saas/zhipu',
  // Byzer-LLM's ChatGLM-130B type: Zhipu's platform, the saas/zhipu engine (docs/providers.md).
  'saas/chatglm',
  'saas/baichuan',
  'saas/qianfan',
  'saas/minimax',
  'saas/sparkdesk',
  'saas/volcengine',
  'saas/azure',
  'saas/siliconflow',
] as const;
/** Local model types; they need an `--infer_backend`. */
export const LOCAL_MODEL_TYPES = [
  'custom/auto',
  'custom/bge',
  'custom/m3e',
  'custom/bge_rerank',
  'custom/whisper',
] as const;
/** Local inference backends (`--infer_backend`). */
export const INFER_BACKENDS = ['llama_cpp', 'vllm', 'transformers'] as const;

export type SaasModelType = (typeof SAAS_MODEL_TYPES)[number];
export type InferBackend = (typeof INFER_BACKENDS)[number];
export type LocalModelType = (typeof LOCAL_MODEL_TYPES)[number];

/** The backends each local model type runs on (vLLM serves causal LMs only, as in the original). */
export const BACKENDS_BY_MODEL_TYPE: Record<LocalModelType, readonly InferBackend[]> = {
  'custom/auto': ['llama_cpp', 'vllm', 'transformers'],
  'custom/bge': ['transformers'],
  'custom/m3e': ['transformers'],
  'custom/bge_rerank': ['transformers'],
  'custom/whisper': ['transformers'],
};

/**
 * Local model types of Byzer-LLM that no backend here runs, and what serves those models instead
 * (docs/local-models.md). Deploying one fails with this, not with "unknown type".
 */
export const ABSENT_LOCAL_MODEL_TYPES: Record<string, string> = {
  'custom/qwen_vl':
    'Qwen-VL models run on GPUs with --pretrained_model_type custom/auto --infer_backend vllm (vLLM serves Qwen-VL), or through saas/qianwen_vl',
  'custom/sensevoice':
    'SenseVoice has no backend here; speech-to-text runs with custom/whisper on --infer_backend transformers (WAV), or saas/openai with saas.model=whisper-1',
  'custom/stable_diffusion':
    'Stable Diffusion has no backend here; images come from saas/openai (saas.model=dall-e-3), saas/siliconflow or saas/volcengine',
};

const openAICompatible: EngineFactory = async (context) => {
  const { createOpenAICompatibleEngine } = await import(
    './shared/openai-compatible/openai-compatible-provider.js'
  );
  return createOpenAICompatibleEngine(context);
};

/** providers-b engines, one lazily imported factory each. */
const PROVIDERS_B_ENGINES = {
  'saas/qianwen': async (context) => {
    const { createQianwenEngine } = await import('./qianwen/qianwen-provider.js');
    return createQianwenEngine(context, { multimodal: false });
  },
  'saas/qianwen_vl': async (context) => {
    const { createQianwenEngine } = await import('./qianwen/qianwen-provider.js');
    return createQianwenEngine(context, { multimodal: true });
  },
  'saas/zhipu': async (context) => {
    const { createZhipuEngine } = await import('./zhipu/zhipu-provider.js');
    return createZhipuEngine(context);
  },
  'saas/chatglm': async (context) => {
    const { createZhipuEngine } = await import('./zhipu/zhipu-provider.js');
    return createZhipuEngine(context, 'saas/chatglm');
  },
  'saas/baichuan': async (context) => {
    const { createBaichuanEngine } = await import('./baichuan/baichuan-provider.js');
    return createBaichuanEngine(context);
  },
  'saas/qianfan': async (context) => {
    const { createQianfanEngine } = await import('./qianfan/qianfan-provider.js');
    return createQianfanEngine(context);
  },
  'saas/minimax': async (context) => {
    const { createMiniMaxEngine } = await import('./minimax/minimax-provider.js');
    return createMiniMaxEngine(context);
  },
  'saas/sparkdesk': async (context) => {
    const { createSparkDeskEngine } = await import('./sparkdesk/sparkdesk-provider.js');
    return createSparkDeskEngine(context);
  },
  'saas/volcengine': async (context) => {
    const { createVolcengineEngine } = await import('./volcengine/volcengine-provider.js');
    return createVolcengineEngine(context);
  },
  'saas/azure': async (context) => {
    const { createAzureTtsEngine } = await import('./azure-tts/azure-tts-provider.js');
    return createAzureTtsEngine(context);
  },
  'saas/siliconflow': async (context) => {
    const { createSiliconFlowEngine } = await import('./siliconflow/siliconflow-provider.js');
    return createSiliconFlowEngine(context);
  },
} satisfies Record<string, EngineFactory>;

const SAAS_ENGINES: Record<SaasModelType, EngineFactory> = {
  'saas/openai': openAICompatible,
  'saas/official_openai': openAICompatible,
  'saas/reasoning_openai': async (context) =>
    (await import('./reasoning-openai/reasoning-openai-provider.js')).createReasoningOpenAIEngine(context),
  'saas/azure_openai': async (context) =>
    (await import('./azure-openai/azure-openai-provider.js')).createAzureOpenAIEngine(context),
  'saas/claude': async (context) => (await import('./claude/claude-provider.js')).createClaudeEngine(context),
  'saas/gemini': async (context) => (await import('./gemini/gemini-provider.js')).createGeminiEngine(context),
  'saas/aws_bedrock': async (context) => {
    const { createAwsBedrockEngine } = await importOptional(
      () => import('./aws-bedrock/aws-bedrock-provider.js'),
      {
        feature: 'saas/aws_bedrock',
        packages: ['@aws-sdk/client-bedrock-runtime', '@smithy/node-http-handler'],
      },
    );
    return createAwsBedrockEngine(context);
  },
  ...PROVIDERS_B_ENGINES,
};

const llamaCpp: EngineFactory = async (context) => {
  const { createLlamaCppEngine } = await importOptional(() => import('./llama-cpp/llama-cpp-provider.js'), {
    feature: 'the llama_cpp backend',
    packages: ['node-llama-cpp'],
  });
  return createLlamaCppEngine(context);
};

/** Local engines by backend; a backend missing here is valid but not built yet. */
const LOCAL_ENGINES: Partial<Record<InferBackend, EngineFactory>> = {
  llama_cpp: llamaCpp,
  transformers: async (context) => {
    const { createTransformersEngine } = await import('./transformers/transformers-provider.js');
    return createTransformersEngine(context);
  },
  vllm: async (context) => {
    const { createVllmEngine } = await import('./vllm/vllm-provider.js');
    return createVllmEngine(context);
  },
};

/**
 * Where a deployment's workers run. SaaS engines do network I/O and stay in the head process; local
 * engines own native memory and threads, so each worker gets its own process (a crash or a leak then
 * takes down one worker, never the head).
 */
export function engineRunsInProcess(spec: Pick<DeploymentSpec, 'pretrainedModelType'>): boolean {
  return spec.pretrainedModelType.trim().startsWith('saas/');
}

/**
 * Checks that the spec names an engine this build has. Throws `InvalidArgumentError` for an unknown
 * model type or backend (listing the allowed values), `UnsupportedError` for a valid local backend
 * whose engine is not in this build yet.
 */
export function validateEngineChoice(
  spec: Pick<DeploymentSpec, 'pretrainedModelType' | 'inferBackend'>,
): void {
  engineFor(spec);
}

/** The factory for the spec's engine, after the same checks as `validateEngineChoice`. */
export function resolveEngine(
  spec: Pick<DeploymentSpec, 'pretrainedModelType' | 'inferBackend'>,
): EngineFactory {
  const factory = engineFor(spec);
  // Byzer-LLM's JSON task messages (TTS, image, STT through chat) work the same on every engine.
  return async (context) => {
    const { withTaskDispatch } = await import('./shared/task-dispatch.js');
    return withTaskDispatch(await factory(context));
  };
}

function engineFor(spec: Pick<DeploymentSpec, 'pretrainedModelType' | 'inferBackend'>): EngineFactory {
  const modelType = spec.pretrainedModelType.trim();
  if (modelType.startsWith('saas/')) {
    if (isOneOf(SAAS_MODEL_TYPES, modelType)) return SAAS_ENGINES[modelType];
    throw new InvalidArgumentError(
      `unknown pretrained_model_type "${modelType}"; allowed: ${[...SAAS_MODEL_TYPES, ...LOCAL_MODEL_TYPES].join(', ')}`,
    );
  }
  const localType = modelType.includes('/') ? modelType : `custom/${modelType}`;
  const absent = ABSENT_LOCAL_MODEL_TYPES[localType];
  if (absent)
    throw new UnsupportedError(
      `pretrained_model_type ${localType} is not served by any backend here: ${absent}`,
    );
  if (!isOneOf(LOCAL_MODEL_TYPES, localType)) {
    throw new InvalidArgumentError(
      `unknown pretrained_model_type "${modelType}"; allowed: ${[...SAAS_MODEL_TYPES, ...LOCAL_MODEL_TYPES].join(', ')}`,
    );
  }
  const backend = spec.inferBackend.trim();
  if (!isOneOf(INFER_BACKENDS, backend)) {
    const got = backend === '' ? 'none was given' : `got "${backend}"`;
    throw new InvalidArgumentError(
      `pretrained_model_type ${localType} needs --infer_backend, one of ${INFER_BACKENDS.join(', ')}; ${got}`,
    );
  }
  if (!BACKENDS_BY_MODEL_TYPE[localType].includes(backend)) {
    throw new InvalidArgumentError(
      `pretrained_model_type ${localType} runs on --infer_backend ${BACKENDS_BY_MODEL_TYPE[localType].join(' or ')}, not ${backend}`,
    );
  }
  const factory = LOCAL_ENGINES[backend];
  if (!factory) {
    throw new UnsupportedError(
      `the ${backend} backend is not available in this build yet; deploy a SaaS model (${SAAS_MODEL_TYPES.join(', ')}) instead`,
    );
  }
  return factory;
}

function isOneOf<const Values extends readonly string[]>(
  values: Values,
  value: string,
): value is Values[number] {
  return (values as readonly string[]).includes(value);
}
